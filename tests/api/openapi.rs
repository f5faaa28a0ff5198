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

/// Issue 10, point 6: what Schemathesis found, kept fixed. A request the document calls valid
/// is accepted and one it calls invalid is refused: here for the values it found (an empty
/// `cursor`, which the document allowed and the API refused; an empty name, likewise) and
/// their neighbours.
#[tokio::test]
async fn the_document_and_the_api_agree_on_empty_cursors_and_names() {
    let app = store_tests::spawn_app().await;
    let doc = &*store_tests::openapi::DOCUMENT;
    let cursor = doc["paths"]["/products"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "cursor")
        .expect("the cursor parameter")["schema"]
        .clone();
    assert!(!store_tests::openapi::validator(&cursor).is_valid(&json!("")), "the document allows an empty cursor");
    let r = app.list(&[("cursor", "")]).await;
    assert_eq!((r.status, r.json["field"].as_str()), (400, Some("cursor")), "{}", r.text);

    let name = store_tests::openapi::validator(&doc["components"]["schemas"]["NewProduct"]["properties"]["name"]);
    // (Not the 200-character bound: it counts the trimmed name, which the schema cannot.)
    let long = format!(" {} ", "x".repeat(200));
    let names = ["", " ", "\t\n", "\u{0}", "a\u{1}b", "a\u{7f}", "a\u{85}", "a\u{85}b", "\tTea\n", "Tea", " Tea ", "\u{a0}Tea", &long];
    for (i, text) in names.into_iter().enumerate() {
        let documented = name.is_valid(&json!(text));
        let r = app.post_product(&json!({"name": text, "sku": format!("NAME-{i}"), "price": 1})).await;
        let accepted = r.status == 201;
        assert_eq!(accepted, documented, "name {text:?}: the document says {documented}, the API answered {}", r.text);
        if !accepted {
            assert_eq!((r.status, r.json["field"].as_str()), (422, Some("name")), "{}", r.text);
        }
    }
}

/// The rest of what Schemathesis found: an Idempotency-Key the document allowed (any 1 to 255
/// characters) and the API refused (not visible ASCII), and prices the document allowed (any
/// number from 0 to 10^9) and the API refused (more than two decimals). Also what the local
/// stand-in for API Gateway cannot carry (scripts/checks/schemathesis_hooks.py), sent to the
/// handler directly: a body and a key that are not UTF-8 are refused, not a 500.
#[tokio::test]
async fn the_document_and_the_api_agree_on_keys_and_prices() {
    let app = store_tests::spawn_app().await;
    let doc = &*store_tests::openapi::DOCUMENT;
    let key = doc["paths"]["/products"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .expect("the Idempotency-Key parameter")["schema"]
        .clone();
    let key = store_tests::openapi::validator(&key);
    let keyed = |sku: &str, key: &[u8]| {
        let mut req = store_tests::app::post_request(&store_tests::product(sku).to_string(), &[("content-type", "application/json")]);
        req.headers_mut().insert("idempotency-key", http_api::lambda_http::http::HeaderValue::from_bytes(key).unwrap());
        req
    };
    for (i, text) in ["k-1", "~!", "a b", "clé", "\tk"].into_iter().enumerate() {
        let documented = key.is_valid(&json!(text));
        let r = app.send_create(keyed(&format!("KEY-{i}"), text.as_bytes())).await;
        assert_eq!(r.status == 201, documented, "key {text:?}: {}", r.text);
        if !documented {
            assert_eq!((r.status, r.json["field"].as_str()), (400, Some("Idempotency-Key")), "{}", r.text);
        }
    }

    let price = store_tests::openapi::validator(&doc["components"]["schemas"]["NewProduct"]["properties"]["price"]);
    for (i, value) in [json!(19.99), json!(0), json!(1000000000), json!(0.5), json!(148275792.5708618), json!(1.234)].into_iter().enumerate() {
        let documented = price.is_valid(&value);
        let r = app.post_product(&json!({"name": "n", "sku": format!("PRICE-{i}"), "price": value})).await;
        assert_eq!(r.status == 201, documented, "price {value}: {}", r.text);
    }

    let binary = |body: &[u8], key: &[u8]| {
        let mut req = store_tests::app::post_request("", &[("content-type", "application/json")]);
        *req.body_mut() = http_api::lambda_http::Body::Binary(body.to_vec());
        req.headers_mut().insert("idempotency-key", http_api::lambda_http::http::HeaderValue::from_bytes(key).unwrap());
        req
    };
    let r = app.send_create(binary(b"#A\"\x12\"\xff\x1a\xfe", b"k-bin")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = app.send_create(binary(br#"{"name": "n", "sku": "BIN-1", "price": 1}"#, b"\xe9")).await;
    assert_eq!((r.status, r.json["field"].as_str()), (400, Some("Idempotency-Key")), "{}", r.text);
    assert!(app.walk(50).await.iter().all(|p| p["sku"] != "BIN-1"));
}
