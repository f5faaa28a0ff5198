//! PasswordAuthenticator through the real driver, and the request hook's three actions.

use crate::support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cql_node::auth::PasswordAuthenticator;
use cql_node::engine::StatementKind;
use cql_node::error::{CqlError, ErrorKind};
use cql_node::server::{HookDecision, Node, Operation, RequestInfo};
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{DbError, NewSessionError};
use support::*;

async fn auth_node() -> Node {
    let auth = PasswordAuthenticator::new([("app".to_string(), "right-pass".to_string())]);
    Node::builder().authenticator(Arc::new(auth)).start().await.unwrap()
}

async fn connect_as(addr: SocketAddr, user: &str, password: &str) -> Result<scylla::client::session::Session, NewSessionError> {
    tokio::time::timeout(WAIT, SessionBuilder::new().known_node_addr(addr).user(user, password).build())
        .await
        .expect("connect attempt finishes")
}

#[tokio::test]
async fn right_password_connects_and_works() {
    let node = auth_node().await;
    let session = connect_as(node.addr(), "app", "right-pass").await.expect("authenticated");
    keyspace(&session, "a").await;
    node.stop().await;
}

#[tokio::test]
async fn wrong_password_gets_cassandras_authentication_error() {
    let node = auth_node().await;
    let err = connect_as(node.addr(), "app", "wrong").await.expect_err("refused");
    let text = format!("{err:?}");
    assert!(text.contains("AuthenticationError"), "{text}");
    assert!(text.contains("Provided username app and/or password are incorrect"), "{text}");
    node.stop().await;
}

#[tokio::test]
async fn no_credentials_when_required_is_refused() {
    let node = auth_node().await;
    let err = tokio::time::timeout(WAIT, SessionBuilder::new().known_node_addr(node.addr()).build()).await.unwrap().err();
    assert!(err.is_some(), "a client without credentials cannot connect");
    node.stop().await;
}

#[tokio::test]
async fn hook_sees_kind_text_and_consistency_and_can_fail_a_request() {
    let node = Node::builder()
        .hook(Arc::new(|req: &RequestInfo<'_>| {
            if req.kind == StatementKind::Insert && req.query.contains("hooked.t") && req.operation == Operation::Query {
                assert!(req.consistency.is_some());
                HookDecision::fail(CqlError::new(ErrorKind::Overloaded, "injected overload"))
            } else {
                HookDecision::proceed()
            }
        }))
        .start()
        .await
        .unwrap();
    let session = session(node.addr()).await;
    keyspace(&session, "hooked").await;
    session.query_unpaged("CREATE TABLE hooked.t (k int PRIMARY KEY)", ()).await.unwrap();
    let err = session.query_unpaged("INSERT INTO hooked.t (k) VALUES (1)", ()).await.unwrap_err();
    let (db, msg) = db_error(&err).expect("a server error");
    assert_eq!((db, msg), (&DbError::Overloaded, "injected overload"));
    // Other statements proceed.
    session.query_unpaged("SELECT * FROM hooked.t", ()).await.unwrap();
    node.stop().await;
}

#[tokio::test]
async fn hook_can_delay_then_drop_every_connection() {
    let armed = Arc::new(AtomicBool::new(false));
    let flag = armed.clone();
    let node = Node::builder()
        .hook(Arc::new(move |req: &RequestInfo<'_>| {
            if req.query.contains("boom") && flag.swap(false, Ordering::SeqCst) {
                HookDecision::drop_connections().with_delay(Duration::from_millis(10))
            } else {
                HookDecision::proceed()
            }
        }))
        .start()
        .await
        .unwrap();
    let mut bystander = raw_ready(node.addr()).await;
    let session = session(node.addr()).await;
    keyspace(&session, "boom").await;
    armed.store(true, Ordering::SeqCst);
    let err = session.query_unpaged("CREATE TABLE boom.t (k int PRIMARY KEY)", ()).await;
    assert!(err.is_err(), "the request whose connection was dropped fails");
    assert_closed(&mut bystander).await;
    // The node still listens; a new client works.
    let again = support::session(node.addr()).await;
    again.query_unpaged("SELECT * FROM system.local", ()).await.unwrap();
    node.stop().await;
}

/// Mid-authentication, Cassandra accepts nothing but AUTH_RESPONSE; a failed attempt leaves
/// the connection open for another.
#[tokio::test]
async fn sasl_exchange_states_as_cassandra_enforces_them() {
    use tokio::io::AsyncWriteExt;
    let node = auth_node().await;
    let mut conn = tokio::net::TcpStream::connect(node.addr()).await.unwrap();
    conn.write_all(&frame(4, 0, 1, 0x01, &startup_body())).await.unwrap();
    assert_eq!(read_response(&mut conn).await.opcode, 0x03, "AUTHENTICATE");
    conn.write_all(&frame(4, 0, 2, 0x05, &[])).await.unwrap();
    assert_eq!(read_response(&mut conn).await.error(), (0x000A, "Unexpected message OPTIONS, expecting SASL_RESPONSE".into()));
    let token = |pw: &str| {
        let t = format!("\0app\0{pw}");
        let mut b = (t.len() as i32).to_be_bytes().to_vec();
        b.extend_from_slice(t.as_bytes());
        b
    };
    conn.write_all(&frame(4, 0, 3, 0x0F, &token("bad"))).await.unwrap();
    assert_eq!(read_response(&mut conn).await.error(), (0x0100, "Provided username app and/or password are incorrect".into()));
    conn.write_all(&frame(4, 0, 4, 0x0F, &token("right-pass"))).await.unwrap();
    assert_eq!(read_response(&mut conn).await.opcode, 0x10, "AUTH_SUCCESS");
    node.stop().await;
}
