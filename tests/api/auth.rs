//! Who may write (issue 12), through the real create handler: the authorizer's claims as API
//! Gateway hands them over, the write scope, the creator recorded and read back, idempotency
//! keys scoped to their caller, and the local `STORE_AUTH=off`.

use http_api::identity::{self, WritePolicy};
use http_api::lambda_http::request::from_str;
use serde_json::Value;
use store_tests::app::{EMPLOYEE, TestApp, TestResponse, post_request_as};
use store_tests::{product, spawn_app};

fn json_headers() -> [(&'static str, &'static str); 1] {
    [("content-type", "application/json")]
}

/// A create carrying the claims of a token (`None`: no authorizer ran).
async fn post_as(app: &TestApp, sku: &str, claims: Option<&[(&str, &str)]>, key: Option<&str>) -> TestResponse {
    let context = claims.map(|c| identity::authorized_context("POST", c, None));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    app.send_create(post_request_as(&product(sku).to_string(), &headers, context)).await
}

fn assert_problem(r: &TestResponse, status: u16, problem: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json["type"], problem, "{}", r.text);
}

#[tokio::test]
async fn a_write_without_the_authorizers_claims_is_401_and_stores_nothing() {
    let app = spawn_app().await;
    let r = post_as(&app, "NOAUTH-1", None, None).await;
    assert_problem(&r, 401, "/problems/unauthenticated");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    // Refused before the body is read: a malformed body gets the same answer.
    let r = app.send_create(post_request_as("{not json", &json_headers(), None)).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(app.listed_ids().await.is_empty());
    assert!(app.list(&[("sku", "NOAUTH-1")]).await.json["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_token_without_the_write_scope_or_without_a_subject_is_403_and_stores_nothing() {
    let app = spawn_app().await;
    let reader = [("sub", "reader-1"), ("scope", "openid email")];
    let r = post_as(&app, "READER-1", Some(&reader), None).await;
    assert_problem(&r, 403, "/problems/forbidden");
    assert!(r.json["detail"].as_str().unwrap().contains("products/write"), "{}", r.text);
    assert_eq!(r.header("www-authenticate"), Some("Bearer error=\"insufficient_scope\""));
    let nobody = [("scope", "products/write")];
    assert_problem(&post_as(&app, "READER-2", Some(&nobody), None).await, 403, "/problems/forbidden");
    assert!(app.listed_ids().await.is_empty());
    // The SKU was never claimed: an employee can take it.
    assert_eq!(app.post_product(&product("READER-1")).await.status, 201);
}

#[tokio::test]
async fn the_creator_is_stored_and_read_back_everywhere_the_product_is_shown() {
    let app = spawn_app().await;
    let ada = [("sub", "ada"), ("scope", "openid products/write")];
    let created = post_as(&app, "BY-ADA", Some(&ada), None).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["created_by"], "ada");
    let id = created.json["id"].as_str().unwrap();
    assert_eq!(app.get_product(id).await.json["created_by"], "ada");
    assert_eq!(app.list(&[("sku", "BY-ADA")]).await.json["items"][0]["created_by"], "ada");
    assert_eq!(app.walk(10).await[0]["created_by"], "ada");
    // The column itself, as another reader of the table sees it.
    let session = store::db::session_builder(&app.config).build().await.unwrap();
    let (by,): (Option<String>,) = session
        .query_unpaged(format!("SELECT created_by FROM {}.products WHERE id = ?", app.config.keyspace), (uuid::Uuid::parse_str(id).unwrap(),))
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .single_row()
        .unwrap();
    assert_eq!(by.as_deref(), Some("ada"));
    // The SKU is unique across callers: another employee gets the 409 naming Ada's product.
    let r = app.post_product(&product("BY-ADA")).await;
    assert_eq!((r.status, r.json["existing_id"].as_str()), (409, Some(id)));
}

#[tokio::test]
async fn an_idempotency_key_belongs_to_its_caller() {
    let app = spawn_app().await;
    let ada = [("sub", "ada"), ("scope", "products/write")];
    let bob = [("sub", "bob"), ("scope", "products/write")];
    let first = post_as(&app, "KEY-ADA", Some(&ada), Some("shared-key")).await;
    assert_eq!(first.status, 201, "{}", first.text);
    // Bob's same key is Bob's own request, not a replay of Ada's answer (nor a 422).
    let bobs = post_as(&app, "KEY-BOB", Some(&bob), Some("shared-key")).await;
    assert_eq!(bobs.status, 201, "{}", bobs.text);
    assert_eq!(bobs.json["created_by"], "bob");
    assert_eq!(bobs.header("idempotent-replayed"), None);
    // Ada's retry replays her first answer.
    let again = post_as(&app, "KEY-ADA", Some(&ada), Some("shared-key")).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json, first.json);
    assert_eq!(app.listed_ids().await.len(), 2);
}

#[tokio::test]
async fn with_auth_off_a_local_write_needs_no_token_and_is_recorded_as_anonymous() {
    let app = spawn_app().await;
    let req = post_request_as(&product("LOCAL-1").to_string(), &json_headers(), None);
    let r = TestResponse::from_response(create_product::handler(&app.create_db, &WritePolicy::Off, req).await);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["created_by"], identity::ANONYMOUS);
    // Claims, when a local event carries them, still name the creator.
    let context = identity::authorized_context("POST", &[("sub", "ada")], None);
    let req = post_request_as(&product("LOCAL-2").to_string(), &json_headers(), Some(context));
    let r = TestResponse::from_response(create_product::handler(&app.create_db, &WritePolicy::Off, req).await);
    assert_eq!(r.json["created_by"], "ada");
}

/// The events README tells people to send with `cargo lambda invoke`, as Lambda parses them.
fn event(name: &str) -> http_api::lambda_http::Request {
    let path = format!("{}/../events/create-product.{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    from_str(&text).unwrap_or_else(|e| panic!("{path} is not an API Gateway event: {e}"))
}

#[tokio::test]
async fn the_local_events_are_one_employee_who_may_write_and_one_who_may_not() {
    let app = spawn_app().await;
    let employee = app.send_create(event("employee")).await;
    assert_eq!(employee.status, 201, "{}", employee.text);
    let sub: Value = serde_json::from_str::<Value>(&std::fs::read_to_string(format!(
        "{}/../events/create-product.employee.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap())
    .unwrap()["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
        .clone();
    assert_eq!(employee.json["created_by"], sub);
    assert_ne!(sub, Value::from(EMPLOYEE));
    let reader = app.send_create(event("reader")).await;
    assert_eq!(reader.status, 403, "{}", reader.text);
}
