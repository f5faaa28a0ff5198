//! Twenty clients create one SKU at once, each through one of five function containers (five
//! sessions), on a node whose lightweight transactions compete for Paxos ballots as Cassandra's
//! do: a contended round may time out, or end "result unknown" either way. What must hold
//! whatever the interleaving: one product; every answer its 201, a 409 naming it, or a 503 with
//! Retry-After saying whether a product may exist; and a retry of each 503 (same
//! Idempotency-Key, or none) ends on that product: 201 for its owner, 409 for the others.

use std::sync::Arc;

use cql_node::engine::paxos::PaxosConfig;
use serde_json::Value;
use store::Db;
use store_tests::app::{TestApp, TestResponse, employees, post_request};
use store_tests::{product, spawn_app, spawn_app_with_paxos};

/// How many times a 503 is retried before the test calls it stuck.
const RETRIES: usize = 5;

async fn create(db: &Db, sku: &str, key: Option<&str>) -> TestResponse {
    let body = product(sku).to_string();
    let mut headers = vec![("content-type", "application/json")];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    let r = create_product::handler(db, &employees(), post_request(&body, &headers)).await;
    TestResponse::from_response(r)
}

/// A 503 as the API must give it: Retry-After, and whether the product may exist.
fn outcome_of_503(r: &TestResponse) -> &str {
    assert!(r.header("retry-after").is_some(), "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    match r.json["outcome"].as_str() {
        Some(o @ ("unknown" | "not_created")) => o,
        other => panic!("503 without an outcome: {other:?} {}", r.text),
    }
}

/// The product an answer names (201: its id; 409: the holder's), or `None` for a 503.
fn named(r: &TestResponse) -> Option<Value> {
    match r.status {
        201 => Some(r.json["id"].clone()),
        409 => Some(r.json["existing_id"].clone()),
        503 => {
            outcome_of_503(r);
            None
        }
        other => panic!("unexpected {other}: {}", r.text),
    }
}

async fn twenty_creates_of_one_sku(app: &TestApp, sku: &str) {
    let containers: Vec<Arc<Db>> = (0..5).map(|_| Arc::new(Db::new(app.config.clone()))).collect();
    for db in &containers {
        db.warm_up().await.expect("connect");
    }
    // Half the clients send an Idempotency-Key (each its own), half none.
    let key = |i: usize| i.is_multiple_of(2).then(|| format!("{sku}-client-{i}"));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (db, sku, key) = (containers[i % containers.len()].clone(), sku.to_string(), key(i));
        tasks.push(tokio::spawn(async move { create(&db, &sku, key.as_deref()).await }));
    }
    let mut first = Vec::new();
    for t in tasks {
        first.push(t.await.expect("client"));
    }
    let mut product: Option<Value> = None;
    let mut agree = |id: Value, who: String| match &product {
        Some(p) => assert_eq!(*p, id, "{who} names another product"),
        None => product = Some(id),
    };
    let mut created_by = Vec::new();
    let mut unknown_unkeyed = false;
    for (i, r) in first.iter().enumerate() {
        if let Some(id) = named(r) {
            agree(id, format!("client {i}"));
        }
        match r.status {
            201 => created_by.push(i),
            503 => unknown_unkeyed |= key(i).is_none() && outcome_of_503(r) == "unknown",
            _ => {}
        }
    }
    assert!(created_by.len() <= 1, "two 201s: {created_by:?}");
    // Each 503 is retried as its client would: the same key, or none.
    let statuses: Vec<u16> = first.iter().map(|r| r.status).collect();
    println!("{sku}: first answers {statuses:?}");
    for i in (0..first.len()).filter(|i| first[*i].status == 503) {
        let db = &containers[i % containers.len()];
        let retry = 'retry: {
            for _ in 0..RETRIES {
                let retry = create(db, sku, key(i).as_deref()).await;
                if retry.status != 503 {
                    break 'retry retry;
                }
                outcome_of_503(&retry);
            }
            panic!("client {i}: still 503 after {RETRIES} retries");
        };
        agree(named(&retry).expect("settled"), format!("client {i}'s retry"));
        if retry.status == 201 {
            assert!(key(i).is_some(), "a retry without a key is a new request: it cannot own the product");
            created_by.push(i);
        }
    }
    let product = product.expect("some answer names the product");
    // The owner gets its 201, unless it had no key and its own answer was lost in a 503.
    assert!(created_by.len() == 1 || (created_by.is_empty() && unknown_unkeyed), "201s: {created_by:?}");
    let listed: Vec<Value> = app.walk(100).await.into_iter().filter(|p| p["sku"] == sku).collect();
    assert_eq!(listed.len(), 1, "one product: {listed:?}");
    assert_eq!(listed[0]["id"], product);
    let by_sku = app.list(&[("sku", sku)]).await;
    assert_eq!(by_sku.json["items"][0]["id"], product);
}

#[tokio::test]
async fn twenty_concurrent_creates_of_one_sku_make_one_product() {
    let app = spawn_app().await;
    twenty_creates_of_one_sku(&app, "RACE-1").await;
}

/// Ten times the node's default share of "result unknown", so that the paths a real cluster
/// takes now and then (a claim asked again, a 503 and its retry) are taken in every run.
fn many_unknowns() -> PaxosConfig {
    PaxosConfig { unknown_rate: 0.35, seed: 13, ..Default::default() }
}

#[tokio::test]
async fn twenty_creates_of_one_sku_converge_on_one_product_when_paxos_rounds_often_end_unknown() {
    store_tests::requires_cql_node!(store_tests::target::PAXOS);
    let app = spawn_app_with_paxos(many_unknowns()).await;
    for round in 0..3 {
        twenty_creates_of_one_sku(&app, &format!("RACE-U{round}")).await;
    }
}

/// Concurrent retries under one Idempotency-Key, as a client whose answers were lost sends
/// them: every answer is the one product's 201, or a 503 whose retry is.
async fn retries_under_one_key(app: &TestApp, sku: &str, key: &str) {
    let body = product(sku);
    let answers = futures::future::join_all((0..6).map(|_| app.post_with_key(&body, key))).await;
    let mut id: Option<Value> = None;
    for r in &answers {
        let settled = if r.status == 503 {
            assert_eq!(outcome_of_503(r), "unknown", "a keyed create never knows it did not create");
            let mut retry = app.post_with_key(&body, key).await;
            for _ in 1..RETRIES {
                if retry.status != 503 {
                    break;
                }
                retry = app.post_with_key(&body, key).await;
            }
            retry
        } else {
            r.clone()
        };
        assert_eq!(settled.status, 201, "{}", settled.text);
        match &id {
            Some(id) => assert_eq!(*id, settled.json["id"]),
            None => id = Some(settled.json["id"].clone()),
        }
    }
    let listed: Vec<Value> = app.walk(100).await.into_iter().filter(|p| p["sku"] == sku).collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(Some(&listed[0]["id"]), id.as_ref());
}

#[tokio::test]
async fn concurrent_retries_with_one_key_make_one_product() {
    let app = spawn_app().await;
    retries_under_one_key(&app, "IDEM-4", "key-4").await;
}

#[tokio::test]
async fn concurrent_retries_with_one_key_converge_when_paxos_rounds_often_end_unknown() {
    store_tests::requires_cql_node!(store_tests::target::PAXOS);
    let app = spawn_app_with_paxos(many_unknowns()).await;
    for round in 0..3 {
        retries_under_one_key(&app, &format!("IDEM-U{round}"), &format!("key-u{round}")).await;
    }
}
