//! The engine's controllable clock seen through the real scylla driver: TTLs (row and cell
//! level, as Cassandra expires them) run out when the clock is advanced, server-side write
//! timestamps and now()/currentTimestamp() follow it. And serial reads (SELECT at SERIAL /
//! LOCAL_SERIAL), which Cassandra accepts. The clock is frozen first so that "one second
//! before the TTL" is exact however slow the machine is.

use std::time::Duration;

use cql_node::cluster::Cluster;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::Consistency;
use scylla::statement::unprepared::Statement;
use scylla::value::{CqlTimestamp, CqlValue, Row};

async fn start() -> (Cluster, Session) {
    let cluster = Cluster::builder().nodes(1).start().await.expect("node starts");
    cluster.clock().freeze();
    let session = SessionBuilder::new().known_node_addr(cluster.node_addr(0)).build().await.expect("connects");
    for q in [
        "CREATE KEYSPACE c WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE c.t (k text PRIMARY KEY, a text, b text, at timestamp)",
    ] {
        session.query_unpaged(q, ()).await.expect(q);
    }
    (cluster, session)
}

/// The row of key `k` as (a, b), if it exists.
async fn row(session: &Session, k: &str) -> Option<(Option<String>, Option<String>)> {
    let result = session.query_unpaged("SELECT a, b FROM c.t WHERE k = ?", (k,)).await.expect("read");
    result.into_rows_result().expect("rows").maybe_first_row::<(Option<String>, Option<String>)>().expect("typed")
}

/// Whether `INSERT ... IF NOT EXISTS` on `k` applied.
async fn claim(session: &Session, k: &str) -> bool {
    let result = session.query_unpaged("INSERT INTO c.t (k, a) VALUES (?, 'claim') IF NOT EXISTS", (k,)).await.expect("lwt");
    let columns = result.into_rows_result().expect("rows").single_row::<Row>().expect("one row").columns;
    columns[0] == Some(CqlValue::Boolean(true))
}

async fn single<T: for<'f, 'm> scylla::deserialize::row::DeserializeRow<'f, 'm>>(session: &Session, cql: &str) -> T {
    session.query_unpaged(cql, ()).await.expect(cql).into_rows_result().expect("rows").single_row::<T>().expect("one row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ttl_runs_out_exactly_when_the_clock_passes_it() {
    let (cluster, session) = start().await;
    session.query_unpaged("INSERT INTO c.t (k, a) VALUES ('sku', 'x') USING TTL 60", ()).await.unwrap();
    session.query_unpaged("INSERT INTO c.t (k, a) VALUES ('idem', 'y') USING TTL 86400", ()).await.unwrap();

    assert_eq!(cluster.advance_clock(Duration::from_secs(59)), Duration::from_secs(59));
    assert_eq!(row(&session, "sku").await, Some((Some("x".into()), None)), "one second left");
    assert_eq!(single::<(Option<i32>,)>(&session, "SELECT TTL(a) FROM c.t WHERE k = 'sku'").await, (Some(1),));
    assert!(!claim(&session, "sku").await, "the claim still holds");
    cluster.advance_clock(Duration::from_secs(1));
    assert_eq!(row(&session, "sku").await, None, "expired at 60 s");
    assert!(claim(&session, "sku").await, "an expired claim can be taken again");

    // 24 h at once, through the same engine clock.
    assert!(row(&session, "idem").await.is_some());
    cluster.engine().advance_clock(Duration::from_secs(86_400 - 61));
    assert!(row(&session, "idem").await.is_some(), "one second left of 24 h");
    cluster.advance_clock(Duration::from_secs(1));
    assert_eq!(row(&session, "idem").await, None);
    assert_eq!(cluster.clock().offset(), Duration::from_secs(86_400));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cell_ttls_expire_per_cell_and_the_row_lives_while_anything_does() {
    let (cluster, session) = start().await;
    // Marker and `a` live 10 s; `b`, written by an UPDATE (no row marker), 100 s.
    session.query_unpaged("INSERT INTO c.t (k, a) VALUES ('r', 'a0') USING TTL 10", ()).await.unwrap();
    session.query_unpaged("UPDATE c.t USING TTL 100 SET b = 'b0' WHERE k = 'r'", ()).await.unwrap();
    // A marker without TTL, one column with a TTL.
    session.query_unpaged("INSERT INTO c.t (k, a, b) VALUES ('m', 'a1', 'b1')", ()).await.unwrap();
    session.query_unpaged("UPDATE c.t USING TTL 10 SET a = 'a2' WHERE k = 'm'", ()).await.unwrap();

    cluster.advance_clock(Duration::from_secs(10));
    assert_eq!(row(&session, "r").await, Some((None, Some("b0".into()))), "marker expired, b still live: the row exists");
    assert!(!claim(&session, "r").await, "IF NOT EXISTS sees the row through its live cell");
    assert_eq!(row(&session, "m").await, Some((None, Some("b1".into()))), "only the updated cell expired");

    cluster.advance_clock(Duration::from_secs(90));
    assert_eq!(row(&session, "r").await, None, "marker and every cell expired: no row");
    assert!(claim(&session, "r").await);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_and_now_follow_the_clock() {
    let (cluster, session) = start().await;
    cluster.advance_clock(Duration::from_secs(86_400));
    let now = cluster.clock().now_micros();
    session.query_unpaged("INSERT INTO c.t (k, at) VALUES ('ts', currentTimestamp())", ()).await.unwrap();
    session.query_unpaged("INSERT INTO c.t (k, a, at) VALUES ('now', 'x', toTimestamp(now())) IF NOT EXISTS", ()).await.unwrap();
    let (at,) = single::<(CqlTimestamp,)>(&session, "SELECT at FROM c.t WHERE k = 'ts'").await;
    assert_eq!(at.0, now / 1000, "currentTimestamp() reads the frozen, advanced clock");
    let (at, written) = single::<(CqlTimestamp, i64)>(&session, "SELECT at, WRITETIME(a) FROM c.t WHERE k = 'now'").await;
    assert_eq!(at.0, now / 1000, "now() too");
    assert!(written >= now, "an LWT's server-side timestamp comes from the clock: {written} < {now}");
    let (written,) = single::<(i64,)>(&session, "SELECT WRITETIME(at) FROM c.t WHERE k = 'ts'").await;
    assert!(written >= now, "a plain write's too: {written} < {now}");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_reads_are_accepted_and_see_the_data() {
    let (cluster, session) = start().await;
    session.query_unpaged("INSERT INTO c.t (k, a) VALUES ('s', 'x') IF NOT EXISTS", ()).await.unwrap();
    for consistency in [Consistency::Serial, Consistency::LocalSerial] {
        let mut select = Statement::new("SELECT a FROM c.t WHERE k = 's'");
        select.set_consistency(consistency);
        let result = session.query_unpaged(select, ()).await.unwrap_or_else(|e| panic!("{consistency:?}: {e}"));
        assert_eq!(result.into_rows_result().unwrap().single_row::<(String,)>().unwrap(), ("x".to_string(),));
        let mut prepared = session.prepare("SELECT a FROM c.t WHERE k = ?").await.unwrap();
        prepared.set_consistency(consistency);
        let result = session.execute_unpaged(&prepared, ("s",)).await.unwrap_or_else(|e| panic!("{consistency:?}: {e}"));
        assert_eq!(result.into_rows_result().unwrap().single_row::<(String,)>().unwrap(), ("x".to_string(),));
    }
    // Only non-conditional writes are refused at a serial level.
    let mut write = Statement::new("INSERT INTO c.t (k, a) VALUES ('w', 'x')");
    write.set_consistency(Consistency::Serial);
    let err = session.query_unpaged(write, ()).await.expect_err("refused");
    assert!(err.to_string().contains("You must use conditional updates for serializable writes"), "{err}");
    cluster.stop().await;
}

#[tokio::test]
async fn a_lone_node_moves_its_engines_clock() {
    let node = cql_node::server::Node::start_default().await.expect("node starts");
    let clock = node.engine().clock();
    clock.freeze();
    let before = clock.now_micros();
    assert_eq!(node.advance_clock(Duration::from_secs(3600)), Duration::from_secs(3600));
    assert_eq!(clock.now_micros() - before, 3_600_000_000);
    node.stop().await;
}
