//! Three nodes on 127.0.0.1-3 sharing one store: the scylla driver discovers all of them, and
//! keeps reading and writing while one is stopped and after it comes back.

use crate::keyspaces_common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use cql_node::cluster::Cluster;
use keyspaces_common::wait_for;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::prepared::PreparedStatement;

async fn write_and_read(session: &Session, insert: &PreparedStatement, select: &PreparedStatement, keys: std::ops::Range<i32>) {
    for k in keys.clone() {
        session.execute_unpaged(insert, (k, format!("v{k}"))).await.unwrap_or_else(|e| panic!("write {k}: {e:?}"));
    }
    for k in keys {
        let rows = session.execute_unpaged(select, (k,)).await.unwrap_or_else(|e| panic!("read {k}: {e:?}")).into_rows_result().unwrap();
        assert_eq!(rows.single_row::<(String,)>().unwrap().0, format!("v{k}"));
    }
}

async fn connected_nodes(session: &Session) -> BTreeSet<IpAddr> {
    session.get_cluster_state().get_nodes_info().iter().filter(|n| n.is_connected()).map(|n| n.address.ip()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_keeps_working_while_a_node_is_down() {
    let mut cluster = Cluster::builder().nodes(3).start().await.expect("three nodes");
    let all: BTreeSet<IpAddr> = cluster.contact_points().iter().map(|a| a.ip()).collect();
    assert_eq!(all.len(), 3);
    let session = SessionBuilder::new().known_node_addr(cluster.node_addr(0)).build().await.expect("connects");

    // Discovered through system.peers, each with its own tokens, all on one port.
    let nodes = session.get_cluster_state().get_nodes_info().to_vec();
    assert_eq!(nodes.iter().map(|n| n.address.ip()).collect::<BTreeSet<_>>(), all);
    assert!(nodes.iter().all(|n| n.address.port() == cluster.port()));
    let ring = session.get_cluster_state().replica_locator().ring().len();
    assert_eq!(ring, 3, "one token per node");
    let up = wait_for(Duration::from_secs(20), || async { (connected_nodes(&session).await == all).then_some(()) }).await;
    assert!(up.is_some(), "the driver connected to every node");

    for q in [
        "CREATE KEYSPACE c WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
        "CREATE TABLE c.kv (k int PRIMARY KEY, v text)",
    ] {
        session.query_unpaged(q, ()).await.expect(q);
    }
    let mut insert = session.prepare("INSERT INTO c.kv (k, v) VALUES (?, ?)").await.unwrap();
    let mut select = session.prepare("SELECT v FROM c.kv WHERE k = ?").await.unwrap();
    // By-key writes and reads are idempotent: the driver may retry them on another node.
    insert.set_is_idempotent(true);
    select.set_is_idempotent(true);
    write_and_read(&session, &insert, &select, 0..60).await;

    cluster.stop_node(1).await;
    let down = cluster.node_addr(1).ip();
    write_and_read(&session, &insert, &select, 60..120).await;
    write_and_read(&session, &insert, &select, 0..10).await;
    let noticed = wait_for(Duration::from_secs(20), || async { (!connected_nodes(&session).await.contains(&down)).then_some(()) }).await;
    assert!(noticed.is_some(), "the driver saw the node go down");

    cluster.restart_node(1).await.expect("restarts on the same address");
    let back = wait_for(Duration::from_secs(30), || async { connected_nodes(&session).await.contains(&down).then_some(()) }).await;
    assert!(back.is_some(), "the driver reconnected to the restarted node");
    write_and_read(&session, &insert, &select, 120..150).await;
    write_and_read(&session, &insert, &select, 60..70).await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_node_sees_itself_local_and_the_others_as_peers() {
    let cluster = Cluster::builder().nodes(3).start().await.unwrap();
    for i in 0..3 {
        let info = cluster.node_info(i);
        assert_eq!(info.address, cluster.node_addr(i).ip());
        let peers: BTreeSet<IpAddr> = info.peers.iter().map(|p| p.address).collect();
        let others: BTreeSet<IpAddr> = (0..3).filter(|&j| j != i).map(|j| cluster.node_addr(j).ip()).collect();
        assert_eq!(peers, others);
    }
    let tokens: BTreeSet<i64> = (0..3).flat_map(|i| cluster.node_info(i).tokens.clone()).collect();
    assert_eq!(tokens.len(), 3);
    cluster.stop().await;
}

/// A DropConnections fault closes the client connections of every node, whichever node the
/// matching request reached: raw connections held open to all three see end-of-stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_connections_fault_closes_every_nodes_connections() {
    use cql_node::faults::{Fault, FaultKind, Match};
    use tokio::io::AsyncReadExt;

    let cluster = Cluster::builder().nodes(3).start().await.unwrap();
    let mut raw = Vec::new();
    for addr in cluster.contact_points() {
        raw.push(tokio::net::TcpStream::connect(addr).await.expect("raw connection"));
    }
    let session = SessionBuilder::new().known_node_addr(cluster.node_addr(0)).build().await.unwrap();
    cluster.faults().inject(Fault::new(FaultKind::DropConnections).matching(Match::TextContains("release_version".into())).times(1));
    let _ = session.query_unpaged("SELECT release_version FROM system.local", ()).await;
    assert_eq!(cluster.faults().fired_total(), 1);
    for (i, stream) in raw.iter_mut().enumerate() {
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "node {i}'s connection stayed open: {read:?}");
    }
    cluster.stop().await;
}
