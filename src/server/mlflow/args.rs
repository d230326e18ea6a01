//! An MLflow call's arguments: the query string (GET; a repeated key is a
//! list) merged with the JSON body (POST, PATCH, DELETE). Accessors parse
//! each field into a typed value and name the field when it is wrong.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
};
use serde_json::{Map, Value};

use super::error::{MlResult, MlflowError};

pub struct Args(Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Args {
    type Rejection = MlflowError;

    async fn from_request(req: Request, state: &S) -> Result<Self, MlflowError> {
        let query = req.uri().query().unwrap_or("").to_owned();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| MlflowError::invalid("The request body could not be read"))?;
        let mut map = Map::new();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&query)
            .map_err(|_| MlflowError::invalid("The query string is malformed"))?;
        for (key, value) in pairs {
            match map.get_mut(&key) {
                Some(Value::Array(list)) => list.push(Value::String(value)),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(value)]);
                }
                None => {
                    map.insert(key, Value::String(value));
                }
            }
        }
        if !body.iter().all(u8::is_ascii_whitespace) {
            let parsed: Value = serde_json::from_slice(&body).map_err(|e| {
                MlflowError::invalid(format!("The request body is not valid JSON: {e}"))
            })?;
            match parsed {
                Value::Object(fields) => map.extend(fields),
                _ => {
                    return Err(MlflowError::invalid(
                        "The request body must be a JSON object",
                    ))
                }
            }
        }
        Ok(Args(map))
    }
}

fn missing(key: &str) -> MlflowError {
    MlflowError::invalid(format!("Missing value for required parameter '{key}'."))
}

impl Args {
    /// A text field; numbers and booleans are accepted as their text.
    pub fn text(&self, key: &str) -> MlResult<Option<String>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(MlflowError::invalid(format!(
                "Parameter '{key}' must be a string."
            ))),
        }
    }

    pub fn required(&self, key: &str) -> MlResult<String> {
        self.text(key)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing(key))
    }

    /// A repeated field (`order_by=a&order_by=b`, or a JSON array).
    pub fn list(&self, key: &str) -> MlResult<Vec<String>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(MlflowError::invalid(format!(
                        "Parameter '{key}' must be a list of strings."
                    ))),
                })
                .collect(),
            Some(_) => Ok(self.text(key)?.into_iter().collect()),
        }
    }

    pub fn integer(&self, key: &str) -> MlResult<Option<i64>> {
        match self.text(key)? {
            None => Ok(None),
            Some(s) => s.trim().parse::<i64>().map(Some).map_err(|_| {
                MlflowError::invalid(format!("Parameter '{key}' must be an integer, got {s:?}."))
            }),
        }
    }

    pub fn boolean(&self, key: &str) -> MlResult<Option<bool>> {
        match self
            .text(key)?
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(MlflowError::invalid(format!(
                "Parameter '{key}' must be true or false, got {other:?}."
            ))),
        }
    }

    /// A list of objects (`metrics: [{key, value, timestamp, step}]`).
    pub fn objects(&self, key: &str) -> MlResult<Vec<Args>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Object(fields) => Ok(Args(fields.clone())),
                    _ => Err(MlflowError::invalid(format!(
                        "Parameter '{key}' must be a list of objects."
                    ))),
                })
                .collect(),
            Some(_) => Err(MlflowError::invalid(format!(
                "Parameter '{key}' must be a list of objects."
            ))),
        }
    }

    /// A floating-point field; protobuf's JSON spells the non-finite ones
    /// as strings (`"NaN"`), which parse here and are refused by the domain.
    pub fn float(&self, key: &str) -> MlResult<Option<f64>> {
        match self.text(key)? {
            None => Ok(None),
            Some(s) => s.trim().parse::<f64>().map(Some).map_err(|_| {
                MlflowError::invalid(format!("Parameter '{key}' must be a number, got {s:?}."))
            }),
        }
    }

    /// `tags: [{key, value}]`.
    pub fn tags(&self) -> MlResult<Vec<(String, String)>> {
        let Some(value) = self.0.get("tags") else {
            return Ok(Vec::new());
        };
        let items = match value {
            Value::Null => return Ok(Vec::new()),
            Value::Array(items) => items,
            _ => {
                return Err(MlflowError::invalid(
                    "Parameter 'tags' must be a list of {key, value}.",
                ))
            }
        };
        items
            .iter()
            .map(|item| {
                let key = item.get("key").and_then(Value::as_str);
                let value = item.get("value").and_then(Value::as_str).unwrap_or("");
                key.map(|k| (k.to_owned(), value.to_owned()))
                    .ok_or_else(|| MlflowError::invalid("Every tag needs a string 'key'."))
            })
            .collect()
    }
}
