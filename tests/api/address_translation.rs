//! Issue 10, point 5: nodes that advertise addresses this process cannot reach (the compose
//! cluster seen from a Docker Desktop host: container addresses, ports published elsewhere).
//! Here three CQL nodes listen on 127.0.0.1-3:P and advertise 127.0.0.201-203:9042, where
//! nothing listens. `STORE_ADDRESS_TRANSLATION` maps them back.

use std::net::{IpAddr, SocketAddr};

use cql_node::cluster::Cluster;
use scylla::policies::load_balancing::{NodeIdentifier, SingleTargetLoadBalancingPolicy};
use scylla::statement::Statement;
use store::AddressTranslation;
use store_tests::app::{apply_schema, test_config};
use store_tests::{TestApp, product};

const NODES: usize = 3;

fn advertised(i: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 201 + i as u8], 9042))
}

async fn cluster() -> Cluster {
    for i in 0..NODES {
        // The test's premise: the advertised addresses lead nowhere.
        assert!(std::net::TcpStream::connect(advertised(i)).is_err(), "something listens on {}", advertised(i));
    }
    Cluster::builder().nodes(NODES).advertise((0..NODES).map(advertised).collect()).start().await.expect("start the nodes")
}

/// `ADVERTISED=REACHABLE,...` for `cluster`, as a user would write it: by ip, because the
/// driver pairs a node's advertised ip with the contact point's port (here the cluster's, not
/// the advertised 9042).
fn translation(cluster: &Cluster) -> String {
    (0..NODES).map(|i| format!("{}={}", advertised(i).ip(), cluster.node_addr(i))).collect::<Vec<_>>().join(",")
}

#[tokio::test]
async fn with_the_translation_every_node_is_reached_and_the_api_works() {
    store_tests::requires_cql_node!(store_tests::target::OWN_NODE);
    let cluster = cluster().await;
    let mut config = test_config(cluster.port());
    config.address_translation = Some(AddressTranslation::parse(&translation(&cluster)).unwrap());

    // The driver knows every node by its advertised address, and reaches each through the
    // translated one: a query sent to that node alone answers with the node's own address.
    let session = store::db::session_builder(&config).build().await.expect("connect");
    let state = session.get_cluster_state();
    let mut answered = Vec::new();
    for node in state.get_nodes_info() {
        let mut query = Statement::new("SELECT rpc_address FROM system.local");
        query.set_load_balancing_policy(Some(SingleTargetLoadBalancingPolicy::new(NodeIdentifier::Node(node.clone()), None)));
        let rows = session.query_unpaged(query, &[]).await.unwrap_or_else(|e| panic!("{}: {e}", node.address)).into_rows_result().unwrap();
        let (rpc_address,): (IpAddr,) = rows.single_row().unwrap();
        assert_eq!(rpc_address, node.address.ip(), "the node the driver knows as {} answered", node.address);
        answered.push(rpc_address);
    }
    answered.sort();
    assert_eq!(answered, (0..NODES).map(|i| advertised(i).ip()).collect::<Vec<_>>());

    apply_schema(&config).await;
    let app = TestApp::new(cluster, config);
    for i in 0..6 {
        let r = app.post_product(&product(&format!("AT-{i}"))).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    assert_eq!(app.listed_ids().await.len(), 6);
}

#[tokio::test]
async fn without_it_the_driver_cannot_reach_the_advertised_nodes() {
    store_tests::requires_cql_node!(store_tests::target::OWN_NODE);
    let cluster = cluster().await;
    let mut config = test_config(cluster.port());
    config.address_translation = Some(AddressTranslation::parse(&translation(&cluster)).unwrap());
    apply_schema(&config).await;
    // The same cluster, the same contact point, no translation: the contact point answers
    // the handshake, but every node the driver learns of is somewhere nothing listens.
    config.address_translation = None;
    let app = TestApp::new(cluster, config);
    let created = app.post_product(&product("AT-NONE")).await;
    assert_eq!((created.status, created.json["outcome"].as_str()), (503, Some("not_created")), "{}", created.text);
    let listed = app.list(&[]).await;
    assert_eq!((listed.status, listed.json["outcome"].as_str()), (503, Some("not_done")), "{}", listed.text);
}
