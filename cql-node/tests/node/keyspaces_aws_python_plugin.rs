//! AWS's own SigV4 plugin for the Python driver (PyPI `cassandra-sigv4`, installed by
//! scripts/install-test-deps.sh), unchanged, against the Keyspaces profile over verified TLS:
//! what the plugin sends is what the node accepts, and a wrong secret is refused.

use std::path::PathBuf;
use std::process::Stdio;

use cql_node::cluster::Cluster;
use cql_node::keyspaces::{AwsCredential, KeyspacesConfig, KeyspacesProfile};

use crate::support::tools;

const REGION: &str = "us-west-2";

fn script() -> String {
    format!("{}/tests/node/keyspaces_common/aws_python_plugin_check.py", env!("CARGO_MANIFEST_DIR"))
}

async fn run(args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let python = tools::tool("python3");
    // The client blocks; keep it off the runtime the node is serving on.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python).arg(script()).args(&args).stdin(Stdio::null()).output()
    })
    .await
    .unwrap()
    .expect("python3 runs (scripts/install-test-deps.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "plugin check crashed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_python_plugin_authenticates_and_a_wrong_secret_is_refused() {
    let config = KeyspacesConfig::new(REGION)
        .aws_credential(AwsCredential::new("AKIDPYTHON", "python-secret"))
        .aws_credential(AwsCredential::new("ASIAPYTHON", "temp-secret").with_session_token("py-session-token"))
        .service_credential("bob-at-111122223333", "service-pw");
    let profile = KeyspacesProfile::new(config).unwrap();
    let dir: PathBuf = std::env::temp_dir().join(format!("cql-node-kspy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    profile.tls.write_ca_pem(&ca).unwrap();
    let cluster = Cluster::builder().nodes(1).keyspaces(profile).start().await.unwrap();
    let port = cluster.port().to_string();
    let ca = ca.to_string_lossy().to_string();

    let out = run(&[&port, &ca, REGION, "AKIDPYTHON", "python-secret"]).await;
    assert_eq!(out.trim(), "OK 3.11.2", "permanent credentials");
    let out = run(&[&port, &ca, REGION, "ASIAPYTHON", "temp-secret", "py-session-token"]).await;
    assert_eq!(out.trim(), "OK 3.11.2", "temporary credentials with their token");
    let out = run(&[&port, &ca, REGION, "--service-user", "bob-at-111122223333", "service-pw"]).await;
    assert_eq!(out.trim(), "OK 3.11.2", "service-specific credentials");

    let out = run(&[&port, &ca, REGION, "AKIDPYTHON", "wrong-secret"]).await;
    assert!(out.starts_with("REFUSED") && out.contains("signature we calculated does not match"), "{out}");
    let out = run(&[&port, &ca, REGION, "ASIAPYTHON", "temp-secret"]).await;
    assert!(out.starts_with("REFUSED") && out.contains("session token is required"), "{out}");

    cluster.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
