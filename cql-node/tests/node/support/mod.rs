//! Shared by the protocol/client integration tests: start a node, connect the scylla driver
//! with its default settings, speak raw frames, find the Python tools.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use cql_node::server::Node;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub mod tools;

/// Upper bound for anything a test waits on; never a synchronisation sleep.
pub const WAIT: Duration = Duration::from_secs(30);

pub async fn node() -> Node {
    Node::start_default().await.expect("node starts on 127.0.0.1:0")
}

/// The scylla driver with its DEFAULT session config (schema metadata fetching on).
pub async fn session(addr: SocketAddr) -> Session {
    tokio::time::timeout(WAIT, SessionBuilder::new().known_node_addr(addr).build())
        .await
        .expect("driver connects in time")
        .expect("driver connects")
}

pub async fn keyspace(session: &Session, ks: &str) {
    session
        .query_unpaged(
            format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
            (),
        )
        .await
        .expect("create keyspace");
}

/// The server error inside a driver error, if that is what it is.
pub fn db_error(err: &ExecutionError) -> Option<(&DbError, &str)> {
    match err {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(e, msg)) => Some((e, msg.as_str())),
        _ => None,
    }
}

/// A raw v4 request frame.
pub fn frame(version: u8, flags: u8, stream: i16, opcode: u8, body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    out.put_u8(version);
    out.put_u8(flags);
    out.put_i16(stream);
    out.put_u8(opcode);
    out.put_u32(body.len() as u32);
    out.put_slice(body);
    out.to_vec()
}

/// A STARTUP body with CQL_VERSION 3.0.0.
pub fn startup_body() -> Vec<u8> {
    let mut b = BytesMut::new();
    b.put_u16(1);
    for s in ["CQL_VERSION", "3.0.0"] {
        b.put_u16(s.len() as u16);
        b.put_slice(s.as_bytes());
    }
    b.to_vec()
}

/// One response frame: (version byte, stream, opcode, body).
pub struct RawResponse {
    pub version: u8,
    pub stream: i16,
    pub opcode: u8,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// For an ERROR frame: (code, message).
    pub fn error(&self) -> (i32, String) {
        assert_eq!(self.opcode, 0x00, "expected an ERROR frame");
        let code = i32::from_be_bytes(self.body[0..4].try_into().unwrap());
        let len = u16::from_be_bytes([self.body[4], self.body[5]]) as usize;
        (code, String::from_utf8_lossy(&self.body[6..6 + len]).into_owned())
    }
}

pub async fn read_response(conn: &mut TcpStream) -> RawResponse {
    tokio::time::timeout(WAIT, async {
        let mut h = [0u8; 9];
        conn.read_exact(&mut h).await.expect("a response header");
        let len = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) as usize;
        let mut body = vec![0; len];
        conn.read_exact(&mut body).await.expect("a response body");
        RawResponse { version: h[0], stream: i16::from_be_bytes([h[2], h[3]]), opcode: h[4], body }
    })
    .await
    .expect("response in time")
}

/// Waits until the server closes the connection (EOF), within the bound.
pub async fn assert_closed(conn: &mut TcpStream) {
    let mut buf = [0u8; 64];
    // A reset counts as closed too.
    let n = tokio::time::timeout(WAIT, conn.read(&mut buf)).await.expect("connection closed in time").unwrap_or(0);
    assert_eq!(n, 0, "the server should close the connection");
}

pub async fn raw_ready(addr: SocketAddr) -> TcpStream {
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    conn.write_all(&frame(4, 0, 1, 0x01, &startup_body())).await.unwrap();
    let r = read_response(&mut conn).await;
    assert_eq!(r.opcode, 0x02, "READY");
    conn
}

/// A tool the tests drive (python3, cqlsh): the project's .venv first, then PATH.
#[allow(unused_imports)] // not every test binary drives a tool
pub use tools::tool;

/// Runs a client process to completion (bounded), returning (success, stdout, stderr).
pub async fn run_tool(program: &PathBuf, args: &[&str]) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{program:?} {args:?} did not finish in time"))
        .expect("the client process runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
