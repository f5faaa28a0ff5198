//! A function cold-starting while the cluster is down: requests get 503 quickly (bounded
//! connect timeout), nothing crashes, and once the node is back requests succeed.

use std::time::Duration;

use store::Db;
use store_tests::{app::test_config, product, spawn_app};

#[tokio::test]
async fn cold_start_with_the_node_down_then_up() {
    store_tests::requires_cql_node!(store_tests::target::NODE_CONTROL);
    let mut app = spawn_app().await;
    app.cluster_mut().stop_node(0).await;

    // A fresh container, as Lambda would start one.
    let db = Db::new(test_config(app.cluster().port()));
    assert!(db.warm_up().await.is_err());
    // Bounded: a hang here would be the bug (the connect timeout is 2 s; allow plenty).
    let bound = Duration::from_secs(30);
    for _ in 0..2 {
        let req = store_tests::app::post_request(&product("COLD-1").to_string(), &[("content-type", "application/json")]);
        let r = tokio::time::timeout(bound, create_product::handler(&db, &store_tests::app::employees(), req)).await.expect("answers within the bound");
        assert_eq!(r.status().as_u16(), 503);
        assert!(r.headers().contains_key("retry-after"));
    }
    let r = tokio::time::timeout(bound, list_products::handler(&db, store_tests::app::list_request(&[])))
        .await
        .expect("answers within the bound");
    assert_eq!(r.status().as_u16(), 503);

    // A burst while down: the requests that queued behind one failed attempt fail fast
    // together instead of each waiting a connect timeout (bounded as a whole).
    let burst = futures::future::join_all((0..8).map(|_| list_products::handler(&db, store_tests::app::list_request(&[]))));
    let answers = tokio::time::timeout(bound, burst).await.expect("the burst answers within the bound");
    assert!(answers.iter().all(|r| r.status().as_u16() == 503));

    app.cluster_mut().restart_node(0).await.expect("restart the node");
    let req = store_tests::app::post_request(&product("COLD-1").to_string(), &[("content-type", "application/json")]);
    let r = create_product::handler(&db, &store_tests::app::employees(), req).await;
    assert_eq!(r.status().as_u16(), 201);
    let r = list_products::handler(&db, store_tests::app::list_request(&[])).await;
    assert_eq!(r.status().as_u16(), 200);
}
