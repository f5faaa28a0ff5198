//! The admin API's node control (`replication::admin`), served as the binary serves it beside
//! the fault API, driven by a real HTTP client: kill a node (unnoticed), convict it, start it;
//! see the hints a stopped node waits for, and deliver them.

use cql_node::cluster::Cluster;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_can_be_killed_convicted_stopped_and_started_over_http() {
    let cluster = Cluster::builder().nodes(3).placement([("dc1", "r1"), ("dc1", "r2"), ("dc1", "r3")]).start().await.expect("cluster");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes = cql_node::replication::admin::router(cluster.control());
    let server = tokio::spawn(async move { axum_serve(listener, routes).await });
    let http = reqwest::Client::new();
    let post = |path: &str| {
        let url = format!("{base}{path}");
        let http = http.clone();
        async move {
            let r = http.post(url).send().await.expect("admin answers");
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    let nodes: Value = http.get(format!("{base}/nodes")).send().await.unwrap().json().await.unwrap();
    assert_eq!(nodes.as_array().unwrap().len(), 3);
    assert_eq!(nodes[1]["rack"], "r2");
    assert_eq!(nodes[1]["state"], "up");

    let (status, node) = post("/nodes/1/kill").await;
    assert_eq!((status, node["running"].clone(), node["state"].clone()), (200, Value::Bool(false), "unnoticed".into()));
    assert!(!cluster.is_running(1));
    let (_, node) = post("/nodes/1/convict").await;
    assert_eq!(node["state"], "down");
    let (_, node) = post("/nodes/1/start").await;
    assert_eq!((node["running"].clone(), node["state"].clone()), (Value::Bool(true), "up".into()));
    assert!(cluster.is_running(1));
    let session = crate::support::session(cluster.node_addr(0)).await;
    for q in [
        "CREATE KEYSPACE r WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
        "CREATE TABLE r.kv (k text PRIMARY KEY, v text)",
    ] {
        session.query_unpaged(q, ()).await.expect(q);
    }
    let (_, node) = post("/nodes/2/stop").await;
    assert_eq!(node["state"], "down", "a clean stop is known at once");
    assert_eq!(post("/nodes/7/kill").await.0, 404);

    // A write node 2 misses is hinted; started again, its hint waits for the delay, or for
    // POST /hints/deliver.
    let mut insert = scylla::statement::unprepared::Statement::new("INSERT INTO r.kv (k, v) VALUES ('a', 'x')");
    insert.set_consistency(scylla::statement::Consistency::One);
    session.query_unpaged(insert, ()).await.expect("two replicas answer");
    let nodes: Value = http.get(format!("{base}/nodes")).send().await.unwrap().json().await.unwrap();
    assert_eq!(nodes[2]["hints"], 1);
    post("/nodes/2/start").await;
    assert_eq!(post("/hints/deliver").await, (200, serde_json::json!({"delivered": 1})));
    assert_eq!(post("/hints/deliver").await.1["delivered"], 0, "delivered once");
    let nodes: Value = http.get(format!("{base}/nodes")).send().await.unwrap().json().await.unwrap();
    assert_eq!(nodes[2]["hints"], 0);

    server.abort();
    cluster.stop().await;
}

async fn axum_serve(listener: tokio::net::TcpListener, routes: axum::Router) -> std::io::Result<()> {
    axum::serve(listener, routes).await
}
