//! The README's node-down drill (docs/DEPLOY.md), run against the CQL node's three-node set
//! instead of Docker: products created, one node stopped, create and list still succeed at
//! LOCAL_QUORUM with replication factor 3, the node restarted, every product still there.

use cql_node::cluster::Cluster;
use store::Replication;
use store_tests::app::{apply_schema, test_config};
use store_tests::{TestApp, product};

async fn three_node_app() -> TestApp {
    let cluster = Cluster::builder().nodes(3).start().await.expect("three nodes");
    let mut config = test_config(cluster.port());
    config.contact_points = cluster.contact_points().iter().map(|a| a.ip().to_string()).collect();
    config.replication = Replication::Simple { factor: 3 };
    assert_eq!(format!("{:?}", config.consistency), "LocalQuorum", "the drill is about LOCAL_QUORUM");
    apply_schema(&config).await;
    TestApp::new(cluster, config)
}

fn skus(items: &[serde_json::Value]) -> Vec<String> {
    let mut skus: Vec<String> = items.iter().map(|p| p["sku"].as_str().expect("sku").to_owned()).collect();
    skus.sort();
    skus
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_and_list_survive_one_node_down_and_data_is_there_after_restart() {
    store_tests::requires_cql_node!(store_tests::target::NODE_CONTROL);
    let mut app = three_node_app().await;
    for sku in ["DRILL-1", "DRILL-2"] {
        assert_eq!(app.post_product(&product(sku)).await.status, 201);
    }

    app.cluster_mut().stop_node(2).await;
    assert!(!app.cluster_mut().is_running(2));
    let created = app.post_product(&product("DRILL-3")).await;
    assert_eq!(created.status, 201, "create with one node down: {}", created.text);
    assert_eq!(skus(&app.walk(10).await), ["DRILL-1", "DRILL-2", "DRILL-3"]);

    app.cluster_mut().restart_node(2).await.expect("node 3 restarts");
    assert!(app.cluster_mut().is_running(2));
    assert_eq!(skus(&app.walk(10).await), ["DRILL-1", "DRILL-2", "DRILL-3"]);
    // And the restarted node serves: with another node down, the cluster still answers.
    app.cluster_mut().stop_node(0).await;
    assert_eq!(skus(&app.walk(10).await), ["DRILL-1", "DRILL-2", "DRILL-3"]);
    app.into_cluster().stop().await;
}
