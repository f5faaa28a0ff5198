//! Twenty clients create one SKU at once, each through its own function container (its own
//! session): exactly one product, one 201 and nineteen 409s naming it.

use std::sync::Arc;

use store::Db;
use store_tests::{app::test_config, product, spawn_app};

#[tokio::test]
async fn twenty_concurrent_creates_of_one_sku_make_one_product() {
    let app = spawn_app().await;
    let containers: Vec<Arc<Db>> = (0..5).map(|_| Arc::new(Db::new(test_config(app.cluster.port())))).collect();
    for db in &containers {
        db.warm_up().await.expect("connect");
    }
    let mut tasks = Vec::new();
    for i in 0..20 {
        let db = containers[i % containers.len()].clone();
        tasks.push(tokio::spawn(async move {
            let body = product("RACE-1").to_string();
            let req = store_tests::app::post_request(&body, &[("content-type", "application/json")]);
            let r = create_product::handler(&db, &store_tests::app::employees(), req).await;
            let status = r.status().as_u16();
            let text = match r.body() {
                http_api::lambda_http::Body::Text(t) => t.clone(),
                _ => String::new(),
            };
            (status, serde_json::from_str::<serde_json::Value>(&text).unwrap())
        }));
    }
    let mut created = Vec::new();
    let mut conflicts = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => created.push(body["id"].clone()),
            409 => conflicts.push(body["existing_id"].clone()),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one 201");
    assert_eq!(conflicts.len(), 19);
    assert!(conflicts.iter().all(|id| *id == created[0]), "every 409 names the winner");
    let listed = app.walk(100).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], created[0]);
}
