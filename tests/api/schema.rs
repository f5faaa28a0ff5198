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

#[tokio::test]
async fn applying_the_schema_adds_the_claim_columns_to_an_older_keyspace_and_keeps_its_rows() {
    use cql_node::cluster::Cluster;
    let cluster = Cluster::builder().nodes(1).start().await.expect("start the CQL node");
    let config = store_tests::app::test_config(cluster.port());
    let session = store::db::session_builder(&config).build().await.unwrap();
    let ks = &config.keyspace;
    // The keyspace as the previous release created it: claims without the product.
    for statement in store::schema::statements(ks, &config.replication) {
        let old = statement.replace(", name text, price decimal, created_at timestamp)", ")");
        session.query_unpaged(old, &[]).await.unwrap();
    }
    session
        .query_unpaged(format!("INSERT INTO {ks}.products_by_sku (sku, product_id, committed) VALUES ('OLD-1', uuid(), true)"), &[])
        .await
        .unwrap();

    apply_schema(&config).await;
    store::schema::add_missing_columns(&session, ks).await.expect("add the columns");
    store::schema::add_missing_columns(&session, ks).await.expect("and again: nothing to add");

    let rows = session
        .query_unpaged(format!("SELECT sku, committed, name, price, created_at FROM {ks}.products_by_sku"), &[])
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    let rows: Vec<(String, bool, Option<String>)> =
        rows.rows::<(String, bool, Option<String>, Option<scylla::value::CqlDecimal>, Option<scylla::value::CqlTimestamp>)>()
            .unwrap()
            .map(|r| r.map(|(s, c, n, _, _)| (s, c, n)).unwrap())
            .collect();
    assert_eq!(rows, vec![("OLD-1".to_owned(), true, None)]);

    // The functions work on the upgraded keyspace; the old claim still holds its SKU.
    let db = store::Db::new(config.clone());
    let app_like = create_product::handler(&db, store_tests::app::post_request(&product("OLD-1").to_string(), &[("content-type", "application/json")])).await;
    assert_eq!(app_like.status().as_u16(), 409);
    let created = create_product::handler(&db, store_tests::app::post_request(&product("NEW-1").to_string(), &[("content-type", "application/json")])).await;
    assert_eq!(created.status().as_u16(), 201);
}
