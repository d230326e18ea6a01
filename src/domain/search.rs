//! The catalog search query: parsed from URL query pairs (`/models?q=…`)
//! or API query strings into typed filters. Unknown keys are refused.

use serde::{Deserialize, Serialize};

use super::{FieldError, Stage};

pub const PER_PAGE_DEFAULT: u32 = 20;
pub const PER_PAGE_MAX: u32 = 100;
pub const MAX_TERMS: usize = 8;
const QUERY_MAX_LEN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (with a text query); otherwise most recently updated.
    #[default]
    Relevance,
    Name,
    Updated,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::Name => "name",
            Sort::Updated => "updated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogQuery {
    pub q: String,
    pub stage: Option<Stage>,
    pub team: Option<String>,
    /// `[key, value]`: only models with this tag.
    pub tag: Option<(String, String)>,
    pub framework: Option<String>,
    /// Only models with a live version trained on this dataset hash,
    /// directly or through parent versions at any depth.
    #[serde(default)]
    pub dataset: Option<String>,
    pub has_production: bool,
    pub sort: Sort,
    pub page: u32,
    pub per_page: u32,
}

impl CatalogQuery {
    /// Parses query pairs. Empty values mean "no filter".
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FieldError> {
        let mut query = CatalogQuery {
            page: 1,
            per_page: PER_PAGE_DEFAULT,
            ..Default::default()
        };
        for (key, value) in pairs {
            let value = value.trim();
            match key {
                "q" => {
                    if value.chars().count() > QUERY_MAX_LEN {
                        return Err(FieldError::new("q", format!("must be at most {QUERY_MAX_LEN} characters")));
                    }
                    query.q = value.to_owned();
                }
                "stage" if !value.is_empty() => query.stage = Some(value.parse()?),
                "team" if !value.is_empty() => query.team = Some(super::catalog::team(value)?),
                "tag" if !value.is_empty() => {
                    let (k, v) = value
                        .split_once('=')
                        .ok_or_else(|| FieldError::new("tag", "must be key=value"))?;
                    let k = super::catalog::key("tag", k)?;
                    query.tag = Some((k, v.trim().to_owned()));
                }
                "framework" if !value.is_empty() => {
                    query.framework = Some(super::catalog::line("framework", value, 64)?.to_ascii_lowercase())
                }
                "dataset" if !value.is_empty() => {
                    query.dataset = Some(super::catalog::line("dataset", value, 200)?)
                }
                "has_production" => {
                    query.has_production = match value {
                        "" | "false" | "0" | "off" => false,
                        "true" | "1" | "on" => true,
                        _ => return Err(FieldError::new("has_production", "must be true or false")),
                    }
                }
                "sort" if !value.is_empty() => {
                    query.sort = match value {
                        "relevance" => Sort::Relevance,
                        "name" => Sort::Name,
                        "updated" => Sort::Updated,
                        _ => return Err(FieldError::new("sort", "must be relevance, name or updated")),
                    }
                }
                "page" if !value.is_empty() => {
                    query.page = value
                        .parse::<u32>()
                        .ok()
                        .filter(|p| (1..=10_000).contains(p))
                        .ok_or_else(|| FieldError::new("page", "must be a number from 1 to 10000"))?
                }
                "per_page" if !value.is_empty() => {
                    query.per_page = value
                        .parse::<u32>()
                        .ok()
                        .filter(|p| (1..=PER_PAGE_MAX).contains(p))
                        .ok_or_else(|| FieldError::new("per_page", format!("must be a number from 1 to {PER_PAGE_MAX}")))?
                }
                // Empty values are "no filter"; an empty key comes from unnamed form controls.
                "" | "stage" | "team" | "tag" | "framework" | "dataset" | "sort" | "page"
                | "per_page" => {}
                other => {
                    return Err(FieldError::new(
                        "query",
                        format!("unknown filter {other:?}; use q, stage, team, tag, framework, dataset, has_production, sort, page, per_page"),
                    ))
                }
            }
        }
        Ok(query)
    }

    /// Lowercased alphanumeric words of `q`, for prefix matching. Anything
    /// else (quotes, operators, punctuation) is a separator, so no query
    /// syntax of either database can be injected.
    pub fn terms(&self) -> Vec<String> {
        self.q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.to_lowercase().chars().take(64).collect())
            .take(MAX_TERMS)
            .collect()
    }

    /// The query back as URL pairs (for links that keep the search).
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if !self.q.is_empty() {
            pairs.push(("q", self.q.clone()));
        }
        if let Some(s) = self.stage {
            pairs.push(("stage", s.as_str().to_owned()));
        }
        if let Some(t) = &self.team {
            pairs.push(("team", t.clone()));
        }
        if let Some((k, v)) = &self.tag {
            pairs.push(("tag", format!("{k}={v}")));
        }
        if let Some(f) = &self.framework {
            pairs.push(("framework", f.clone()));
        }
        if let Some(d) = &self.dataset {
            pairs.push(("dataset", d.clone()));
        }
        if self.has_production {
            pairs.push(("has_production", "true".into()));
        }
        if self.sort != Sort::Relevance {
            pairs.push(("sort", self.sort.as_str().into()));
        }
        if self.per_page != PER_PAGE_DEFAULT {
            pairs.push(("per_page", self.per_page.to_string()));
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_filter() {
        let q = CatalogQuery::from_pairs([
            ("q", " fraud det "),
            ("stage", "Production"),
            ("team", "risk"),
            ("tag", "domain=payments"),
            ("framework", "PyTorch"),
            ("dataset", " sha256:loans "),
            ("has_production", "on"),
            ("sort", "name"),
            ("page", "3"),
            ("per_page", "50"),
        ])
        .unwrap();
        assert_eq!(q.q, "fraud det");
        assert_eq!(q.stage, Some(Stage::Production));
        assert_eq!(q.team.as_deref(), Some("risk"));
        assert_eq!(q.tag, Some(("domain".into(), "payments".into())));
        assert_eq!(q.framework.as_deref(), Some("pytorch"));
        assert_eq!(q.dataset.as_deref(), Some("sha256:loans"));
        assert!(q.has_production);
        assert_eq!((q.sort, q.page, q.per_page), (Sort::Name, 3, 50));
        let round =
            CatalogQuery::from_pairs(q.to_pairs().iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(round, CatalogQuery { page: 1, ..q });
    }

    #[test]
    fn empty_values_are_no_filter_and_defaults_apply() {
        let q = CatalogQuery::from_pairs([("q", ""), ("stage", ""), ("team", " "), ("page", "")])
            .unwrap();
        assert_eq!(
            q,
            CatalogQuery {
                page: 1,
                per_page: PER_PAGE_DEFAULT,
                ..Default::default()
            }
        );
    }

    #[test]
    fn bad_values_and_unknown_keys_name_the_field() {
        for (pairs, field) in [
            (vec![("stage", "prod")], "stage"),
            (vec![("tag", "novalue")], "tag"),
            (vec![("sort", "random")], "sort"),
            (vec![("page", "0")], "page"),
            (vec![("page", "-1")], "page"),
            (vec![("per_page", "1000")], "per_page"),
            (vec![("has_production", "maybe")], "has_production"),
            (vec![("owner", "me")], "query"),
            (vec![("team", "Risk!")], "team"),
        ] {
            assert_eq!(
                CatalogQuery::from_pairs(pairs.clone()).unwrap_err().field,
                field,
                "{pairs:?}"
            );
        }
        let long = "x".repeat(300);
        assert_eq!(
            CatalogQuery::from_pairs([("q", long.as_str())])
                .unwrap_err()
                .field,
            "q"
        );
    }

    #[test]
    fn terms_strip_all_query_syntax() {
        let q = CatalogQuery {
            q: "Fraud-Detector \"x\" OR y* ; DROP TABLE models -- NEAR(a b) 'é'".into(),
            ..Default::default()
        };
        assert_eq!(
            q.terms(),
            vec!["fraud", "detector", "x", "or", "y", "drop", "table", "models"]
        );
        assert!(CatalogQuery {
            q: "  --  ".into(),
            ..Default::default()
        }
        .terms()
        .is_empty());
    }
}
