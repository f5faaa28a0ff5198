//! Faults driven from outside the process: the admin HTTP API with a real HTTP client, the
//! effect observed by the real scylla driver.

mod keyspaces_common;

use std::sync::Arc;

use cql_node::cluster::Cluster;
use cql_node::faults::admin;
use keyspaces_common::db_error;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::DbError;
use scylla::policies::retry::FallthroughRetryPolicy;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inject_list_and_clear_over_http() {
    let cluster = Cluster::builder().nodes(1).start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(admin::serve(listener, cluster.faults().clone()));
    let base = format!("http://{admin_addr}/faults");
    let http = reqwest::Client::new();

    let profile = ExecutionProfile::builder().retry_policy(Arc::new(FallthroughRetryPolicy)).build();
    let session = SessionBuilder::new()
        .known_node_addr(cluster.node_addr(0))
        .default_execution_profile_handle(profile.into_handle())
        .build()
        .await
        .unwrap();
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
