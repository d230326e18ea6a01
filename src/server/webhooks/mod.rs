//! Webhooks, the outbox side: services call [`enqueue`] inside their own
//! transaction, so a delivery exists exactly when the change it announces
//! was committed. The [`worker`] sends them, at least once.

pub mod worker;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::{
    domain::WebhookEvent,
    server::{db::Tx, repo::webhooks as repo},
};

/// Queues one pending delivery of `event` for every active webhook
/// subscribed to it, inside the caller's transaction. The body is
/// `{"id": <delivery uuid>, "type": <event>, "created_at": <ms>, "data": <data>}`,
/// serialized once and stored: the bytes signed are the bytes sent.
pub async fn enqueue(
    tx: &mut Tx,
    event: WebhookEvent,
    data: Value,
    now: i64,
) -> Result<(), sqlx::Error> {
    let subscribers = repo::active_subscriptions(tx).await?;
    for (webhook_id, events) in subscribers {
        if !WebhookEvent::split(&events).contains(&event) {
            continue;
        }
        let delivery_uuid = uuid::Uuid::new_v4().to_string();
        let payload = body(&delivery_uuid, event.as_str(), now, &data)?;
        repo::insert_delivery(
            tx,
            repo::NewDelivery {
                webhook_id,
                event_type: event.as_str(),
                delivery_uuid: &delivery_uuid,
                payload: &payload,
                now,
            },
        )
        .await?;
    }
    Ok(())
}

/// The JSON body of a delivery.
pub fn body(
    delivery_uuid: &str,
    event: &str,
    created_at: i64,
    data: &Value,
) -> Result<String, sqlx::Error> {
    let body =
        json!({ "id": delivery_uuid, "type": event, "created_at": created_at, "data": data });
    serde_json::to_string(&body).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// `X-Registry-Signature`: `sha256=` and the hex HMAC-SHA256, keyed with the
/// secret's UTF-8 bytes, of `"{timestamp}.{body}"`. Binding the timestamp
/// lets receivers refuse replays of old deliveries.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delay before attempt `attempts + 1`: `base` doubled per attempt
/// made, capped, plus up to 10% jitter (`jitter` in 0..=1) so endpoints
/// that failed together do not retry in lockstep.
pub fn backoff_ms(base_ms: u64, attempts: u32, cap_ms: u64, jitter: f64) -> u64 {
    let doublings = attempts.saturating_sub(1).min(40);
    let delay = base_ms.saturating_mul(1u64 << doublings).min(cap_ms);
    // The jitter term is at most 10% of a u64 delay, so the cast is in range.
    let extra = (delay as f64 * 0.1 * jitter.clamp(0.0, 1.0)) as u64;
    delay.saturating_add(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Reference value computed independently (Python hmac/hashlib).
        assert_eq!(
            signature("secret", 1_700_000_000, "{\"a\":1}"),
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
        assert_ne!(signature("secret", 1, "x"), signature("secret", 2, "x"));
        assert_ne!(signature("a", 1, "x"), signature("b", 1, "x"));
    }

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        assert_eq!(backoff_ms(10_000, 1, 3_600_000, 0.0), 10_000);
        assert_eq!(backoff_ms(10_000, 2, 3_600_000, 0.0), 20_000);
        assert_eq!(backoff_ms(10_000, 4, 3_600_000, 0.0), 80_000);
        assert_eq!(backoff_ms(10_000, 30, 3_600_000, 0.0), 3_600_000);
        assert_eq!(backoff_ms(10_000, u32::MAX, 3_600_000, 0.0), 3_600_000);
        assert_eq!(backoff_ms(10_000, 0, 3_600_000, 0.0), 10_000);
        assert_eq!(backoff_ms(10_000, 1, 3_600_000, 1.0), 11_000);
        let jittered = backoff_ms(10_000, 1, 3_600_000, 0.5);
        assert!((10_000..=11_000).contains(&jittered));
    }

    #[test]
    fn bodies_carry_id_type_time_and_data() {
        let b = body("u-1", "version.registered", 42, &json!({"model": "m"})).unwrap();
        let v: Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["id"], "u-1");
        assert_eq!(v["type"], "version.registered");
        assert_eq!(v["created_at"], 42);
        assert_eq!(v["data"]["model"], "m");
    }
}
