//! The `cql-node` binary's fault admin API, driven from outside its process: a real HTTP
//! client injects, the real scylla driver observes.

use crate::keyspaces_common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use keyspaces_common::{db_error, wait_for};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::DbError;
use scylla::policies::retry::FallthroughRetryPolicy;
use serde_json::json;

/// Kills the child when the test ends, however it ends.
struct Running(Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_injected_over_http_reach_the_driver() {
    let (cql_port, admin_port) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_cql-node"))
        .args(["--port", &cql_port.to_string(), "--admin", &format!("127.0.0.1:{admin_port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let _child = Running(child);
    let base = format!("http://127.0.0.1:{admin_port}/faults");
    let http = reqwest::Client::new();
    let ready = wait_for(Duration::from_secs(30), || async { http.get(&base).send().await.ok().filter(|r| r.status().is_success()) }).await;
    assert!(ready.is_some(), "admin API never answered");

    let profile = ExecutionProfile::builder().retry_policy(Arc::new(FallthroughRetryPolicy)).build();
    let session = SessionBuilder::new()
        .known_node(format!("127.0.0.1:{cql_port}"))
        .default_execution_profile_handle(profile.into_handle())
        .build()
        .await
        .expect("driver connects to the binary");
    let probe = "SELECT release_version FROM system.local";

    let injected = http.post(&base).json(&json!({"kind": "server_error", "matching": {"text_contains": "release_version"}, "times": 1})).send().await.unwrap();
    assert_eq!(injected.status(), reqwest::StatusCode::CREATED);
    let err = session.query_unpaged(probe, ()).await.expect_err("the injected fault fires");
    assert_eq!(db_error(&err).map(|(d, _)| d.clone()), Some(DbError::ServerError));
    session.query_unpaged(probe, ()).await.expect("times(1) is spent");

    // The binary's admin API reaches its engine's clock too.
    let clock = format!("http://127.0.0.1:{admin_port}/clock");
    let moved: serde_json::Value = http.post(&clock).json(&json!({"advance_millis": 5000})).send().await.unwrap().json().await.unwrap();
    assert_eq!(moved["offset_millis"].as_u64(), Some(5000));
}
