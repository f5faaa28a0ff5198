//! The schema command's statements are idempotent: applying them again over a keyspace that
//! already holds data changes nothing and fails nothing.

use store_tests::{app::apply_schema, product, spawn_app};

#[tokio::test]
async fn applying_the_schema_twice_keeps_the_data() {
    let app = spawn_app().await; // applied once here
    assert_eq!(app.post_product(&product("SCHEMA-1")).await.status, 201);
    apply_schema(&app.config).await;
    let listed = app.walk(10).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["sku"], "SCHEMA-1");
}
