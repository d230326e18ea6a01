//! Models: create, edit (and rename), delete.

use serde_json::{json, Value};

use super::super::{commit, lookup, Ctx};
use crate::{
    domain::{
        catalog::{ModelAbout, ModelEdit, NewModelForm},
        ModelName, Permission,
    },
    error::AppError,
    server::{
        db::{now_ms, OnUnique},
        repo::models::{self, ModelRow},
    },
};

pub async fn create_model(cx: &Ctx, form: NewModelForm) -> Result<ModelRow, AppError> {
    cx.require(Permission::Contribute)?;
    let input = form.parse()?;
    let about = input.about();
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let id = models::insert(&mut tx, input.name.as_str(), &about, &cx.by.username, now)
        .await
        .on_unique(|| AppError::Conflict(format!("a model named {} already exists", input.name)))?;
    models::replace_tags(&mut tx, id, input.tags.as_map()).await?;
    models::reindex(&mut tx, cx.db().backend(), id).await?;
    let details = json!({ "team": about.team, "tags": input.tags.as_map() });
    cx.audit(
        &mut tx,
        "model.create",
        ("model", input.name.as_str()),
        details,
    )
    .await?;
    commit(tx).await?;
    models::find_by_id(cx.db().pool(), id)
        .await?
        .ok_or(AppError::Internal)
}

/// Edits a model's fields, tags and headline metric, and renames it; each
/// part the form leaves out stays as it is. A rename and an edit are two
/// audit events in the one transaction.
pub async fn update_model(
    cx: &Ctx,
    name: &ModelName,
    edit: ModelEdit,
) -> Result<ModelRow, AppError> {
    cx.require(Permission::Contribute)?;
    let changes = edit.parse()?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let model = lookup::lock_model(&mut tx, cx.db(), name).await?;
    let about = changes.apply(&model.about);
    let headline = changes.headline_after(model.headline_metric.as_deref());
    models::update(&mut tx, model.id, &about, headline.as_deref(), now).await?;
    if let Some(tags) = &changes.tags {
        models::replace_tags(&mut tx, model.id, tags.as_map()).await?;
    }
    let mut current_name = model.name.clone();
    if let Some(new_name) = changes
        .new_name
        .as_ref()
        .filter(|n| n.as_str() != model.name)
    {
        models::rename(&mut tx, model.id, &model.name, new_name.as_str(), now)
            .await
            .on_unique(|| AppError::Conflict(format!("a model named {new_name} already exists")))?;
        let details = json!({ "before": model.name, "after": new_name.as_str() });
        cx.audit(
            &mut tx,
            "model.rename",
            ("model", new_name.as_str()),
            details,
        )
        .await?;
        current_name = new_name.to_string();
    }
    if changes.edits_fields() {
        let mut details = changed_fields(&model.about, &about);
        if let Some(tags) = &changes.tags {
            details["tags"] = json!(tags.as_map());
        }
        if changes.headline_metric.is_some() {
            details["headline_metric"] =
                json!({ "before": model.headline_metric, "after": headline });
        }
        cx.audit(&mut tx, "model.update", ("model", &current_name), details)
            .await?;
    }
    models::reindex(&mut tx, cx.db().backend(), model.id).await?;
    commit(tx).await?;
    models::find_by_id(cx.db().pool(), model.id)
        .await?
        .ok_or(AppError::Internal)
}

/// `{field: {before, after}}` for each field of [`ModelAbout`] that differs,
/// so a field added there is audited without code here.
fn changed_fields(before: &ModelAbout, after: &ModelAbout) -> Value {
    let (Value::Object(before), Value::Object(after)) = (json!(before), json!(after)) else {
        return json!({});
    };
    let changed = after
        .into_iter()
        .filter(|(field, value)| before.get(field) != Some(value))
        .map(|(field, value)| {
            let was = before.get(&field).cloned().unwrap_or(Value::Null);
            (field, json!({ "before": was, "after": value }))
        });
    Value::Object(changed.collect())
}

/// Soft deletion of a model and all its versions (admins). The name becomes
/// free for a new model; the audit trail keeps the history.
pub async fn delete_model(cx: &Ctx, model_name: &ModelName) -> Result<(), AppError> {
    cx.require(Permission::Administer)?;
    let now = now_ms();
    let mut tx = cx.begin().await?;
    let model = lookup::lock_model(&mut tx, cx.db(), model_name).await?;
    let live_versions = crate::server::repo::versions::list_for_model_in(&mut tx, model.id).await?;
    for req in crate::server::repo::workflow::open_requests_of_model(&mut tx, model.id).await? {
        super::super::workflow::cancel_for_deleted_version(
            &mut tx,
            &cx.origin,
            req.version_id,
            now,
        )
        .await?;
    }
    models::soft_delete(&mut tx, model.id, now).await?;
    cx.audit(
        &mut tx,
        "model.delete",
        ("model", &model.name),
        json!({ "versions": live_versions }),
    )
    .await?;
    commit(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_are_audited() {
        let before = ModelAbout {
            description: "d".into(),
            team: "risk".into(),
        };
        let after = ModelAbout {
            team: "fraud".into(),
            ..before.clone()
        };
        assert_eq!(
            changed_fields(&before, &after),
            json!({ "team": { "before": "risk", "after": "fraud" } })
        );
        assert_eq!(changed_fields(&before, &before), json!({}));
    }
}
