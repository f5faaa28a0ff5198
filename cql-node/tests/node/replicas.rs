//! The replica layer of the multi-node mode, seen through the real scylla driver (retries
//! off, so it reports exactly what the coordinator answered): consistency levels against
//! replicas that are up, stopped but not yet noticed, or known down; the batch log; LWT
//! quorums; NetworkTopologyStrategy per data center; STATUS_CHANGE events. Detection is
//! driven by the engine's clock (the delay is far longer than any test runs), never a sleep.

use crate::keyspaces_common::{self, key_owned_by};
use crate::support;

use std::time::Duration;

use cql_node::cluster::Cluster;
use cql_node::replication::liveness::State;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::errors::{DbError, WriteType};
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::statement::Consistency;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::unprepared::Statement;
use keyspaces_common::wait_for;
use support::db_error;

/// Never reached in real time by a test: detection happens when the test moves the clock.
const DETECTION: Duration = Duration::from_secs(120);
/// Short request timeouts keep the timeouts' waits cheap.
const TIMEOUT: Duration = Duration::from_millis(150);

async fn cluster(nodes: usize, placement: &[(&str, &str)]) -> Cluster {
    let mut b = Cluster::builder().nodes(nodes).detection_delay(DETECTION).request_timeouts(TIMEOUT, TIMEOUT);
    if !placement.is_empty() {
        b = b.placement(placement.iter().copied());
    }
    b.start().await.expect("cluster starts")
}

async fn session(cluster: &Cluster, local_dc: Option<&str>) -> Session {
    let mut profile = ExecutionProfile::builder().consistency(Consistency::Quorum);
    if let Some(dc) = local_dc {
        profile = profile.load_balancing_policy(DefaultPolicy::builder().prefer_datacenter(dc.to_string()).permit_dc_failover(false).build());
    }
    keyspaces_common::session_without_retries(cluster.node_addr(0), profile).await
}

/// Whether the driver holds a connection to `ip`.
async fn connected(session: &Session, ip: std::net::IpAddr) -> bool {
    session.get_cluster_state().get_nodes_info().iter().any(|n| n.address.ip() == ip && n.is_connected())
}

/// Kills node `index` (unnoticed by the cluster) and waits until the driver has seen its
/// connections close, so no request is in flight to it when the test asks (retries are off).
async fn kill(cluster: &mut Cluster, session: &Session, index: usize) {
    let ip = cluster.node_addr(index).ip();
    assert!(wait_for(Duration::from_secs(20), || async { connected(session, ip).await.then_some(()) }).await.is_some(), "driver connected to {ip}");
    cluster.stop_node(index).await;
    assert!(wait_for(Duration::from_secs(20), || async { (!connected(session, ip).await).then_some(()) }).await.is_some(), "driver saw {ip} close");
}

async fn run(session: &Session, cql: &str, cl: Consistency) -> Result<(), DbError> {
    let mut s = Statement::new(cql);
    s.set_consistency(cl);
    match session.query_unpaged(s, ()).await {
        Ok(_) => Ok(()),
        Err(e) => Err(db_error(&e).unwrap_or_else(|| panic!("{cql}: not a server error: {e:?}")).0.clone()),
    }
}

async fn count(session: &Session, cql: &str) -> usize {
    let mut s = Statement::new(cql);
    s.set_consistency(Consistency::One);
    session.query_unpaged(s, ()).await.expect(cql).into_rows_result().expect("rows").rows_num()
}

async fn logged_batch(session: &Session, keys: [&str; 2]) -> Result<(), DbError> {
    let mut batch = Batch::new(BatchType::Logged);
    for k in keys {
        batch.append_statement(format!("INSERT INTO r.kv (k, v) VALUES ('{k}', 'batch')").as_str());
    }
    batch.set_consistency(Consistency::Quorum);
    match session.batch(&batch, ((), ())).await {
        Ok(_) => Ok(()),
        Err(e) => Err(db_error(&e).unwrap_or_else(|| panic!("batch: not a server error: {e:?}")).0.clone()),
    }
}

async fn schema(session: &Session, replication: &str) {
    for q in [format!("CREATE KEYSPACE r WITH replication = {replication}"), "CREATE TABLE r.kv (k text PRIMARY KEY, v text)".into()] {
        session.query_unpaged(q.as_str(), ()).await.expect(&q);
    }
}

const INSERT: &str = "INSERT INTO r.kv (k, v) VALUES ('a', 'x')";
const SELECT: &str = "SELECT v FROM r.kv WHERE k = 'a'";
const LWT: &str = "INSERT INTO r.kv (k, v) VALUES ('lwt', 'x') IF NOT EXISTS";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rf3_one_node_killed_then_noticed_then_back() {
    let mut cluster = cluster(3, &[]).await;
    let session = session(&cluster, None).await;
    schema(&session, "{'class': 'SimpleStrategy', 'replication_factor': 3}").await;
    assert_eq!(run(&session, INSERT, Consistency::All).await, Ok(()));

    kill(&mut cluster, &session, 2).await;
    assert!(matches!(cluster.node_state(2), Some(State::Unnoticed { .. })));
    // Unnoticed: QUORUM is met by the two that answer; ALL waits for the third and times out.
    assert_eq!(run(&session, INSERT, Consistency::Quorum).await, Ok(()));
    assert_eq!(run(&session, SELECT, Consistency::Quorum).await, Ok(()));
    assert_eq!(
        run(&session, INSERT, Consistency::All).await,
        Err(DbError::WriteTimeout { consistency: Consistency::All, received: 2, required: 3, write_type: WriteType::Simple })
    );
    assert_eq!(
        run(&session, SELECT, Consistency::All).await,
        Err(DbError::ReadTimeout { consistency: Consistency::All, received: 2, required: 3, data_present: true })
    );
    // A logged batch over two partitions writes its batch log to both other nodes first: one
    // never answers. Not applied now; the node that kept it replays it later.
    assert_eq!(
        logged_batch(&session, ["b1", "b2"]).await,
        Err(DbError::WriteTimeout { consistency: Consistency::Two, received: 1, required: 2, write_type: WriteType::BatchLog })
    );
    assert_eq!(count(&session, "SELECT k FROM r.kv WHERE k IN ('b1', 'b2')").await, 0, "not applied before the replay");
    // Written after the batch was coordinated: the replay, with the batch's own timestamp,
    // must not overwrite it.
    assert_eq!(run(&session, "INSERT INTO r.kv (k, v) VALUES ('b1', 'newer')", Consistency::Quorum).await, Ok(()));
    cluster.advance_clock(TIMEOUT * 3);
    assert_eq!(count(&session, "SELECT k FROM r.kv WHERE k IN ('b1', 'b2')").await, 2, "replayed from the batch log");
    assert_eq!(count(&session, "SELECT k FROM r.kv WHERE k = 'b1' AND v = 'newer' ALLOW FILTERING").await, 1, "the newer write stands");
    // A Paxos quorum (2 of 3) still answers.
    assert_eq!(run(&session, LWT, Consistency::Quorum).await, Ok(()));

    // Noticed: ALL is refused at once; the batch log goes to the one live other node.
    cluster.advance_clock(DETECTION);
    assert_eq!(cluster.node_state(2), Some(State::Down));
    assert_eq!(run(&session, INSERT, Consistency::All).await, Err(DbError::Unavailable { consistency: Consistency::All, required: 3, alive: 2 }));
    assert_eq!(run(&session, INSERT, Consistency::Quorum).await, Ok(()));
    assert_eq!(logged_batch(&session, ["b3", "b4"]).await, Ok(()));

    cluster.restart_node(2).await.expect("restarts");
    assert_eq!(cluster.node_state(2), Some(State::Up));
    assert_eq!(run(&session, INSERT, Consistency::All).await, Ok(()));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lwt_needs_a_quorum_of_replicas() {
    let mut cluster = cluster(3, &[]).await;
    let session = session(&cluster, None).await;
    schema(&session, "{'class': 'SimpleStrategy', 'replication_factor': 3}").await;
    kill(&mut cluster, &session, 1).await;
    kill(&mut cluster, &session, 2).await;
    // Unnoticed: the Paxos prepare waits for a second replica that never answers (at the
    // driver's default serial consistency, LOCAL_SERIAL).
    assert_eq!(
        run(&session, LWT, Consistency::Quorum).await,
        Err(DbError::WriteTimeout { consistency: Consistency::LocalSerial, received: 1, required: 2, write_type: WriteType::Cas })
    );
    assert_eq!(count(&session, "SELECT k FROM r.kv WHERE k = 'lwt'").await, 0, "a CAS that timed out in prepare wrote nothing");
    cluster.convict(1);
    cluster.convict(2);
    assert_eq!(run(&session, LWT, Consistency::Quorum).await, Err(DbError::Unavailable { consistency: Consistency::LocalSerial, required: 2, alive: 1 }));
    // ONE still reads and writes on the last replica.
    assert_eq!(run(&session, INSERT, Consistency::One).await, Ok(()));
    assert_eq!(run(&session, SELECT, Consistency::One).await, Ok(()));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_topology_counts_replicas_per_data_center() {
    let mut cluster = cluster(4, &[("dc1", "r1"), ("dc1", "r2"), ("dc2", "r1"), ("dc2", "r2")]).await;
    let session = session(&cluster, Some("dc1")).await;
    // system.local and system.peers say where each node sits.
    let mut s = Statement::new("SELECT data_center, rack FROM system.local");
    s.set_consistency(Consistency::One);
    let local = session.query_unpaged(s, ()).await.unwrap().into_rows_result().unwrap();
    let (dc, _rack) = local.single_row::<(String, String)>().unwrap();
    assert!(dc == "dc1" || dc == "dc2");
    let peers = session.query_unpaged("SELECT peer, data_center, rack FROM system.peers", ()).await.unwrap().into_rows_result().unwrap();
    let mut places: Vec<(String, String)> = peers.rows::<(std::net::IpAddr, String, String)>().unwrap().map(|r| r.map(|(_, d, r)| (d, r)).unwrap()).collect();
    places.sort();
    assert_eq!(places.len(), 3);
    assert!(places.iter().all(|(d, r)| (d == "dc1" || d == "dc2") && (r == "r1" || r == "r2")));

    schema(&session, "{'class': 'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 2}").await;
    // node 3 (dc2) stops cleanly: known down at once.
    cluster.stop_node_cleanly(3).await;
    assert_eq!(cluster.node_state(3), Some(State::Down));
    assert_eq!(run(&session, INSERT, Consistency::LocalQuorum).await, Ok(()), "dc1's two replicas answer");
    assert_eq!(run(&session, INSERT, Consistency::Quorum).await, Ok(()), "3 of 4 replicas");
    assert_eq!(
        run(&session, INSERT, Consistency::EachQuorum).await,
        Err(DbError::Unavailable { consistency: Consistency::EachQuorum, required: 2, alive: 1 }),
        "dc2 has one of its two replicas"
    );
    assert_eq!(run(&session, INSERT, Consistency::All).await, Err(DbError::Unavailable { consistency: Consistency::All, required: 4, alive: 3 }));
    cluster.stop().await;
}

/// A raw connection that registered for STATUS_CHANGE gets DOWN when a node is known down
/// (at once for a clean stop; on conviction for a killed one) and UP when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_connections_get_status_changes() {
    let mut cluster = cluster(3, &[]).await;
    let mut conn = support::raw_ready(cluster.node_addr(0)).await;
    let mut body = bytes::BytesMut::new();
    {
        use bytes::BufMut;
        body.put_u16(1);
        body.put_u16(13);
        body.put_slice(b"STATUS_CHANGE");
    }
    tokio::io::AsyncWriteExt::write_all(&mut conn, &support::frame(4, 0, 2, 0x0B, &body)).await.unwrap();
    assert_eq!(support::read_response(&mut conn).await.opcode, 0x02, "READY");

    let port = cluster.port();
    let expect = |r: support::RawResponse, what: &str, node: [u8; 4]| {
        assert_eq!((r.opcode, r.stream), (0x0C, -1), "an EVENT");
        let mut want = Vec::new();
        for s in ["STATUS_CHANGE", what] {
            want.extend_from_slice(&(s.len() as u16).to_be_bytes());
            want.extend_from_slice(s.as_bytes());
        }
        want.push(4);
        want.extend_from_slice(&node);
        want.extend_from_slice(&i32::from(port).to_be_bytes());
        assert_eq!(r.body, want, "{what} for {node:?}");
    };
    cluster.stop_node_cleanly(1).await;
    expect(support::read_response(&mut conn).await, "DOWN", [127, 0, 0, 2]);
    cluster.restart_node(1).await.unwrap();
    expect(support::read_response(&mut conn).await, "UP", [127, 0, 0, 2]);
    // Killed: nothing until the detector convicts it.
    cluster.stop_node(2).await;
    cluster.convict(2);
    expect(support::read_response(&mut conn).await, "DOWN", [127, 0, 0, 3]);
    cluster.stop().await;
}


/// RF=1 and the only replica killed: a write at ONE times out with nothing received and is
/// kept as a hint, delivered once the replica has been back for the hint delay (10 s of the
/// engine's clock): until then the replica does not have it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_no_replica_answered_is_delivered_when_the_replica_is_back() {
    let mut cluster = cluster(3, &[]).await;
    // Only the test moves the clock: the hint cannot come due behind its back.
    cluster.clock().freeze();
    let session = session(&cluster, None).await;
    schema(&session, "{'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    let key = key_owned_by(&cluster, 2);
    kill(&mut cluster, &session, 2).await;
    let insert = format!("INSERT INTO r.kv (k, v) VALUES ('{key}', 'hinted')");
    let select = format!("SELECT v FROM r.kv WHERE k = '{key}'");
    assert_eq!(
        run(&session, &insert, Consistency::One).await,
        Err(DbError::WriteTimeout { consistency: Consistency::One, received: 0, required: 1, write_type: WriteType::Simple })
    );
    assert_eq!(cluster.replicas().unwrap().hints_len(), 1);
    cluster.convict(2);
    assert_eq!(run(&session, &select, Consistency::One).await, Err(DbError::Unavailable { consistency: Consistency::One, required: 1, alive: 0 }));
    cluster.restart_node(2).await.expect("restarts");
    assert_eq!(count(&session, &select).await, 0, "not delivered yet: the replica misses it");
    assert_eq!(cluster.replicas().unwrap().hints_len(), 1);
    cluster.advance_clock(Duration::from_secs(10));
    assert_eq!(cluster.replicas().unwrap().hints_len(), 0, "delivered after the hint delay");
    assert_eq!(count(&session, &select).await, 1, "the hinted write is there");
    cluster.stop().await;
}

#[tokio::test]
async fn one_node_has_no_replica_layer() {
    let cluster = Cluster::builder().nodes(1).start().await.unwrap();
    assert!(cluster.replicas().is_none() && cluster.node_state(0).is_none());
    cluster.stop().await;
}

async fn batch_of(session: &Session, kind: BatchType, cl: Consistency) -> Result<(), DbError> {
    let mut batch = Batch::new(kind);
    for k in ["x1", "x2"] {
        batch.append_statement(format!("INSERT INTO r.kv (k, v) VALUES ('{k}', 'b')").as_str());
    }
    batch.set_consistency(cl);
    session.batch(&batch, ((), ())).await.map(|_| ()).map_err(|e| db_error(&e).expect("a server error").0.clone())
}

/// A replica in the other DC killed: the batch log (local DC only) is written, then the
/// mutations wait for it: WriteTimeout BATCH for a logged batch, UNLOGGED_BATCH otherwise, with
/// EACH_QUORUM's per-DC counts summed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_time_out_with_their_write_type() {
    let mut cluster = cluster(4, &[("dc1", "r1"), ("dc1", "r2"), ("dc1", "r3"), ("dc2", "r1")]).await;
    let session = session(&cluster, Some("dc1")).await;
    schema(&session, "{'class': 'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 1}").await;
    cluster.stop_node(3).await;
    assert_eq!(batch_of(&session, BatchType::Logged, Consistency::LocalQuorum).await, Ok(()), "dc1 answers");
    assert_eq!(
        batch_of(&session, BatchType::Logged, Consistency::EachQuorum).await,
        Err(DbError::WriteTimeout { consistency: Consistency::EachQuorum, received: 2, required: 3, write_type: WriteType::Batch })
    );
    assert_eq!(
        batch_of(&session, BatchType::Unlogged, Consistency::EachQuorum).await,
        Err(DbError::WriteTimeout { consistency: Consistency::EachQuorum, received: 2, required: 3, write_type: WriteType::UnloggedBatch })
    );
    cluster.stop().await;
}
