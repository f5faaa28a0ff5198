//! Every validation rule, each answered with a 4xx problem naming the field, and nothing stored.

use serde_json::{Value, json};
use store_tests::{TestApp, spawn_app};

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];

async fn assert_refused(app: &TestApp, body: Value, status: u16, field: &str) {
    let r = app.post_product(&body).await;
    assert_eq!(r.status, status, "{body} -> {}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json["field"], field, "{body} -> {}", r.text);
}

#[tokio::test]
async fn every_field_rule_is_enforced_and_named() {
    let app = spawn_app().await;
    let ok = |name: Value, sku: Value, price: Value| json!({"name": name, "sku": sku, "price": price});
    let cases = [
        (ok(json!(""), json!("A"), json!(1)), "name"),
        (ok(json!("   "), json!("A"), json!(1)), "name"),
        (ok(json!("a".repeat(201)), json!("A"), json!(1)), "name"),
        (ok(json!("tab\there"), json!("A"), json!(1)), "name"),
        (ok(json!(42), json!("A"), json!(1)), "name"),
        (ok(json!("n"), json!(""), json!(1)), "sku"),
        (ok(json!("n"), json!("-A"), json!(1)), "sku"),
        (ok(json!("n"), json!("A B"), json!(1)), "sku"),
        (ok(json!("n"), json!(format!("A{}", "b".repeat(64))), json!(1)), "sku"),
        (ok(json!("n"), json!("A"), json!(-1)), "price"),
        (ok(json!("n"), json!("A"), json!(1000000000.01)), "price"),
        (ok(json!("n"), json!("A"), json!(1.234)), "price"),
        (ok(json!("n"), json!("A"), json!("1e3")), "price"),
        (ok(json!("n"), json!("A"), json!("NaN")), "price"),
        (ok(json!("n"), json!("A"), json!(null)), "price"),
        (ok(json!("n"), json!("A"), json!(true)), "price"),
        (json!({"sku": "A", "price": 1}), "name"),
        (json!({"name": "n", "price": 1}), "sku"),
        (json!({"name": "n", "sku": "A"}), "price"),
        (json!({"name": "n", "sku": "A", "price": 1, "colour": "red"}), "colour"),
    ];
    for (body, field) in cases {
        assert_refused(&app, body, 422, field).await;
    }
    // Boundaries that are accepted.
    for (i, body) in [
        ok(json!("a".repeat(200)), json!("B1"), json!(0)),
        ok(json!("é"), json!(format!("B{}", "2".repeat(63))), json!("1000000000")),
        ok(json!("n"), json!("B.3_x-y"), json!(19.9)),
    ]
    .into_iter()
    .enumerate()
    {
        let r = app.post_product(&body).await;
        assert_eq!(r.status, 201, "case {i}: {}", r.text);
    }
    assert_eq!(app.walk(50).await.len(), 3, "refused requests stored nothing");
}

#[tokio::test]
async fn exponent_in_a_json_number_is_refused() {
    let app = spawn_app().await;
    let r = app.post_raw(r#"{"name":"n","sku":"E1","price":1e2}"#, JSON).await;
    assert_eq!((r.status, r.json["field"].as_str()), (422, Some("price")));
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    for body in ["{", "", "not json", "[1,2]", "{\"name\": }", r#"{"name":"a","name":"b","sku":"D","price":1}"#] {
        let r = app.post_raw(body, JSON).await;
        assert_eq!(r.status, 400, "{body:?}");
        assert_eq!(r.json["type"], "/problems/malformed-json");
    }
}

#[tokio::test]
async fn body_over_64_kib_is_413() {
    let app = spawn_app().await;
    let body = json!({"name": "n".repeat(64 * 1024), "sku": "BIG", "price": 1}).to_string();
    let r = app.post_raw(&body, JSON).await;
    assert_eq!(r.status, 413);
}

#[tokio::test]
async fn non_json_content_type_is_415() {
    let app = spawn_app().await;
    let body = json!({"name": "n", "sku": "CT", "price": 1}).to_string();
    for headers in [&[("content-type", "text/plain")][..], &[("content-type", "application/x-www-form-urlencoded")], &[]] {
        let r = app.post_raw(&body, headers).await;
        assert_eq!(r.status, 415, "{headers:?}");
    }
    let r = app.post_raw(&body, &[("content-type", "application/json; charset=utf-8")]).await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn bad_idempotency_key_and_wrong_method_are_refused() {
    let app = spawn_app().await;
    let r = app.post_raw(&json!({"name": "n", "sku": "K", "price": 1}).to_string(), &[("content-type", "application/json"), ("idempotency-key", &"k".repeat(256))]).await;
    assert_eq!((r.status, r.json["field"].as_str()), (400, Some("Idempotency-Key")));
    let get = store_tests::app::list_request(&[]);
    let r = app.send_create(get).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
}

#[tokio::test]
async fn bad_limits_are_400_naming_limit() {
    let app = spawn_app().await;
    for limit in ["0", "501", "-1", "ten", "2.5", ""] {
        let r = app.list(&[("limit", limit)]).await;
        assert_eq!((r.status, r.json["field"].as_str()), (400, Some("limit")), "{limit:?}");
    }
    assert_eq!(app.list(&[("limit", "500")]).await.status, 200);
}
