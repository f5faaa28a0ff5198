//! The query side's reads of one product (issue 14): `GET /products/{id}` and
//! `GET /products?sku=`, through the list function's handler, the driver and the CQL node.

use std::time::Duration;

use cql_node::faults::{Fault, FaultRegistry, Match};
use serde_json::{Value, json};
use store_tests::{TestResponse, product, spawn_app, spawn_app_configured};

const UNKNOWN_ID: &str = "6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7d";

/// The items of a page of a SKU: a 200 with no next page.
fn items(page: &TestResponse) -> Vec<Value> {
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json["next_cursor"], Value::Null, "{}", page.text);
    page.json["items"].as_array().expect("items").clone()
}

fn assert_bad_parameter(r: &TestResponse, field: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json["type"], "/problems/invalid-parameter", "{}", r.text);
    assert_eq!(r.json["field"], field, "{}", r.text);
}

#[tokio::test]
async fn a_created_product_is_read_at_its_location_as_it_is_listed() {
    let app = spawn_app().await;
    let created = app.post_product(&product("READ-1")).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap();
    assert_eq!(created.header("location"), Some(format!("/products/{id}").as_str()));

    let read = app.get_product(id).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.header("content-type"), Some("application/json"));
    assert_eq!(read.json, created.json);
    let listed = app.walk(50).await;
    assert_eq!(listed, vec![read.json.clone()]);
    // The same id in capitals names the same product.
    assert_eq!(app.get_product(&id.to_uppercase()).await.json, created.json);
}

#[tokio::test]
async fn a_replayed_create_carries_the_first_location() {
    let app = spawn_app().await;
    let first = app.post_with_key(&product("READ-KEY"), "k-read").await;
    let again = app.post_with_key(&product("READ-KEY"), "k-read").await;
    assert_eq!((first.status, again.status), (201, 201), "{} {}", first.text, again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let id = first.json["id"].as_str().unwrap();
    assert_eq!(first.header("location"), Some(format!("/products/{id}").as_str()));
    assert_eq!(again.header("location"), first.header("location"));
}

#[tokio::test]
async fn an_unknown_id_is_404_and_a_malformed_one_400_naming_id() {
    let app = spawn_app().await;
    assert_eq!(app.post_product(&product("READ-2")).await.status, 201);
    let missing = app.get_product(UNKNOWN_ID).await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_eq!(missing.header("content-type"), Some("application/problem+json"));
    assert_eq!(missing.json["type"], "/problems/not-found");
    assert!(missing.json["detail"].as_str().unwrap().contains(UNKNOWN_ID), "{}", missing.text);

    for bad in [
        "",
        "not-a-uuid",
        "123",
        "6f1d0c7e8d8a4b0e9d4c2f6a1c3b5e7d",
        "urn:uuid:6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7d",
        "6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7z",
        "READ-2",
    ] {
        assert_bad_parameter(&app.get_product(bad).await, "id");
    }
}

#[tokio::test]
async fn a_sku_reads_as_a_page_of_its_one_product_or_of_none() {
    let app = spawn_app().await;
    let tea = app.post_product(&product("TEA-1")).await;
    assert_eq!(tea.status, 201, "{}", tea.text);
    assert_eq!(app.post_product(&product("TEA-2")).await.status, 201);

    let page = app.list(&[("sku", "TEA-1")]).await;
    assert_eq!(items(&page), vec![tea.json.clone()]);
    // A limit is still checked, and harmless.
    assert_eq!(items(&app.list(&[("sku", "TEA-1"), ("limit", "1")]).await), vec![tea.json.clone()]);
    // SKUs are case-sensitive, and a SKU nothing holds is an empty page, not a 404.
    assert!(items(&app.list(&[("sku", "tea-1")]).await).is_empty());
    assert!(items(&app.list(&[("sku", "NONE-1")]).await).is_empty());
}

#[tokio::test]
async fn a_malformed_sku_or_a_sku_with_a_cursor_is_400() {
    let app = spawn_app().await;
    for sku in ["P-1", "P-2"] {
        assert_eq!(app.post_product(&product(sku)).await.status, 201);
    }
    let too_long = "a".repeat(65);
    for bad in ["", "-bad", "a/b", "a%20b", too_long.as_str()] {
        assert_bad_parameter(&app.list(&[("sku", bad)]).await, "sku");
    }
    let first = app.list(&[("limit", "1")]).await;
    let cursor = first.json["next_cursor"].as_str().expect("a second page").to_owned();
    assert_bad_parameter(&app.list(&[("sku", "P-1"), ("cursor", &cursor)]).await, "cursor");
    assert_bad_parameter(&app.list(&[("sku", "P-1"), ("limit", "0")]).await, "limit");
}

#[tokio::test]
async fn a_sku_whose_create_is_pending_is_not_shown_until_committed() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let faults = FaultRegistry::new();
    let app = spawn_app_configured(faults.clone(), |c| c.create_deadline = Duration::from_secs(8)).await;
    app.list_db.warm_up().await.unwrap();
    // The node holds the commit: the claim stays pending meanwhile.
    let held = faults.inject(Fault::latency(Duration::from_secs(3)).matching(Match::TextContains("SET committed = true".into())).times(1));
    let body = product("PEND-1");
    let create = app.post_product(&body);
    let read_while_pending = async {
        app.fired(held, 1).await;
        app.list(&[("sku", "PEND-1")]).await
    };
    let (created, pending) = tokio::join!(create, read_while_pending);
    assert!(items(&pending).is_empty(), "a create in progress was shown: {}", pending.text);
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(items(&app.list(&[("sku", "PEND-1")]).await), vec![created.json.clone()]);
}

#[tokio::test]
async fn a_claim_committed_before_claims_carried_the_product_reads_its_row() {
    let app = spawn_app().await;
    let session = store::db::session_builder(&app.config).build().await.expect("connect");
    let ks = &app.config.keyspace;
    let id = uuid::Uuid::new_v4();
    // As the earlier protocol left them: the claim names only the id; the product is its row.
    session
        .query_unpaged(
            format!("INSERT INTO {ks}.products_by_sku (sku, product_id, committed) VALUES ('OLD-1', ?, true)"),
            (id,),
        )
        .await
        .unwrap();
    session
        .query_unpaged(
            format!("INSERT INTO {ks}.products (id, name, sku, price, created_at) VALUES (?, 'Old', 'OLD-1', 12.5, 1700000000123)"),
            (id,),
        )
        .await
        .unwrap();
    // And a committed old claim whose row was never written: nothing to show.
    session
        .query_unpaged(
            format!("INSERT INTO {ks}.products_by_sku (sku, product_id, committed) VALUES ('OLD-2', ?, true)"),
            (uuid::Uuid::new_v4(),),
        )
        .await
        .unwrap();

    let expected = json!({"id": id.to_string(), "name": "Old", "sku": "OLD-1", "price": "12.50", "created_at": "2023-11-14T22:13:20.123Z", "created_by": null});
    assert_eq!(items(&app.list(&[("sku", "OLD-1")]).await), vec![expected.clone()]);
    assert_eq!(app.get_product(&id.to_string()).await.json, expected);
    assert!(items(&app.list(&[("sku", "OLD-2")]).await).is_empty());
}
