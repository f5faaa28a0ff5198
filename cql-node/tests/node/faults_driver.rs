//! Each injected fault, observed by the real scylla driver as the matching error (retries off,
//! so the driver reports exactly what the node answered), latency as the driver's own client
//! timeout, and dropped connections as the driver reconnecting.

use crate::keyspaces_common;

use std::time::Duration;

use cql_node::engine::StatementKind;
use cql_node::faults::{Fault, FaultKind, Match};
use keyspaces_common::{db_error, wait_for};
use scylla::client::session::Session;
use scylla::errors::{DbError, ExecutionError, WriteType};
use scylla::statement::Consistency;
use scylla::statement::unprepared::Statement;

use keyspaces_common::one_node_kv as start;

const INSERT: &str = "INSERT INTO f.kv (k, v) VALUES ('a', 'b')";
const SELECT: &str = "SELECT v FROM f.kv WHERE k = 'a'";

async fn server_error(session: &Session, cql: &str) -> DbError {
    let err = session.query_unpaged(cql, ()).await.expect_err("the fault must fire");
    db_error(&err).unwrap_or_else(|| panic!("not a server error: {err:?}")).0.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_error_fault_reaches_the_driver_as_its_error() {
    let (cluster, session) = start().await;
    let faults = cluster.faults();

    faults.inject(Fault::new(FaultKind::WriteTimeout).matching(Match::Kind(StatementKind::Insert)).times(1));
    // A read does not match an insert-only fault.
    session.query_unpaged(SELECT, ()).await.expect("reads are untouched");
    assert_eq!(
        server_error(&session, INSERT).await,
        DbError::WriteTimeout { consistency: Consistency::LocalQuorum, received: 1, required: 2, write_type: WriteType::Simple }
    );
    session.query_unpaged(INSERT, ()).await.expect("times(1) is spent");

    faults.inject(Fault::new(FaultKind::ReadTimeout).matching(Match::Kind(StatementKind::Select)).times(1));
    assert_eq!(
        server_error(&session, SELECT).await,
        DbError::ReadTimeout { consistency: Consistency::LocalQuorum, received: 1, required: 2, data_present: false }
    );

    faults.inject(Fault::new(FaultKind::Unavailable).matching(Match::TextContains("f.kv".into())).times(1));
    assert_eq!(server_error(&session, INSERT).await, DbError::Unavailable { consistency: Consistency::LocalQuorum, required: 2, alive: 1 });

    for (kind, expected) in [
        (FaultKind::Overloaded, DbError::Overloaded),
        (FaultKind::IsBootstrapping, DbError::IsBootstrapping),
        (FaultKind::ServerError, DbError::ServerError),
    ] {
        faults.inject(Fault::new(kind).times(1));
        assert_eq!(server_error(&session, SELECT).await, expected);
    }

    // Until cleared, a fault without a count keeps firing.
    faults.inject(Fault::new(FaultKind::Overloaded).matching(Match::Kind(StatementKind::Insert)));
    assert_eq!(server_error(&session, INSERT).await, DbError::Overloaded);
    assert_eq!(server_error(&session, INSERT).await, DbError::Overloaded);
    faults.clear();
    session.query_unpaged(INSERT, ()).await.expect("cleared");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_shows_as_the_client_timeout() {
    let (cluster, session) = start().await;
    cluster.faults().inject(Fault::latency(Duration::from_secs(30)).matching(Match::Kind(StatementKind::Select)).times(1));
    let mut select = Statement::new(SELECT);
    select.set_request_timeout(Some(Duration::from_millis(300)));
    let err = session.query_unpaged(select, ()).await.expect_err("held past the client timeout");
    assert!(matches!(err, ExecutionError::RequestTimeout(_)), "{err:?}");
    session.query_unpaged(SELECT, ()).await.expect("the next read is not delayed");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_survived_by_reconnecting() {
    let (cluster, session) = start().await;
    cluster.faults().inject(Fault::new(FaultKind::DropConnections).matching(Match::TextContains("f.kv".into())).times(1));
    let err = session.query_unpaged(SELECT, ()).await.expect_err("the connection died under the request");
    assert!(db_error(&err).is_none(), "a broken connection, not a server answer: {err:?}");
    assert_eq!(cluster.faults().fired_total(), 1);
    let recovered = wait_for(Duration::from_secs(20), || async { session.query_unpaged(SELECT, ()).await.ok() }).await;
    assert!(recovered.is_some(), "the driver never reconnected");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_fault_retires_by_itself() {
    let (cluster, session) = start().await;
    cluster.faults().inject(Fault::new(FaultKind::Overloaded).for_duration(Duration::from_secs(3)));
    assert_eq!(server_error(&session, SELECT).await, DbError::Overloaded);
    let recovered = wait_for(Duration::from_secs(30), || async { session.query_unpaged(SELECT, ()).await.ok() }).await;
    assert!(recovered.is_some(), "the fault outlived its duration");
    assert!(cluster.faults().list().is_empty());
    cluster.stop().await;
}
