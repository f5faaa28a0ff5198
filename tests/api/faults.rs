//! Database faults, injected into the CQL node: 503 with Retry-After (never a false 201),
//! nothing visible after a failed create, and recovery once the fault is gone.

use cql_node::faults::{Fault, FaultKind, FaultRegistry, Match};
use store_tests::{TestApp, product, spawn_app_with};

async fn app() -> (TestApp, FaultRegistry) {
    let faults = FaultRegistry::new();
    let app = spawn_app_with(faults.clone()).await;
    // Connect both functions first, so faults hit requests rather than session set-up.
    app.create_db.warm_up().await.unwrap();
    app.list_db.warm_up().await.unwrap();
    (app, faults)
}

fn assert_503(r: &store_tests::TestResponse) {
    assert_eq!(r.status, 503, "{}", r.text);
    let retry_after: u32 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(r.json["type"], "/problems/service-unavailable");
}

#[tokio::test]
async fn each_database_error_is_a_503_with_retry_after() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let (app, faults) = app().await;
    let kinds = [FaultKind::Unavailable, FaultKind::WriteTimeout, FaultKind::ReadTimeout, FaultKind::Overloaded, FaultKind::IsBootstrapping];
    for (i, kind) in kinds.into_iter().enumerate() {
        let id = faults.inject(Fault::new(kind.clone()));
        assert_503(&app.post_product(&product(&format!("F-{i}"))).await);
        assert_503(&app.list(&[]).await);
        faults.remove(id);
    }
    assert!(app.walk(10).await.is_empty(), "no false create");
    // Once the faults are gone, the same SKUs can be created.
    assert_eq!(app.post_product(&product("F-0")).await.status, 201);
}

#[tokio::test]
async fn a_create_that_fails_at_commit_leaves_nothing_and_does_not_block_the_sku() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let (app, faults) = app().await;
    let id = faults.inject(Fault::new(FaultKind::Unavailable).matching(Match::TextContains("SET committed = true".into())));
    let r = app.post_product(&product("MID-1")).await;
    assert_503(&r);
    assert_eq!(r.json["outcome"], "not_created", "an Unavailable commit is known not to have applied");
    faults.remove(id);
    assert!(app.walk(10).await.is_empty());
    let r = app.post_product(&product("MID-1")).await;
    assert_eq!(r.status, 201, "the released claim does not block: {}", r.text);
}

#[tokio::test]
async fn a_timeout_on_the_sku_claim_is_a_503_not_a_201() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let (app, faults) = app().await;
    faults.inject(Fault::new(FaultKind::WriteTimeout).matching(Match::TextContains("IF NOT EXISTS".into())));
    assert_503(&app.post_product(&product("LWT-1")).await);
    faults.clear();
    assert!(app.walk(10).await.is_empty());
}

#[tokio::test]
async fn after_every_connection_was_dropped_the_next_request_succeeds() {
    store_tests::requires_cql_node!(store_tests::target::NODE_CONTROL);
    let (app, _faults) = app().await;
    assert_eq!(app.post_product(&product("DROP-1")).await.status, 201);
    app.cluster().drop_connections();
    let r = app.post_product(&product("DROP-2")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.cluster().drop_connections();
    let page = app.list(&[]).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json["items"].as_array().unwrap().len(), 2);
}
