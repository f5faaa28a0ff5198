//! Reading a JSON request body strictly: JSON content type (415), at most 64 KiB (413), a
//! well-formed JSON object (400). Members are kept as raw JSON text so that numbers (the
//! price) never pass through binary floating point.

use std::collections::BTreeMap;

use lambda_http::{Body, Request};
use serde_json::value::RawValue;

use crate::problem::ApiError;

pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub type JsonObject = BTreeMap<String, Box<RawValue>>;

/// A JSON object whose members are unique: `{"sku": "A", "sku": "B"}` is refused rather than
/// silently keeping one of the two.
struct UniqueMembers(JsonObject);

impl<'de> serde::Deserialize<'de> for UniqueMembers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueMembers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueMembers, A::Error> {
                let mut members = JsonObject::new();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    if members.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!(
                            "duplicate member {key:?}"
                        )));
                    }
                    members.insert(key, value);
                }
                Ok(UniqueMembers(members))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// `application/json` or any `application/*+json`, with optional parameters (charset...).
pub fn is_json_content_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub fn json_object(req: &Request) -> Result<JsonObject, ApiError> {
    let content_type = req
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("(not text)").to_owned());
    match &content_type {
        Some(ct) if is_json_content_type(ct) => {}
        _ => return Err(ApiError::UnsupportedMediaType { got: content_type }),
    }
    let bytes: &[u8] = match req.body() {
        Body::Empty => b"",
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson("the body is empty".into()));
    }
    serde_json::from_slice::<UniqueMembers>(bytes)
        .map(|o| o.0)
        .map_err(|e| {
            if e.is_data() {
                ApiError::MalformedJson(format!(
                    "the body must be a JSON object with unique members: {e}"
                ))
            } else {
                ApiError::MalformedJson(format!("not valid JSON: {e}"))
            }
        })
}

#[cfg(test)]
mod tests {
    use lambda_http::http;

    use super::*;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut b = http::Request::builder().method("POST").uri("/products");
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        b.body(Body::Text(body.into())).unwrap()
    }

    #[test]
    fn content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(is_json_content_type("application/merge-patch+json"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("application/jsonx"));
    }

    #[test]
    fn refuses_in_the_documented_order() {
        assert_eq!(json_object(&request(None, "{}")).unwrap_err().status(), 415);
        assert_eq!(
            json_object(&request(Some("text/plain"), "{}"))
                .unwrap_err()
                .status(),
            415
        );
        let big = format!("{{\"name\": \"{}\"}}", "a".repeat(MAX_BODY_BYTES));
        assert_eq!(
            json_object(&request(Some("application/json"), &big))
                .unwrap_err()
                .status(),
            413
        );
        for bad in [
            "",
            "{",
            "[1]",
            "\"x\"",
            "{\"a\":}",
            "{} x",
            r#"{"a": 1, "a": 2}"#,
        ] {
            assert_eq!(
                json_object(&request(Some("application/json"), bad))
                    .unwrap_err()
                    .status(),
                400,
                "{bad}"
            );
        }
    }

    #[test]
    fn keeps_number_tokens_verbatim() {
        let o = json_object(&request(
            Some("application/json"),
            r#"{"price": 19.990000000000001}"#,
        ))
        .unwrap();
        assert_eq!(o["price"].get(), "19.990000000000001");
    }
}
