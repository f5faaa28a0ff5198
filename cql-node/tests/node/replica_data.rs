//! Per-replica data in the multi-node mode, through the real scylla driver with every request
//! sent to one chosen coordinator (a single-target policy, retries off): a write reaches only
//! the replicas that answer, a replica that was stopped gets what it missed by hinted handoff
//! 10 s (engine clock) after it is back, a read at ONE from it can be stale until then, and a
//! read at QUORUM merges replicas by timestamp (and repairs the stale one). The clock is
//! frozen: only the tests move it, so no hint is delivered behind their back.

use crate::keyspaces_common::{self, key_owned_by, wait_for};
use crate::support::db_error;

use std::net::SocketAddr;
use std::time::Duration;

use cql_node::cluster::Cluster;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::errors::DbError;
use scylla::policies::load_balancing::{NodeIdentifier, SingleTargetLoadBalancingPolicy};
use scylla::statement::Consistency;
use scylla::statement::unprepared::Statement;

/// Detection is never reached in real time: these tests stop nodes cleanly or convict them.
const DETECTION: Duration = Duration::from_secs(120);
const TIMEOUT: Duration = Duration::from_millis(150);
const HINT_DELAY: Duration = Duration::from_secs(10);

async fn cluster(rf: usize) -> (Cluster, Session) {
    let cluster = Cluster::builder()
        .nodes(3)
        .detection_delay(DETECTION)
        .request_timeouts(TIMEOUT, TIMEOUT)
        .start()
        .await
        .expect("cluster starts");
    cluster.clock().freeze();
    let session = keyspaces_common::session_without_retries(cluster.node_addr(0), ExecutionProfile::builder()).await;
    for q in [
        format!("CREATE KEYSPACE r WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {rf}}}"),
        "CREATE TABLE r.kv (k text PRIMARY KEY, v text)".to_string(),
    ] {
        session.query_unpaged(q.as_str(), ()).await.expect(&q);
    }
    (cluster, session)
}

/// Runs `cql` at `cl` with node `via` as its coordinator; the rows' first text column.
async fn on(session: &Session, via: SocketAddr, cql: &str, cl: Consistency) -> Result<Vec<String>, DbError> {
    let mut s = Statement::new(cql);
    s.set_consistency(cl);
    s.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(NodeIdentifier::NodeAddress(via), None)));
    match session.query_unpaged(s, ()).await {
        Ok(r) => match r.into_rows_result() {
            Ok(rows) => Ok(rows.rows::<(String,)>().expect("text rows").map(|r| r.expect("a row").0).collect()),
            Err(_) => Ok(Vec::new()),
        },
        Err(e) => Err(db_error(&e).unwrap_or_else(|| panic!("{cql}: not a server error: {e:?}")).0.clone()),
    }
}

/// A conditional write with node `via` as its coordinator: whether it applied.
async fn lwt(session: &Session, via: SocketAddr, cql: &str) -> bool {
    let mut s = Statement::new(cql);
    s.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(NodeIdentifier::NodeAddress(via), None)));
    let rows = session.query_unpaged(s, ()).await.expect(cql).into_rows_result().expect("[applied]");
    rows.rows::<(bool,)>().expect("[applied] first").next().expect("a row").expect("a bool").0
}

/// Restarts node `index` and waits until the driver is connected to it again.
async fn restart(cluster: &mut Cluster, session: &Session, index: usize) {
    cluster.restart_node(index).await.expect("restarts");
    let ip = cluster.node_addr(index).ip();
    let back = wait_for(Duration::from_secs(30), || async {
        session.get_cluster_state().get_nodes_info().iter().any(|n| n.address.ip() == ip && n.is_connected()).then_some(())
    })
    .await;
    assert!(back.is_some(), "driver reconnected to {ip}");
}

const SELECT: &str = "SELECT v FROM r.kv WHERE k = 'a'";

/// (a) RF=3: node 1 stopped, a write at ONE through node 0 misses it; back, node 1 answers a
/// read at ONE from its own copy — the old value — until its hint arrives 10 s later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returned_replica_is_stale_at_one_until_its_hint_is_delivered() {
    let (mut cluster, session) = cluster(3).await;
    let (n0, n1) = (cluster.node_addr(0), cluster.node_addr(1));
    on(&session, n0, "INSERT INTO r.kv (k, v) VALUES ('a', 'old')", Consistency::All).await.expect("written everywhere");

    cluster.stop_node_cleanly(1).await;
    on(&session, n0, "INSERT INTO r.kv (k, v) VALUES ('a', 'new')", Consistency::One).await.expect("two replicas answer");
    let replicas = cluster.replicas().expect("replica layer").clone();
    assert_eq!(replicas.hints_for(1), 1, "a hint for the replica that missed it");
    assert_eq!(on(&session, n0, SELECT, Consistency::One).await, Ok(vec!["new".to_string()]));

    restart(&mut cluster, &session, 1).await;
    assert_eq!(on(&session, n1, SELECT, Consistency::One).await, Ok(vec!["old".to_string()]), "stale before delivery");
    cluster.advance_clock(HINT_DELAY - Duration::from_millis(1));
    assert_eq!(replicas.hints_for(1), 1, "not due yet");
    assert_eq!(on(&session, n1, SELECT, Consistency::One).await, Ok(vec!["old".to_string()]));
    cluster.advance_clock(Duration::from_millis(1));
    assert_eq!(replicas.hints_for(1), 0, "delivered once due");
    assert_eq!(on(&session, n1, SELECT, Consistency::One).await, Ok(vec!["new".to_string()]), "fresh after delivery");
    cluster.stop().await;
}

/// (b) The same read at QUORUM right after the return merges node 1's copy with another
/// replica's by timestamp: the new value. It also repairs node 1 (blocking read repair), so
/// a read at ONE from it is fresh before any hint is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_after_the_return_sees_the_write_and_repairs_the_stale_replica() {
    let (mut cluster, session) = cluster(3).await;
    let (n0, n1) = (cluster.node_addr(0), cluster.node_addr(1));
    on(&session, n0, "INSERT INTO r.kv (k, v) VALUES ('a', 'old')", Consistency::All).await.expect("written everywhere");
    cluster.stop_node_cleanly(1).await;
    on(&session, n0, "INSERT INTO r.kv (k, v) VALUES ('a', 'new')", Consistency::One).await.expect("two replicas answer");
    restart(&mut cluster, &session, 1).await;

    assert_eq!(on(&session, n1, SELECT, Consistency::Quorum).await, Ok(vec!["new".to_string()]));
    assert_eq!(cluster.replicas().unwrap().hints_for(1), 1, "the hint is still waiting");
    assert_eq!(on(&session, n1, SELECT, Consistency::One).await, Ok(vec!["new".to_string()]), "read repair fixed node 1's copy");
    cluster.stop().await;
}

/// (c) RF=1: the only replica stopped: a write is Unavailable as before, and leaves no hint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_rf1_a_write_while_the_replica_is_down_fails_and_leaves_no_hint() {
    let (mut cluster, session) = cluster(1).await;
    let key = key_owned_by(&cluster, 2);
    cluster.stop_node_cleanly(2).await;
    let insert = format!("INSERT INTO r.kv (k, v) VALUES ('{key}', 'x')");
    assert_eq!(
        on(&session, cluster.node_addr(0), &insert, Consistency::One).await,
        Err(DbError::Unavailable { consistency: Consistency::One, required: 1, alive: 0 })
    );
    assert_eq!(cluster.replicas().unwrap().hints_len(), 0);
    restart(&mut cluster, &session, 2).await;
    cluster.advance_clock(HINT_DELAY);
    let select = format!("SELECT v FROM r.kv WHERE k = '{key}'");
    assert_eq!(on(&session, cluster.node_addr(2), &select, Consistency::One).await, Ok(vec![]), "never written");
    cluster.stop().await;
}

/// (d) A hint carries its write's timestamp: delivered after a newer write reached the
/// replica, it does not overwrite it; and it is delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hint_is_delivered_once_and_never_overwrites_a_newer_write() {
    let (mut cluster, session) = cluster(3).await;
    let (n0, n1) = (cluster.node_addr(0), cluster.node_addr(1));
    cluster.stop_node_cleanly(1).await;
    on(&session, n0, "INSERT INTO r.kv (k, v) VALUES ('a', 'hinted')", Consistency::One).await.expect("written");
    restart(&mut cluster, &session, 1).await;
    on(&session, n0, "INSERT INTO r.kv (k, v) VALUES ('a', 'newer')", Consistency::All).await.expect("written everywhere");

    assert_eq!(cluster.deliver_hints(), 1);
    assert_eq!(on(&session, n1, SELECT, Consistency::One).await, Ok(vec!["newer".to_string()]), "the older hint lost on timestamp");
    assert_eq!(cluster.deliver_hints(), 0, "nothing delivered twice");
    cluster.advance_clock(HINT_DELAY);
    assert_eq!(cluster.replicas().unwrap().hints_len(), 0);
    cluster.stop().await;
}

/// A node stopped longer than `max_hint_window` (3 h) gets no hints: it stays stale for the
/// writes it missed (Cassandra needs a repair then), and QUORUM still sees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hints_for_a_node_down_longer_than_the_hint_window() {
    let (mut cluster, session) = cluster(3).await;
    let (n0, n1) = (cluster.node_addr(0), cluster.node_addr(1));
    cluster.stop_node_cleanly(1).await;
    cluster.advance_clock(Duration::from_secs(3 * 3600 + 1));
    on(&session, n0, "INSERT INTO r.kv (k, v) VALUES ('a', 'missed')", Consistency::One).await.expect("written");
    assert_eq!(cluster.replicas().unwrap().hints_len(), 0);
    restart(&mut cluster, &session, 1).await;
    cluster.advance_clock(HINT_DELAY);
    assert_eq!(on(&session, n1, SELECT, Consistency::One).await, Ok(vec![]), "never delivered");
    assert_eq!(on(&session, n1, SELECT, Consistency::Quorum).await, Ok(vec!["missed".to_string()]));
    cluster.stop().await;
}

/// A node killed and not yet noticed: a write at ONE through node 0 reaches the two others,
/// the coordinator keeps a hint for the silent one; a list (a range read) at ONE from the
/// returned node misses the row, at QUORUM finds it, and a lightweight transaction (a quorum
/// of two) commits to the live replicas and hints the third.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unnoticed_replicas_get_hints_and_lists_and_lwt_follow_the_replicas() {
    let (mut cluster, session) = cluster(3).await;
    let (n0, n2) = (cluster.node_addr(0), cluster.node_addr(2));
    let ip2 = n2.ip();
    let seen = wait_for(Duration::from_secs(30), || async {
        session.get_cluster_state().get_nodes_info().iter().any(|n| n.address.ip() == ip2 && n.is_connected()).then_some(())
    })
    .await;
    assert!(seen.is_some());
    cluster.stop_node(2).await;
    on(&session, n0, "INSERT INTO r.kv (k, v) VALUES ('a', 'w')", Consistency::One).await.expect("two replicas answer");
    cluster.convict(2);
    let insert_if_not_exists = "INSERT INTO r.kv (k, v) VALUES ('b', 'lwt') IF NOT EXISTS";
    assert!(lwt(&session, n0, insert_if_not_exists).await, "a quorum of two applies it");
    assert_eq!(cluster.replicas().unwrap().hints_for(2), 2, "the write's and the commit's");

    restart(&mut cluster, &session, 2).await;
    assert_eq!(on(&session, n2, "SELECT v FROM r.kv", Consistency::One).await, Ok(vec![]), "node 2's copy is empty");
    let mut quorum = on(&session, n2, "SELECT v FROM r.kv", Consistency::Quorum).await.expect("list");
    quorum.sort();
    assert_eq!(quorum, ["lwt", "w"]);
    assert_eq!(cluster.deliver_hints(), 2);
    let mut one = on(&session, n2, "SELECT v FROM r.kv", Consistency::One).await.expect("list");
    one.sort();
    assert_eq!(one, ["lwt", "w"]);
    cluster.stop().await;
}
