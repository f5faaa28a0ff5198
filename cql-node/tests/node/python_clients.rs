//! The Python cassandra-driver and cqlsh from PyPI, unchanged and with default settings,
//! against a node started here. Both must be on PATH (scripts/install-test-deps.sh).

use crate::support;

use std::sync::Arc;

use cql_node::auth::PasswordAuthenticator;
use cql_node::server::Node;
use support::*;

fn script() -> String {
    format!("{}/tests/node/clients/python_driver_check.py", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn python_driver_negotiates_v4_and_loads_schema_metadata() {
    let python = tool("python3");
    let node = node().await;
    let port = node.addr().port().to_string();
    let (ok, out, err) = run_tool(&python, &[&script(), "--host", "127.0.0.1", "--port", &port]).await;
    assert!(ok, "python driver check failed:\n{out}\n{err}");
    for expected in ["OK connected, protocol version 4", "OK prepared insert and select: item3 3", "OK full scan 5", "OK schema metadata"] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}\n{err}");
    }
    node.stop().await;
}

#[tokio::test]
async fn python_driver_with_password_authentication() {
    let python = tool("python3");
    let auth = PasswordAuthenticator::new([("py".to_string(), "pw".to_string())]);
    let node = Node::builder().authenticator(Arc::new(auth)).start().await.unwrap();
    let port = node.addr().port().to_string();
    let (ok, out, err) =
        run_tool(&python, &[&script(), "--host", "127.0.0.1", "--port", &port, "--user", "py", "--password", "pw"]).await;
    assert!(ok && out.contains("OK schema metadata"), "authenticated run failed:\n{out}\n{err}");
    let (ok, out, err) = run_tool(
        &python,
        &[&script(), "--host", "127.0.0.1", "--port", &port, "--user", "py", "--password", "nope", "--expect-auth-failure"],
    )
    .await;
    assert!(ok, "wrong password was not refused:\n{out}\n{err}");
    assert!(out.contains("Provided username py and/or password are incorrect"), "{out}");
    node.stop().await;
}

async fn cqlsh(port: u16, args: &[&str]) -> String {
    let cqlsh = tool("cqlsh");
    let port = port.to_string();
    let mut all = vec!["127.0.0.1", port.as_str()];
    all.extend_from_slice(args);
    let (ok, out, err) = run_tool(&cqlsh, &all).await;
    assert!(ok, "cqlsh {args:?} failed:\n{out}\n{err}");
    // cqlsh reports statement errors on stderr yet may exit 0 with -e.
    assert!(!err.contains("Error"), "cqlsh {args:?} reported an error:\n{out}\n{err}");
    out
}

#[tokio::test]
async fn cqlsh_creates_inserts_selects_and_describes() {
    tool("cqlsh");
    let node = node().await;
    let port = node.addr().port();
    cqlsh(port, &["-e", "CREATE KEYSPACE shop WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"]).await;
    let file = std::env::temp_dir().join(format!("cql-node-cqlsh-{}.cql", std::process::id()));
    std::fs::write(
        &file,
        "CREATE TABLE shop.products (id int PRIMARY KEY, name text, price decimal);\n\
         INSERT INTO shop.products (id, name, price) VALUES (1, 'pen', 1.50);\n\
         INSERT INTO shop.products (id, name, price) VALUES (2, 'ink', 3.25);\n",
    )
    .unwrap();
    cqlsh(port, &["-f", file.to_str().unwrap()]).await;
    let _ = std::fs::remove_file(&file);

    let out = cqlsh(port, &["-e", "SELECT id, name, price FROM shop.products WHERE id = 2"]).await;
    assert!(out.contains("ink") && out.contains("3.25") && out.contains("(1 rows)"), "{out}");

    let out = cqlsh(port, &["-e", "DESCRIBE KEYSPACES"]).await;
    for ks in ["shop", "system", "system_schema"] {
        assert!(out.split_whitespace().any(|w| w == ks), "DESCRIBE KEYSPACES lacks {ks}:\n{out}");
    }

    let out = cqlsh(port, &["-e", "DESCRIBE CLUSTER"]).await;
    assert!(out.contains("Cluster: Test Cluster") && out.contains("Partitioner: org.apache.cassandra.dht.Murmur3Partitioner"), "{out}");

    let out = cqlsh(port, &["-e", "DESCRIBE TABLE shop.products"]).await;
    assert!(out.contains("CREATE TABLE shop.products"), "{out}");
    assert!(out.contains("id int PRIMARY KEY") || out.contains("PRIMARY KEY (id)"), "{out}");
    assert!(out.contains("name text") && out.contains("price decimal"), "{out}");
    node.stop().await;
}
