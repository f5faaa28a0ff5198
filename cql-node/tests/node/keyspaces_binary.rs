//! The `cql-node` binary in the Keyspaces profile: three TLS endpoints on 127.0.0.1-3, the CA
//! written where asked, SigV4 with credentials given on the command line.

use crate::keyspaces_common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use cql_node::keyspaces::AwsCredential;
use keyspaces_common::{TestSigV4, client_tls, wait_for};
use scylla::client::session_builder::SessionBuilder;

struct Running(Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_a_three_endpoint_keyspaces() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("cql-node-ksbin-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let child = Command::new(env!("CARGO_BIN_EXE_cql-node"))
        .args(["--profile", "keyspaces", "--region", "eu-north-1", "--nodes", "3", "--port", &port.to_string()])
        .arg("--ca-out")
        .arg(&ca)
        .args(["--aws-credential", "AKIDBINARY:binary-secret", "--creating-ms", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let _child = Running(child);

    let auth = Arc::new(TestSigV4::new(AwsCredential::new("AKIDBINARY", "binary-secret"), "eu-north-1"));
    let connect = || async {
        if !ca.exists() {
            return None;
        }
        SessionBuilder::new()
            .known_node(format!("127.0.0.1:{port}"))
            .tls_context(Some(client_tls(&ca, "cassandra.eu-north-1.amazonaws.com")))
            .authenticator_provider(auth.clone())
            .build()
            .await
            .ok()
    };
    let session = wait_for(Duration::from_secs(30), connect).await.expect("the binary accepts a verified TLS + SigV4 client");
    let peers = session.query_unpaged("SELECT peer FROM system.peers", ()).await.unwrap().into_rows_result().unwrap();
    assert_eq!(peers.rows_num(), 2);
    let local = session.query_unpaged("SELECT data_center FROM system.local", ()).await.unwrap().into_rows_result().unwrap();
    assert_eq!(local.single_row::<(String,)>().unwrap().0, "eu-north-1");
    let all_up = wait_for(Duration::from_secs(20), || async {
        (session.get_cluster_state().get_nodes_info().iter().filter(|n| n.is_connected()).count() == 3).then_some(())
    })
    .await;
    assert!(all_up.is_some(), "the driver reached all three endpoints");
    let _ = std::fs::remove_dir_all(&dir);
}
