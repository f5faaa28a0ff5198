//! `GET /products/{id}`: the product, or a 404 when no product has that id.

use http_api::ApiError;
use http_api::lambda_http::{Body, Response};
use http_api::response::json;
use store::Db;
use uuid::Uuid;

pub async fn get(db: &Db, id: &str) -> Result<Response<Body>, ApiError> {
    let id = parse_id(id)?;
    match db.get_product(id).await? {
        Some(product) => json(200, &product),
        None => Err(ApiError::NotFound(format!("no product has id {id}"))),
    }
}

/// Only the hyphenated form the API hands out (`Uuid::try_parse` would also take braces, a
/// `urn:uuid:` prefix or 32 bare digits: one spelling per product keeps ids comparable).
pub fn parse_id(text: &str) -> Result<Uuid, ApiError> {
    let hyphenated = text.len() == 36 && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    match Uuid::try_parse(text) {
        Ok(id) if hyphenated => Ok(id),
        _ => Err(ApiError::InvalidParameter {
            name: "id",
            reason: "must be a product id: a UUID in hyphenated form, as in 6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7d".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hyphenated_uuids() {
        let id = "6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7d";
        assert_eq!(parse_id(id).unwrap().to_string(), id);
        assert_eq!(parse_id(&id.to_uppercase()).unwrap().to_string(), id);
        for bad in [
            "",
            "abc",
            "6f1d0c7e8d8a4b0e9d4c2f6a1c3b5e7d",
            "{6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7d}",
            "urn:uuid:6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7d",
            "6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7g",
            "6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7d0",
            "6f1d0c7e--8d8a-4b0e-9d4c-2f6a1c3b5e7",
        ] {
            let e = parse_id(bad).unwrap_err();
            assert_eq!(e.status(), 400, "{bad:?}");
            assert!(matches!(e, ApiError::InvalidParameter { name: "id", .. }), "{bad:?}");
        }
    }
}
