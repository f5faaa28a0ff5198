//! Idempotency-Key handling. The first request with a key claims it (LWT, TTL 24 h) together
//! with the product id and creation time it will use; a retry that finds the claim reuses
//! that same id and time, so whatever the first attempt got done, the retry converges on the
//! same single product. Once an answer is final (201 or 409) it is stored and replayed as is.

use scylla::value::CqlTimestamp;
use uuid::Uuid;

use super::lwt::LwtAnswer;
use crate::db::Db;
use crate::domain::{NewProduct, ValidationError};
use crate::error::StoreError;

/// The `Idempotency-Key` header value: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const HEADER: &'static str = "Idempotency-Key";

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let ok = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(IdempotencyKey(raw.to_owned()))
        } else {
            Err(ValidationError::new("Idempotency-Key", "must be 1 to 255 visible ASCII characters"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) enum KeyClaim {
    /// Go on creating with this id and time (fresh claim, or resuming an unfinished one).
    Proceed { product_id: Uuid, created_at_ms: i64 },
    /// The first request already answered: replay it.
    Replay { status: u16, body: String },
}

impl Db {
    pub(crate) async fn claim_idempotency_key(
        &self,
        key: &IdempotencyKey,
        product: &NewProduct,
        product_id: Uuid,
        created_at_ms: i64,
    ) -> Result<KeyClaim, StoreError> {
        let fingerprint = product.fingerprint();
        let result = self
            .run(|c| {
                let values = (key.as_str(), fingerprint.clone(), product_id, CqlTimestamp(created_at_ms));
                async move { c.session.execute_unpaged(&c.statements.claim_idempotency_key, values).await }
            })
            .await?;
        let answer = LwtAnswer::from_result(result)?;
        if answer.applied {
            return Ok(KeyClaim::Proceed { product_id, created_at_ms });
        }
        if answer.blob("fingerprint") != Some(fingerprint.as_slice()) {
            return Err(StoreError::IdempotencyKeyReused);
        }
        if let (Some(status), Some(body)) = (answer.int("status"), answer.text("body")) {
            let status = u16::try_from(status).map_err(|_| StoreError::Internal("stored status out of range".into()))?;
            return Ok(KeyClaim::Replay { status, body: body.to_owned() });
        }
        match (answer.uuid("product_id"), answer.timestamp_ms("created_at")) {
            (Some(product_id), Some(created_at_ms)) => Ok(KeyClaim::Proceed { product_id, created_at_ms }),
            _ => Err(StoreError::Internal("idempotency claim without product id".into())),
        }
    }

    /// Stores the final answer for `key`, to be replayed to retries. Plain write: every
    /// attempt under one key computes the same answer, so last-writer-wins is harmless.
    pub async fn record_response(&self, key: &IdempotencyKey, status: u16, body: &str) -> Result<(), StoreError> {
        self.run(|c| {
            let values = (i32::from(status), body.to_owned(), key.as_str().to_owned());
            async move { c.session.execute_unpaged(&c.statements.save_idempotent_response, values).await }
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_visible_ascii_up_to_255() {
        assert!(IdempotencyKey::parse("3f1c-retry_01").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", "has space", "é", &"k".repeat(256)] {
            assert_eq!(IdempotencyKey::parse(bad).unwrap_err().field, "Idempotency-Key");
        }
    }
}
