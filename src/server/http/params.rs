//! Decoders the REST handlers share for path segments, query strings and
//! optional bodies. Each names the field it refuses, so a bad request gets a
//! 400 that says what to fix; everything deeper is the services' to check.

use crate::{
    domain::{Instant, Justification, ModelName, SemVer},
    error::AppError,
};

pub fn model_name(raw: &str) -> Result<ModelName, AppError> {
    Ok(ModelName::parse(raw)?)
}

pub fn semver(raw: &str) -> Result<SemVer, AppError> {
    SemVer::parse(raw).map_err(|e| AppError::invalid("version", e.message))
}

/// A positive row id or count (`id`, `before`, `limit`…), named by `field`.
pub fn positive(field: &'static str, raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::invalid(field, "must be a positive whole number"))
}

/// The raw query string as ordered pairs, for handlers that refuse unknown keys.
pub fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| AppError::invalid("query", "is not a valid query string"))
}

/// A JSON body that may be left out entirely (`curl -X POST` with no data).
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    // `null` is "no body" too, as clients that always send JSON send it.
    serde_json::from_slice::<Option<T>>(body)
        .map(Option::unwrap_or_default)
        .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))
}

/// An optional justification field (aliases, requests), parsed when present.
pub fn justification(raw: Option<String>) -> Result<Option<Justification>, AppError> {
    Ok(raw.map(|j| Justification::parse(&j)).transpose()?)
}

/// A query string parsed into known keys; any other key is refused by name.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>, known: &[&str]) -> Result<Self, AppError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|_| AppError::invalid("query", "is not a valid query string"))?;
        if let Some((key, _)) = pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            return Err(AppError::invalid(
                "query",
                format!("unknown parameter {key:?}; accepted: {}", known.join(", ")),
            ));
        }
        Ok(Self(pairs))
    }

    pub fn text(&self, key: &'static str) -> Result<Option<String>, AppError> {
        match self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim()) {
            None | Some("") => Ok(None),
            Some(v) if v.len() > 128 => {
                Err(AppError::invalid(key, "must be at most 128 characters"))
            }
            Some(v) => Ok(Some(v.to_owned())),
        }
    }

    pub fn instant(&self, key: &'static str) -> Result<Option<i64>, AppError> {
        self.text(key)?
            .map(|v| v.parse::<Instant>().map(Instant::millis))
            .transpose()
            .map_err(|message| AppError::invalid(key, message))
    }
}
