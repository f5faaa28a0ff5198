//! Writes whose outcome the client cannot know, and Paxos timeouts, as the real scylla driver
//! sees them (retries off): `after_apply` faults run the statement for real and then time out,
//! hold the answer or drop the connection; a WriteTimeout on a conditional statement carries
//! write type CAS and the serial consistency, as Cassandra's StorageProxy.cas reports it.

use crate::keyspaces_common;

use std::time::Duration;

use cql_node::cluster::Cluster;
use cql_node::engine::StatementKind;
use cql_node::faults::{Fault, FaultKind, Match};
use keyspaces_common::{db_error, wait_for};
use scylla::client::session::Session;
use scylla::errors::{DbError, ExecutionError, WriteType};
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::unprepared::Statement;
use scylla::statement::{Consistency, SerialConsistency};
use scylla::value::{CqlValue, Row};

use keyspaces_common::one_node_kv as start;

/// `v` of key `k`, if the row exists.
async fn value_of(session: &Session, k: &str) -> Option<String> {
    let result = session.query_unpaged("SELECT v FROM f.kv WHERE k = ?", (k,)).await.expect("read");
    result.into_rows_result().expect("rows").maybe_first_row::<(Option<String>,)>().expect("typed").and_then(|(v,)| v)
}

async fn server_error(session: &Session, statement: impl Into<Statement>) -> (DbError, String) {
    let err = session.query_unpaged(statement, ()).await.expect_err("the fault must fire");
    let (db, message) = db_error(&err).unwrap_or_else(|| panic!("not a server error: {err:?}"));
    (db.clone(), message.to_string())
}

/// A conditional statement's result row, untyped: `[applied]` first, then the current values.
async fn lwt(session: &Session, cql: &str) -> Vec<Option<CqlValue>> {
    let result = session.query_unpaged(cql, ()).await.expect(cql);
    result.into_rows_result().expect("rows").single_row::<Row>().expect("one row").columns
}

fn cas_timeout(consistency: Consistency) -> DbError {
    DbError::WriteTimeout { consistency, received: 0, required: 2, write_type: WriteType::Cas }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_timeout_after_apply_leaves_the_write_applied() {
    let (cluster, session) = start().await;
    let faults = cluster.faults();

    faults.inject(Fault::new(FaultKind::WriteTimeout).matching(Match::Kind(StatementKind::Insert)).times(1).after_apply());
    let (err, _) = server_error(&session, "INSERT INTO f.kv (k, v) VALUES ('applied', 'x')").await;
    assert_eq!(
        err,
        DbError::WriteTimeout { consistency: Consistency::LocalQuorum, received: 1, required: 2, write_type: WriteType::Simple }
    );
    assert_eq!(value_of(&session, "applied").await.as_deref(), Some("x"), "the timed-out write is visible");

    // The default acts before anything runs: the write is not applied.
    faults.inject(Fault::new(FaultKind::WriteTimeout).matching(Match::Kind(StatementKind::Insert)).times(1));
    server_error(&session, "INSERT INTO f.kv (k, v) VALUES ('lost', 'x')").await;
    assert_eq!(value_of(&session, "lost").await, None);

    // A statement that fails on its own (a plain write at SERIAL) answers its own error and
    // applies nothing; the fault is spent anyway.
    faults.inject(Fault::new(FaultKind::WriteTimeout).matching(Match::Kind(StatementKind::Insert)).times(1).after_apply());
    let mut refused = Statement::new("INSERT INTO f.kv (k, v) VALUES ('refused', 'x')");
    refused.set_consistency(Consistency::Serial);
    let (err, message) = server_error(&session, refused).await;
    assert_eq!((err, message.as_str()), (DbError::Invalid, "You must use conditional updates for serializable writes"));
    assert!(faults.list().is_empty());
    assert_eq!(value_of(&session, "refused").await, None);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_lwt_that_applied_then_timed_out_is_seen_by_its_retry() {
    let (cluster, session) = start().await;
    let claim = "INSERT INTO f.kv (k, v) VALUES ('sku-1', 'product-a') IF NOT EXISTS";
    cluster
        .faults()
        .inject(Fault::new(FaultKind::WriteTimeout).matching(Match::TextContains("IF NOT EXISTS".into())).times(1).after_apply());
    let (err, message) = server_error(&session, claim).await;
    assert_eq!(err, cas_timeout(Consistency::Serial));
    assert_eq!(message, "CAS operation timed out - encountered contentions: 0");
    // The client retries: the claim it made itself is already there.
    let retry = lwt(&session, claim).await;
    assert_eq!(retry[0], Some(CqlValue::Boolean(false)));
    assert_eq!(retry[2], Some(CqlValue::Text("product-a".into())));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_after_apply_times_the_client_out_after_the_write() {
    let (cluster, session) = start().await;
    cluster.faults().inject(Fault::latency(Duration::from_secs(60)).matching(Match::Kind(StatementKind::Insert)).times(1).after_apply());
    let mut insert = Statement::new("INSERT INTO f.kv (k, v) VALUES ('slow', 'x')");
    insert.set_request_timeout(Some(Duration::from_millis(300)));
    let err = session.query_unpaged(insert, ()).await.expect_err("the answer is held past the client timeout");
    assert!(matches!(err, ExecutionError::RequestTimeout(_)), "{err:?}");
    // The write ran before the hold (a before-apply latency would run it only after 60 s).
    let seen = wait_for(Duration::from_secs(10), || async { value_of(&session, "slow").await }).await;
    assert_eq!(seen.as_deref(), Some("x"));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_connections_after_apply_loses_the_answer_not_the_write() {
    let (cluster, session) = start().await;
    cluster.faults().inject(Fault::new(FaultKind::DropConnections).matching(Match::Kind(StatementKind::Insert)).times(1).after_apply());
    let err = session.query_unpaged("INSERT INTO f.kv (k, v) VALUES ('dropped', 'x')", ()).await.expect_err("no answer");
    assert!(db_error(&err).is_none(), "a broken connection, not a server answer: {err:?}");
    let seen = wait_for(Duration::from_secs(20), || async {
        session.query_unpaged("SELECT v FROM f.kv WHERE k = 'dropped'", ()).await.ok()?;
        value_of(&session, "dropped").await
    })
    .await;
    assert_eq!(seen.as_deref(), Some("x"), "the driver reconnected and the write is there");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_writes_time_out_as_cas_with_the_serial_consistency() {
    let (cluster, session) = start().await;
    let faults = cluster.faults();
    session.query_unpaged("INSERT INTO f.kv (k, v) VALUES ('a', 'old')", ()).await.unwrap();
    for cql in [
        "INSERT INTO f.kv (k, v) VALUES ('b', 'x') IF NOT EXISTS",
        "UPDATE f.kv SET v = 'new' WHERE k = 'a' IF v = 'old'",
        "UPDATE f.kv SET v = 'new' WHERE k = 'a' IF EXISTS",
        "DELETE FROM f.kv WHERE k = 'a' IF v = 'old'",
    ] {
        faults.inject(Fault::new(FaultKind::WriteTimeout).times(1));
        assert_eq!(server_error(&session, cql).await.0, cas_timeout(Consistency::Serial), "{cql}");
    }
    // The serial consistency the client sent is the one reported.
    faults.inject(Fault::new(FaultKind::WriteTimeout).times(1));
    let mut local = Statement::new("INSERT INTO f.kv (k, v) VALUES ('c', 'x') IF NOT EXISTS");
    local.set_serial_consistency(Some(SerialConsistency::LocalSerial));
    assert_eq!(server_error(&session, local).await.0, cas_timeout(Consistency::LocalSerial));

    // A conditional batch is a Paxos round too.
    let mut conditional = Batch::new(BatchType::Logged);
    conditional.append_statement("INSERT INTO f.kv (k, v) VALUES ('d', 'x') IF NOT EXISTS");
    conditional.append_statement("UPDATE f.kv SET v = 'y' WHERE k = 'd'");
    faults.inject(Fault::new(FaultKind::WriteTimeout).times(1));
    let err = session.batch(&conditional, ((), ())).await.expect_err("fault fires");
    assert_eq!(db_error(&err).map(|(d, _)| d.clone()), Some(cas_timeout(Consistency::Serial)));
    cluster.stop().await;
}

/// The write type of a timed-out non-conditional write.
fn write_type_of(cluster: &Cluster, outcome: Result<impl std::fmt::Debug, ExecutionError>) -> WriteType {
    assert!(cluster.faults().list().is_empty(), "the fault fired");
    match outcome.as_ref().map_err(db_error) {
        Err(Some((DbError::WriteTimeout { write_type, consistency: Consistency::LocalQuorum, received: 1, required: 2 }, _))) => {
            write_type.clone()
        }
        other => panic!("not a write timeout: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_writes_time_out_with_cassandras_write_type() {
    let (cluster, session) = start().await;
    session.query_unpaged("CREATE TABLE f.hits (k text PRIMARY KEY, n counter)", ()).await.unwrap();
    let timeout_once = || cluster.faults().inject(Fault::new(FaultKind::WriteTimeout).times(1));
    let batch = |kind, statements: &[&str]| {
        let mut b = Batch::new(kind);
        statements.iter().for_each(|s| b.append_statement(*s));
        b
    };

    timeout_once();
    let plain = session.query_unpaged("INSERT INTO f.kv (k, v) VALUES ('g', 'x')", ()).await;
    assert_eq!(write_type_of(&cluster, plain), WriteType::Simple);
    timeout_once();
    let counter = session.query_unpaged("UPDATE f.hits SET n = n + 1 WHERE k = 'g'", ()).await;
    assert_eq!(write_type_of(&cluster, counter), WriteType::Counter);

    // BatchStatement uses the batchlog (BATCH) only for a LOGGED batch over several partitions.
    let two = ["INSERT INTO f.kv (k, v) VALUES ('e', 'x')", "INSERT INTO f.kv (k, v) VALUES ('f', 'x')"];
    let one = ["INSERT INTO f.kv (k, v) VALUES ('e', 'x')", "UPDATE f.kv SET v = 'y' WHERE k = 'e'"];
    for (kind, statements, expected) in [
        (BatchType::Logged, two, WriteType::Batch),
        (BatchType::Logged, one, WriteType::Simple),
        (BatchType::Unlogged, two, WriteType::UnloggedBatch),
        (BatchType::Unlogged, one, WriteType::Simple),
    ] {
        timeout_once();
        let outcome = session.batch(&batch(kind, &statements), ((), ())).await;
        assert_eq!(write_type_of(&cluster, outcome), expected, "{kind:?} {statements:?}");
    }
    timeout_once();
    let outcome = session.batch(&batch(BatchType::Counter, &["UPDATE f.hits SET n = n + 1 WHERE k = 'g'"]), ((),)).await;
    assert_eq!(write_type_of(&cluster, outcome), WriteType::Counter);

    // Partitions are counted from the bound values, in BATCH frames and BEGIN BATCH texts.
    let insert = session.prepare("INSERT INTO f.kv (k, v) VALUES (?, 'x')").await.unwrap();
    let mut prepared = Batch::new(BatchType::Logged);
    prepared.append_statement(insert.clone());
    prepared.append_statement(insert);
    for (keys, expected) in [(("p", "p"), WriteType::Simple), (("p", "q"), WriteType::Batch)] {
        timeout_once();
        let outcome = session.batch(&prepared, ((keys.0,), (keys.1,))).await;
        assert_eq!(write_type_of(&cluster, outcome), expected, "{keys:?}");
    }
    let text = session
        .prepare("BEGIN BATCH INSERT INTO f.kv (k, v) VALUES (?, 'x'); INSERT INTO f.kv (k, v) VALUES (?, 'y') APPLY BATCH")
        .await
        .unwrap();
    for (keys, expected) in [(("t", "t"), WriteType::Simple), (("t", "u"), WriteType::Batch)] {
        timeout_once();
        let outcome = session.execute_unpaged(&text, keys).await;
        assert_eq!(write_type_of(&cluster, outcome), expected, "{keys:?}");
    }
    cluster.stop().await;
}
