//! openapi.yaml stays in step with the code: every status and problem type the code can
//! produce is documented, and the checker that every test response goes through is not
//! vacuous (it refuses bodies that break the schemas).

use http_api::ApiError;
use serde_json::{Value, json};
use store_tests::openapi::{DOCUMENT, check, response_spec};

/// The statuses each route can answer with: its success, plus every error its code returns.
fn route_statuses() -> Vec<(&'static str, &'static str, Vec<u16>)> {
    let errors = |keep: &dyn Fn(&ApiError) -> bool| -> Vec<u16> {
        ApiError::examples().iter().filter(|e| keep(e)).map(ApiError::status).collect()
    };
    // The read function reads no body, creates nothing, never meets an Idempotency-Key and
    // checks no identity (API Gateway's authorizer gates reads, with its own 401).
    let read_error = |e: &ApiError| {
        !matches!(
            e,
            ApiError::Validation(_)
                | ApiError::MalformedJson(_)
                | ApiError::DuplicateSku { .. }
                | ApiError::PayloadTooLarge { .. }
                | ApiError::UnsupportedMediaType { .. }
                | ApiError::IdempotencyKeyReused
                | ApiError::Unauthenticated
                | ApiError::Forbidden { .. }
        )
    };
    // Only a product id can be absent: a page, even of a SKU nothing holds, is a 200.
    let create_errors = errors(&|e| !matches!(e, ApiError::NotFound(_)));
    let list_errors = errors(&|e| read_error(e) && !matches!(e, ApiError::NotFound(_)));
    let get_errors = errors(&read_error);
    vec![
        ("/products", "post", [vec![201], create_errors].concat()),
        ("/products", "get", [vec![200], list_errors].concat()),
        ("/products/{id}", "get", [vec![200], get_errors].concat()),
    ]
}

#[test]
fn every_status_the_code_produces_is_documented() {
    assert_eq!(DOCUMENT["openapi"], "3.1.0");
    for (route, method, statuses) in route_statuses() {
        for status in statuses {
            assert!(response_spec(route, method, status).is_some(), "{method} {route} {status} undocumented");
        }
    }
}

#[test]
fn every_problem_type_is_documented_and_every_example_validates() {
    let types = DOCUMENT.pointer("/components/schemas/Problem/properties/type/enum").unwrap().as_array().unwrap().clone();
    for e in ApiError::examples() {
        assert!(types.contains(&json!(e.problem_type())), "{} undocumented", e.problem_type());
        let (route, method) = match e {
            ApiError::NotFound(_) => ("/products/{id}", "get"),
            ApiError::MethodNotAllowed { .. } | ApiError::InvalidParameter { .. } => ("/products", "get"),
            _ => ("/products", "post"),
        };
        let response = e.clone().into_response();
        let r = to_test_response(response);
        check(route, method, &r).unwrap_or_else(|msg| panic!("{msg}"));
    }
    let produced: std::collections::BTreeSet<&str> = ApiError::examples().iter().map(|e| e.problem_type()).collect();
    assert_eq!(types.len(), produced.len(), "no documented type the code cannot produce");
}

#[test]
fn the_checker_refuses_bodies_that_break_the_schema() {
    let product = json!({"id": "6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7d", "name": "n", "sku": "A", "price": "1.00", "created_at": "2026-01-01T00:00:00.000Z", "created_by": "employee-1"});
    assert!(check("/products", "post", &created(product.clone())).is_ok());
    // A 201 without Location breaks the contract.
    assert!(check("/products", "post", &fake(201, "application/json", product.clone())).is_err());
    assert!(check("/products/{id}", "get", &fake(200, "application/json", product.clone())).is_ok());
    assert!(check("/products/{id}", "get", &fake(200, "application/json", json!({"items": [product.clone()]}))).is_err());
    let mut float_price = product.clone();
    float_price["price"] = json!(1.0);
    assert!(check("/products", "post", &created(float_price)).is_err());
    let mut extra = product.clone();
    extra["secret"] = json!("x");
    assert!(check("/products", "post", &created(extra)).is_err());
    assert!(check("/products", "post", &fake(418, "application/json", product.clone())).is_err());
    assert!(check("/products", "get", &fake(200, "application/json", json!({"items": [product]}))).is_err());
    // A 503 without Retry-After breaks the contract.
    let problem = json!({"type": "/problems/service-unavailable", "title": "t", "status": 503, "detail": "d"});
    assert!(check("/products", "get", &fake(503, "application/problem+json", problem)).is_err());
}

/// A 201 with its Location header, so that only the body decides.
fn created(body: Value) -> store_tests::TestResponse {
    let mut r = fake(201, "application/json", body);
    r.headers.insert("location", "/products/6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7d".parse().unwrap());
    r
}

fn fake(status: u16, content_type: &str, body: Value) -> store_tests::TestResponse {
    let response = http_api::lambda_http::http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(http_api::lambda_http::Body::Text(body.to_string()))
        .unwrap();
    to_test_response(response)
}

fn to_test_response(response: http_api::lambda_http::Response<http_api::lambda_http::Body>) -> store_tests::TestResponse {
    store_tests::TestResponse::from_response(response)
}
