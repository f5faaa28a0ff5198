//! The Idempotency-Key header. The first request with a key claims it (LWT, TTL 24 h)
//! together with the product id and creation time it will use; a retry that finds the claim
//! reuses that same id and time, so whatever the first attempt got done, the retry converges
//! on the same single product. Once an answer is final (201 or 409) it is stored with the
//! whole row and replayed as is (`dao::protocol`, `dao::create`).

use crate::domain::ValidationError;

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
            Err(ValidationError::new(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as stored: one caller's keys are their own, so another caller sending the
    /// same key neither replays nor blocks the first one's answer. The subject's length comes
    /// first, so no two (subject, key) pairs give the same text.
    pub fn scoped_to(&self, subject: &str) -> IdempotencyKey {
        IdempotencyKey(format!("{}:{subject}:{}", subject.len(), self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_keys_of_different_callers_differ() {
        let key = IdempotencyKey::parse("k:1").unwrap();
        assert_ne!(key.scoped_to("alice").as_str(), key.scoped_to("bob").as_str());
        // Without the length, ("a:b", "c") and ("a", "b:c") would share a text.
        let a = IdempotencyKey::parse("c").unwrap().scoped_to("a:b");
        let b = IdempotencyKey::parse("b:c").unwrap().scoped_to("a");
        assert_ne!(a.as_str(), b.as_str());
    }

    #[test]
    fn key_is_visible_ascii_up_to_255() {
        assert!(IdempotencyKey::parse("3f1c-retry_01").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", "has space", "é", &"k".repeat(256)] {
            assert_eq!(
                IdempotencyKey::parse(bad).unwrap_err().field,
                "Idempotency-Key"
            );
        }
    }
}
