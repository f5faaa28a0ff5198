//! The `cql-node` binary as documented: `--help`, serving on the port it logs, clean exit on
//! SIGTERM.

use crate::support;

use std::net::SocketAddr;
use std::process::Stdio;

use support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cql-node");

#[tokio::test]
async fn help_lists_the_documented_options() {
    let out = Command::new(BIN).arg("--help").output().await.unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for opt in ["--port", "--bind", "--data-dir", "--user", "CQL_NODE_USERS", "test double"] {
        assert!(text.contains(opt), "--help lacks {opt}:\n{text}");
    }
}

#[tokio::test]
async fn serves_cql_and_exits_cleanly_on_sigterm() {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--user", "admin:secret-pw"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut log = String::new();
    let addr: SocketAddr = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            log.push_str(&line);
            log.push('\n');
            if let Some(rest) = line.split("addr=").nth(1) {
                return rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        }
        panic!("the binary exited before listening:\n{log}");
    })
    .await
    .expect("the binary logs its address");
    assert!(!log.contains("secret-pw"), "passwords never reach the logs");

    // It asks for PasswordAuthenticator, as configured.
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(&frame(4, 0, 1, 0x01, &startup_body())).await.unwrap();
    let r = read_response(&mut conn).await;
    assert_eq!(r.opcode, 0x03, "AUTHENTICATE");
    assert!(String::from_utf8_lossy(&r.body).contains("org.apache.cassandra.auth.PasswordAuthenticator"));

    let pid = child.id().expect("running").to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(WAIT, child.wait()).await.expect("exits after SIGTERM").unwrap();
    assert!(status.success(), "clean exit, got {status}");
}
