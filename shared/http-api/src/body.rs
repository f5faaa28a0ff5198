//! Reading a JSON request body strictly: `application/json` in UTF-8 (415), at most 64 KiB
//! (413), a well-formed JSON object (400). Members are kept as raw JSON text so that numbers (the
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
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueMembers, A::Error> {
                let mut members = JsonObject::new();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    if members.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!("duplicate member {key:?}")));
                    }
                    members.insert(key, value);
                }
                Ok(UniqueMembers(members))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// `application/json` only, in any case, with optional parameters; a `charset` other than
/// UTF-8 is refused (RFC 8259 JSON is UTF-8, and the body is read as UTF-8, so a UTF-16
/// body would otherwise be reported as malformed instead of unsupported). Other `+json`
/// types (`application/problem+json`, `application/merge-patch+json`) mean something else
/// than "create this product" and are refused too.
pub fn is_json_content_type(value: &str) -> bool {
    let Ok(mime) = value.trim().parse::<mime::Mime>() else {
        return false;
    };
    mime.essence_str() == "application/json"
        && mime
            .params()
            .filter(|(name, _)| *name == mime::CHARSET)
            .all(|(_, charset)| charset.as_str().eq_ignore_ascii_case("utf-8"))
}

pub fn json_object(req: &Request) -> Result<JsonObject, ApiError> {
    let content_type = req.headers().get("content-type").map(|v| v.to_str().unwrap_or("(not text)").to_owned());
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
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson("the body is empty".into()));
    }
    serde_json::from_slice::<UniqueMembers>(bytes).map(|o| o.0).map_err(|e| {
        if e.is_data() {
            ApiError::MalformedJson(format!("the body must be a JSON object with unique members: {e}"))
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
        assert!(is_json_content_type("application/json;charset=UTF-8"));
        assert!(is_json_content_type("application/json; charset=\"utf-8\""));
        assert!(is_json_content_type("application/json; version=2"));
        for refused in [
            "application/json;charset=UTF-16",
            "application/json; charset=iso-8859-1",
            "application/json; charset=utf-8; charset=utf-16",
            "application/problem+json",
            "application/merge-patch+json",
            "text/plain",
            "application/jsonx",
            "application/json, text/plain",
            "",
        ] {
            assert!(!is_json_content_type(refused), "{refused}");
        }
    }

    #[test]
    fn refuses_in_the_documented_order() {
        assert_eq!(json_object(&request(None, "{}")).unwrap_err().status(), 415);
        assert_eq!(json_object(&request(Some("text/plain"), "{}")).unwrap_err().status(), 415);
        let big = format!("{{\"name\": \"{}\"}}", "a".repeat(MAX_BODY_BYTES));
        assert_eq!(json_object(&request(Some("application/json"), &big)).unwrap_err().status(), 413);
        for bad in ["", "{", "[1]", "\"x\"", "{\"a\":}", "{} x", r#"{"a": 1, "a": 2}"#] {
            assert_eq!(json_object(&request(Some("application/json"), bad)).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn keeps_number_tokens_verbatim() {
        let o = json_object(&request(Some("application/json"), r#"{"price": 19.990000000000001}"#)).unwrap();
        assert_eq!(o["price"].get(), "19.990000000000001");
    }
}
