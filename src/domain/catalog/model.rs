//! Models as every edge sends them, and what they parse into. The forms
//! are the REST API's JSON bodies and the pages' form fields alike (a server
//! function takes them flattened); MLflow's handlers fill them from its
//! arguments. A new model field is added here once.

use serde::{Deserialize, Serialize};

use super::{Description, MetricKey, TagMap, Tags, Team};
use crate::domain::{FieldError, ModelName};

/// What a model says about itself: the fields people edit. Stored as the
/// model's columns, sent in every model view, written by
/// [`NewModel::about`] and [`ModelChanges::apply`] — a new model field is a
/// field here, in the forms below, and in `repo::models`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ModelAbout {
    /// Markdown.
    pub description: String,
    pub team: String,
}

/// A new model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema),
    schema(as = CreateModelBody)
)]
#[serde(deny_unknown_fields)]
pub struct NewModelForm {
    /// Lowercase letters, digits, `-`, `_` and `.`; unique.
    pub name: String,
    /// Markdown.
    pub description: Option<String>,
    pub team: Option<String>,
    pub tags: Option<Tags>,
}

/// A new model, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewModel {
    pub name: ModelName,
    pub description: Description,
    pub team: Team,
    pub tags: TagMap,
}

impl NewModel {
    pub fn about(&self) -> ModelAbout {
        ModelAbout {
            description: self.description.as_str().to_owned(),
            team: self.team.as_str().to_owned(),
        }
    }
}

impl NewModelForm {
    pub fn parse(&self) -> Result<NewModel, FieldError> {
        Ok(NewModel {
            name: ModelName::parse(&self.name)?,
            description: Description::parse(self.description.as_deref().unwrap_or(""))?,
            team: Team::parse(self.team.as_deref().unwrap_or(""))?,
            tags: self
                .tags
                .as_ref()
                .map(TagMap::parse)
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// Changes to a model: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = PatchModelBody))]
#[serde(deny_unknown_fields)]
pub struct ModelEdit {
    /// A new name; the old one keeps redirecting GETs.
    pub name: Option<String>,
    pub description: Option<String>,
    pub team: Option<String>,
    pub tags: Option<Tags>,
    /// A metric key, or "" to fall back to the first metric.
    pub headline_metric: Option<String>,
}

/// Changes to a model, checked; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelChanges {
    pub new_name: Option<ModelName>,
    pub description: Option<Description>,
    pub team: Option<Team>,
    pub tags: Option<TagMap>,
    /// `Some(None)` clears it.
    pub headline_metric: Option<Option<MetricKey>>,
}

impl ModelEdit {
    pub fn parse(&self) -> Result<ModelChanges, FieldError> {
        Ok(ModelChanges {
            new_name: self.name.as_deref().map(ModelName::parse).transpose()?,
            description: self
                .description
                .as_deref()
                .map(Description::parse)
                .transpose()?,
            team: self.team.as_deref().map(Team::parse).transpose()?,
            tags: self.tags.as_ref().map(TagMap::parse).transpose()?,
            headline_metric: self
                .headline_metric
                .as_deref()
                .map(|k| {
                    if k.trim().is_empty() {
                        Ok(None)
                    } else {
                        MetricKey::parse("headline_metric", k).map(Some)
                    }
                })
                .transpose()?,
        })
    }
}

impl ModelChanges {
    /// The model's fields after the change (the headline metric is a view
    /// setting, not part of [`ModelAbout`]: see [`Self::headline_after`]).
    pub fn apply(&self, about: &ModelAbout) -> ModelAbout {
        ModelAbout {
            description: self
                .description
                .as_ref()
                .map_or_else(|| about.description.clone(), |d| d.as_str().to_owned()),
            team: self
                .team
                .as_ref()
                .map_or_else(|| about.team.clone(), |t| t.as_str().to_owned()),
        }
    }

    /// The headline metric after the change.
    pub fn headline_after(&self, before: Option<&str>) -> Option<String> {
        match &self.headline_metric {
            Some(key) => key.as_ref().map(|k| k.as_str().to_owned()),
            None => before.map(str::to_owned),
        }
    }

    /// Whether anything but the name changes.
    pub fn edits_fields(&self) -> bool {
        self.description.is_some()
            || self.team.is_some()
            || self.tags.is_some()
            || self.headline_metric.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_model_needs_a_valid_name_and_defaults_the_rest() {
        let form = NewModelForm {
            name: "fraud-detector".into(),
            ..NewModelForm::default()
        };
        let model = form.parse().unwrap();
        assert_eq!(model.name.as_str(), "fraud-detector");
        assert_eq!(model.team, Team::default());
        assert!(model.tags.as_map().is_empty());
        let bad = NewModelForm {
            name: "Fraud Detector".into(),
            ..NewModelForm::default()
        };
        assert_eq!(bad.parse().unwrap_err().field, "name");
        let bad_team = NewModelForm {
            team: Some("R&D".into()),
            ..form
        };
        assert_eq!(bad_team.parse().unwrap_err().field, "team");
    }

    #[test]
    fn changes_apply_field_by_field() {
        let about = ModelAbout {
            description: "old".into(),
            team: "risk".into(),
        };
        assert_eq!(ModelChanges::default().apply(&about), about);
        let edit = ModelEdit {
            description: Some("new".into()),
            headline_metric: Some(String::new()),
            ..ModelEdit::default()
        };
        let changes = edit.parse().unwrap();
        let after = changes.apply(&about);
        assert_eq!(after.description, "new");
        assert_eq!(after.team, "risk");
        assert_eq!(changes.headline_after(Some("auc")), None);
        assert_eq!(
            ModelChanges::default()
                .headline_after(Some("auc"))
                .as_deref(),
            Some("auc")
        );
    }

    #[test]
    fn an_edit_changes_only_what_it_names() {
        let none = ModelEdit::default().parse().unwrap();
        assert_eq!(none, ModelChanges::default());
        assert!(!none.edits_fields());
        let rename = ModelEdit {
            name: Some("new-name".into()),
            ..ModelEdit::default()
        }
        .parse()
        .unwrap();
        assert!(rename.new_name.is_some() && !rename.edits_fields());
        let clear = ModelEdit {
            headline_metric: Some("  ".into()),
            ..ModelEdit::default()
        }
        .parse()
        .unwrap();
        assert_eq!(clear.headline_metric, Some(None));
        let bad = ModelEdit {
            headline_metric: Some("a;b".into()),
            ..ModelEdit::default()
        };
        assert_eq!(bad.parse().unwrap_err().field, "headline_metric");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_edit_form_flattens_into_a_server_function() {
        // The model page posts these fields next to the model's current name.
        #[derive(Deserialize)]
        struct Args {
            #[allow(dead_code)]
            model: String,
            #[serde(flatten)]
            edit: ModelEdit,
        }
        let args: Args = serde_urlencoded::from_str(
            "model=old&name=new&team=risk&description=d&tags=a%3D1%0Ab%3D2",
        )
        .unwrap();
        let changes = args.edit.parse().unwrap();
        assert_eq!(changes.new_name.unwrap().as_str(), "new");
        assert_eq!(changes.tags.unwrap().as_map().len(), 2);
    }
}
