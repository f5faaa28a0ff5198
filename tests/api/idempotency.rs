//! Idempotency-Key: a retry gets the first answer again, never a second product or a 409.

use cql_node::faults::{Fault, FaultKind, FaultRegistry, Match};
use serde_json::json;
use store_tests::{product, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_201() {
    let app = spawn_app().await;
    let first = app.post_with_key(&product("IDEM-1"), "key-1").await;
    assert_eq!(first.status, 201, "{}", first.text);
    // Same meaning, different spelling (price as a number): still the same request.
    let retry = app.post_with_key(&json!({"name": "Product IDEM-1", "sku": "IDEM-1", "price": 9.99}), "key-1").await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.json, first.json);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.walk(10).await.len(), 1);
    // Without the key, the same body is a duplicate.
    assert_eq!(app.post_product(&product("IDEM-1")).await.status, 409);
}

#[tokio::test]
async fn reusing_a_key_for_another_body_is_refused() {
    let app = spawn_app().await;
    assert_eq!(app.post_with_key(&product("IDEM-2"), "key-2").await.status, 201);
    let r = app.post_with_key(&product("IDEM-3"), "key-2").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json["type"], "/problems/idempotency-key-reused");
    assert_eq!(app.walk(10).await.len(), 1);
}

#[tokio::test]
async fn a_retry_after_an_ambiguous_failure_converges_on_one_product() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let faults = FaultRegistry::new();
    let app = spawn_app_with(faults.clone()).await;
    // The commit times out: the client cannot know whether it was applied.
    let fault = faults.inject(Fault::new(FaultKind::WriteTimeout).matching(Match::TextContains("SET committed = true".into())));
    let r = app.post_with_key(&product("IDEM-5"), "key-5").await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    assert_eq!(r.json["outcome"], "unknown");
    faults.remove(fault);

    let retry = app.post_with_key(&product("IDEM-5"), "key-5").await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    let listed = app.walk(10).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], retry.json["id"]);
    // And the answer is now remembered.
    let again = app.post_with_key(&product("IDEM-5"), "key-5").await;
    assert_eq!((again.status, &again.json), (201, &retry.json));
}
