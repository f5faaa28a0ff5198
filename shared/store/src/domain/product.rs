use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Name, Price, Sku};

/// A create request once every field is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub name: Name,
    pub sku: Sku,
    pub price: Price,
    /// Who asks for it: the subject of the caller's verified token (`sub`), recorded with the
    /// product. Not part of the fingerprint: idempotency keys are already scoped by caller.
    pub created_by: String,
}

impl NewProduct {
    /// A stable digest of the request's meaning (not its bytes), so that an idempotent retry
    /// with different whitespace or a string instead of a number still matches.
    pub fn fingerprint(&self) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [
            self.name.as_str(),
            self.sku.as_str(),
            &self.price.to_string(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().to_vec()
    }
}

/// A stored product as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    pub id: Uuid,
    pub name: String,
    pub sku: String,
    /// Decimal text with two places: never a JSON number, so no client parses it as a float.
    pub price: String,
    /// RFC 3339, UTC, millisecond precision (what a CQL timestamp holds).
    pub created_at: String,
    /// The subject that created it; `null` for products stored before it was recorded.
    pub created_by: Option<String>,
}

impl Product {
    pub fn new(id: Uuid, name: &str, sku: &str, price: Price, created_at_ms: i64, created_by: Option<&str>) -> Self {
        Product {
            id,
            name: name.to_owned(),
            sku: sku.to_owned(),
            price: price.to_string(),
            created_at: format_millis(created_at_ms),
            created_by: created_by.map(str::to_owned),
        }
    }
}

pub fn format_millis(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_meaning_only() {
        let a = NewProduct {
            name: Name::parse(" Tea ").unwrap(),
            sku: Sku::parse("T-1").unwrap(),
            price: Price::parse_json("2.5").unwrap(),
            created_by: "alice".into(),
        };
        let b = NewProduct {
            name: Name::parse("Tea").unwrap(),
            sku: Sku::parse("T-1").unwrap(),
            price: Price::parse_json("\"2.50\"").unwrap(),
            created_by: "alice".into(),
        };
        assert_eq!(a.fingerprint(), b.fingerprint());
        let c = NewProduct {
            price: Price::parse_json("2.51").unwrap(),
            ..b
        };
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn fingerprint_is_of_the_normalised_name() {
        let with = |name: &str| NewProduct {
            name: Name::parse(name).unwrap(),
            sku: Sku::parse("C-1").unwrap(),
            price: Price::parse_json("1").unwrap(),
            created_by: "alice".into(),
        };
        assert_eq!(with("Caf\u{e9}").fingerprint(), with("Cafe\u{301}").fingerprint());
    }

    #[test]
    fn created_at_is_rfc3339_millis_utc() {
        assert_eq!(format_millis(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
