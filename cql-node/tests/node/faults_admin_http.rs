//! Faults driven from outside the process: the admin HTTP API with a real HTTP client, the
//! effect observed by the real scylla driver.

use crate::keyspaces_common;


use cql_node::cluster::Cluster;
use cql_node::faults::admin;
use keyspaces_common::db_error;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::errors::DbError;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inject_list_and_clear_over_http() {
    let cluster = Cluster::builder().nodes(1).start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(admin::serve(listener, cluster.faults().clone()));
    let base = format!("http://{admin_addr}/faults");
    let http = reqwest::Client::new();

    let session = keyspaces_common::session_without_retries(cluster.node_addr(0), ExecutionProfile::builder()).await;
    let probe = "SELECT release_version FROM system.local";

    let created = http
        .post(&base)
        .json(&json!({"kind": "overloaded", "matching": {"text_contains": "system.local"}, "times": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"].as_u64().expect("an id");

    let err = session.query_unpaged(probe, ()).await.expect_err("fault fires");
    assert_eq!(db_error(&err).map(|(d, _)| d.clone()), Some(DbError::Overloaded));

    let listed: Value = http.get(&base).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed[0]["id"].as_u64(), Some(id));
    assert_eq!(listed[0]["fired"].as_u64(), Some(1));
    assert_eq!(listed[0]["fault"]["kind"], "overloaded");

    let cleared = http.delete(&base).send().await.unwrap();
    assert_eq!(cleared.status(), reqwest::StatusCode::NO_CONTENT);
    session.query_unpaged(probe, ()).await.expect("cleared before its second firing");

    let by_kind = http.post(&base).json(&json!({"kind": "is_bootstrapping", "matching": {"kind": "select"}})).send().await.unwrap();
    let id = by_kind.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let err = session.query_unpaged(probe, ()).await.expect_err("fault fires");
    assert_eq!(db_error(&err).map(|(d, _)| d.clone()), Some(DbError::IsBootstrapping));
    assert_eq!(http.delete(format!("{base}/{id}")).send().await.unwrap().status(), reqwest::StatusCode::NO_CONTENT);
    assert_eq!(http.delete(format!("{base}/{id}")).send().await.unwrap().status(), reqwest::StatusCode::NOT_FOUND);
    session.query_unpaged(probe, ()).await.expect("removed");

    let bad = http.post(&base).json(&json!({"kind": "no_such_fault"})).send().await.unwrap();
    assert!(bad.status().is_client_error());

    server.abort();
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_apply_faults_and_the_clock_over_http() {
    let cluster = Cluster::builder().nodes(1).start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(admin::serve(listener, cluster.faults().clone()));
    let (faults, clock) = (format!("http://{admin_addr}/faults"), format!("http://{admin_addr}/clock"));
    let http = reqwest::Client::new();
    let session = keyspaces_common::session_without_retries(cluster.node_addr(0), ExecutionProfile::builder()).await;
    for q in [
        "CREATE KEYSPACE h WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE h.kv (k text PRIMARY KEY, v text)",
    ] {
        session.query_unpaged(q, ()).await.unwrap();
    }
    let count = |k: &'static str| {
        let session = &session;
        async move {
            let result = session.query_unpaged("SELECT v FROM h.kv WHERE k = ?", (k,)).await.unwrap();
            result.into_rows_result().unwrap().rows_num()
        }
    };

    let shown: Value = http.get(&clock).send().await.unwrap().json().await.unwrap();
    assert_eq!((shown["offset_millis"].as_u64(), shown["frozen"].as_bool()), (Some(0), Some(false)));
    let frozen: Value = http.post(&clock).json(&json!({"freeze": true})).send().await.unwrap().json().await.unwrap();
    assert_eq!(frozen["frozen"], true);

    // A write that applies, then times out.
    let fault = json!({"kind": "write_timeout", "matching": {"kind": "insert"}, "times": 1, "after_apply": true});
    assert_eq!(http.post(&faults).json(&fault).send().await.unwrap().status(), reqwest::StatusCode::CREATED);
    let listed: Value = http.get(&faults).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed[0]["fault"]["after_apply"], true);
    let err = session.query_unpaged("INSERT INTO h.kv (k, v) VALUES ('a', 'x') USING TTL 60", ()).await.expect_err("fault fires");
    assert!(matches!(db_error(&err), Some((DbError::WriteTimeout { .. }, _))), "{err:?}");
    assert_eq!(count("a").await, 1, "applied despite the timeout");
    // after_apply makes no sense for an error decided before anything is sent.
    let refused = http.post(&faults).json(&json!({"kind": "overloaded", "after_apply": true})).send().await.unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);

    // The clock, frozen before the write so "1 s before its TTL" is exact, then advanced past it.
    let moved: Value = http.post(&clock).json(&json!({"advance_millis": 59_000})).send().await.unwrap().json().await.unwrap();
    assert_eq!(moved["offset_millis"].as_u64(), Some(59_000));
    assert_eq!(moved["now_micros"].as_i64().unwrap() - frozen["now_micros"].as_i64().unwrap(), 59_000_000);
    assert_eq!(count("a").await, 1, "one second left");
    http.post(&clock).json(&json!({"advance_millis": 1_000})).send().await.unwrap();
    assert_eq!(count("a").await, 0, "the TTL ran out");
    assert_eq!(cluster.clock().offset(), std::time::Duration::from_secs(60), "the API moved the cluster's own clock");
    let backwards = http.post(&clock).json(&json!({"advance_millis": -1_000})).send().await.unwrap();
    assert!(backwards.status().is_client_error(), "the clock never goes back");

    server.abort();
    cluster.stop().await;
}

#[tokio::test]
async fn a_registry_without_a_clock_says_so() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(admin::serve(listener, cql_node::faults::FaultRegistry::new()));
    let got = reqwest::get(format!("http://{addr}/clock")).await.unwrap();
    assert_eq!(got.status(), reqwest::StatusCode::NOT_FOUND);
    server.abort();
}
