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
async fn applying_the_schema_adds_the_claim_and_creator_columns_to_an_older_keyspace_and_keeps_its_rows() {
    use cql_node::cluster::Cluster;
    // A keyspace of its own: a node of its own, or a fresh keyspace on the external cluster.
    let (_node, config) = match store_tests::target::external() {
        Some(external) => (None, external.config()),
        None => {
            let cluster = Cluster::builder().nodes(1).start().await.expect("start the CQL node");
            let config = store_tests::app::test_config(cluster.port());
            (Some(cluster), config)
        }
    };
    let session = store::db::session_builder(&config).build().await.unwrap();
    let ks = &config.keyspace;
    // The keyspace as the releases before created it: claims without the product, and no
    // creator anywhere.
    // (The newest-first tables came later still: they are created by the apply below.)
    for statement in store::schema::statements(ks, &config.replication) {
        if statement.contains("newest") {
            continue;
        }
        let old = statement
            .replace(", created_by text)", ")")
            .replace(", name text, price decimal, created_at timestamp)", ")");
        assert!(!old.contains("created_by"), "{old}");
        session.query_unpaged(old, &[]).await.unwrap();
    }
    let old_id = uuid::Uuid::new_v4();
    session
        .query_unpaged(format!("INSERT INTO {ks}.products_by_sku (sku, product_id, committed) VALUES ('OLD-1', ?, true)"), (old_id,))
        .await
        .unwrap();
    session
        .query_unpaged(
            format!("INSERT INTO {ks}.products (id, name, sku, price, created_at) VALUES (?, 'Old', 'OLD-1', 1, 0)"),
            (old_id,),
        )
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
    let app_like = create_product::handler(&db, &store_tests::app::employees(), store_tests::app::post_request(&product("OLD-1").to_string(), &[("content-type", "application/json")])).await;
    assert_eq!(app_like.status().as_u16(), 409);
    let created = create_product::handler(&db, &store_tests::app::employees(), store_tests::app::post_request(&product("NEW-1").to_string(), &[("content-type", "application/json")])).await;
    assert_eq!(created.status().as_u16(), 201);
    // The old product is still there, with no creator; the new one names its creator.
    let listed = store_tests::app::TestResponse::from_response(
        list_products::handler(&db, store_tests::app::list_request(&[])).await,
    );
    let mut by_sku: Vec<(String, serde_json::Value)> = listed.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["sku"].as_str().unwrap().to_owned(), p["created_by"].clone()))
        .collect();
    by_sku.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by_sku,
        vec![
            ("NEW-1".to_owned(), serde_json::json!(store_tests::app::EMPLOYEE)),
            ("OLD-1".to_owned(), serde_json::Value::Null)
        ]
    );
}
