//! The create body: exactly `name`, `sku` and `price`. Every problem is reported (missing,
//! unknown, wrongly typed or invalid members), the first one also as `field`.

use http_api::ApiError;
use http_api::body::JsonObject;
use http_api::problem::InvalidParam;
use store::{Name, NewProduct, Price, Sku, ValidationError};

const FIELDS: [&str; 3] = ["name", "sku", "price"];

/// `created_by` is the caller's subject (checked before the body is read).
pub fn parse_new_product(fields: &JsonObject, created_by: String) -> Result<NewProduct, ApiError> {
    let mut problems = Vec::new();
    let mut note = |e: ValidationError| {
        problems.push(InvalidParam {
            name: e.field.to_owned(),
            reason: e.message,
        })
    };

    let raw = |field: &'static str| fields.get(field).map(|v| v.get());
    let string = |field: &'static str| -> Result<String, ValidationError> {
        let token = raw(field).ok_or_else(|| ValidationError::new(field, "is required"))?;
        serde_json::from_str::<String>(token)
            .map_err(|_| ValidationError::new(field, "must be a string"))
    };

    let name = string("name").and_then(|s| Name::parse(&s));
    let sku = string("sku").and_then(|s| Sku::parse(&s));
    let price = raw("price")
        .ok_or_else(|| ValidationError::new("price", "is required"))
        .and_then(Price::parse_json);

    let (name, sku, price) = match (name, sku, price) {
        (Ok(n), Ok(s), Ok(p)) => (Some(n), Some(s), Some(p)),
        (n, s, p) => {
            for e in [n.err(), s.err(), p.err()].into_iter().flatten() {
                note(e);
            }
            (None, None, None)
        }
    };
    for unknown in fields.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        problems.push(InvalidParam {
            name: unknown.clone(),
            reason: "unknown field".into(),
        });
    }
    match (name, sku, price) {
        (Some(name), Some(sku), Some(price)) if problems.is_empty() => {
            Ok(NewProduct { name, sku, price, created_by })
        }
        _ => Err(ApiError::Validation(problems)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<NewProduct, ApiError> {
        parse_new_product(&serde_json::from_str::<JsonObject>(json).unwrap(), "tester".into())
    }

    fn fields_of(e: ApiError) -> Vec<String> {
        match e {
            ApiError::Validation(p) => p.into_iter().map(|p| p.name).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn accepts_a_valid_body() {
        let p = parse(r#"{"name": " Tea ", "sku": "TEA-1", "price": 3.5}"#).unwrap();
        assert_eq!(
            (
                p.name.as_str(),
                p.sku.as_str(),
                p.price.to_string().as_str()
            ),
            ("Tea", "TEA-1", "3.50")
        );
    }

    #[test]
    fn reports_every_problem_by_field() {
        assert_eq!(
            fields_of(parse(r#"{}"#).unwrap_err()),
            ["name", "sku", "price"]
        );
        assert_eq!(
            fields_of(parse(r#"{"name": 1, "sku": "A", "price": "1"}"#).unwrap_err()),
            ["name"]
        );
        assert_eq!(
            fields_of(
                parse(r#"{"name": "n", "sku": "A", "price": 1, "color": "red"}"#).unwrap_err()
            ),
            ["color"]
        );
        assert_eq!(
            fields_of(parse(r#"{"name": "n", "sku": "-A", "price": 1.001}"#).unwrap_err()),
            ["sku", "price"]
        );
    }
}
