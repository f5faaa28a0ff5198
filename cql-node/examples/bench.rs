//! Throughput and p99 latency of the node through the real scylla driver: prepared single-row
//! INSERT, SELECT-by-key and uncontended `INSERT ... IF NOT EXISTS` (a Paxos round each, on
//! keys no other request is using at the time) at concurrency 1 and 64. A benchmark, not a test.
//!
//! `cargo run --release -p cql-node --example bench [-- --addr HOST:PORT --ops N]`
//! Without `--addr` a node is started in this process (so its CPU use counts too).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use cql_node::server::Node;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::prepared::PreparedStatement;

#[derive(Parser)]
struct Args {
    /// A running node to measure; default: start one in this process.
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Operations per measurement at concurrency 64 (a tenth of it at concurrency 1).
    #[arg(long, default_value_t = 100_000)]
    ops: usize,
}

struct Measure {
    name: String,
    ops: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

async fn measure(name: &str, session: &Arc<Session>, stmt: &PreparedStatement, concurrency: usize, ops: usize, write: bool) -> Measure {
    let per_worker = ops / concurrency;
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let (session, stmt) = (session.clone(), stmt.clone());
        workers.spawn(async move {
            let mut lat = Vec::with_capacity(per_worker);
            for i in 0..per_worker {
                // Keys spread over 10,000 rows, so SELECTs hit rows the INSERT phase wrote.
                let k = ((w * per_worker + i) % 10_000) as i64;
                let t = Instant::now();
                let res = if write {
                    session.execute_unpaged(&stmt, (k, "some value of a typical product size")).await
                } else {
                    session.execute_unpaged(&stmt, (k,)).await
                };
                res.expect("request succeeds");
                lat.push(t.elapsed());
            }
            lat
        });
    }
    let mut all = Vec::with_capacity(ops);
    while let Some(lat) = workers.join_next().await {
        all.extend(lat.expect("worker finishes"));
    }
    let elapsed = start.elapsed();
    all.sort_unstable();
    let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default();
    Measure { name: format!("{name} c={concurrency}"), ops: all.len(), elapsed, p50: pct(0.50), p99: pct(0.99) }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let (node, addr) = match args.addr {
        Some(a) => (None, a),
        None => {
            let node = Node::start_default().await.expect("node starts");
            let addr = node.addr();
            (Some(node), addr)
        }
    };
    let session = Arc::new(SessionBuilder::new().known_node_addr(addr).build().await.expect("driver connects"));
    for q in [
        "CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE IF NOT EXISTS bench.kv (k bigint PRIMARY KEY, v text)",
        "CREATE TABLE IF NOT EXISTS bench.claims (k bigint PRIMARY KEY, v text)",
    ] {
        session.query_unpaged(q, ()).await.expect(q);
    }
    let insert = session.prepare("INSERT INTO bench.kv (k, v) VALUES (?, ?)").await.unwrap();
    let select = session.prepare("SELECT v FROM bench.kv WHERE k = ?").await.unwrap();
    let claim = session.prepare("INSERT INTO bench.claims (k, v) VALUES (?, ?) IF NOT EXISTS").await.unwrap();

    // Warm-up: connections, caches, and the rows the SELECTs read.
    measure("warm-up", &session, &insert, 64, 10_000, true).await;

    let mut results = Vec::new();
    for c in [1usize, 64] {
        let ops = if c == 1 { (args.ops / 10).max(1) } else { args.ops };
        results.push(measure("INSERT", &session, &insert, c, ops, true).await);
        results.push(measure("SELECT", &session, &select, c, ops, false).await);
        results.push(measure("INSERT IF NE", &session, &claim, c, ops / 4, true).await);
    }
    println!("{:<16} {:>10} {:>12} {:>10} {:>10}", "statement", "ops", "ops/s", "p50 µs", "p99 µs");
    let (mut total_ops, mut total_time) = (0usize, Duration::ZERO);
    for m in &results {
        total_ops += m.ops;
        total_time += m.elapsed;
        println!(
            "{:<16} {:>10} {:>12.0} {:>10} {:>10}",
            m.name,
            m.ops,
            m.ops as f64 / m.elapsed.as_secs_f64(),
            m.p50.as_micros(),
            m.p99.as_micros()
        );
    }
    println!("total: {total_ops} ops in {:.2} s = {:.0} ops/s", total_time.as_secs_f64(), total_ops as f64 / total_time.as_secs_f64());
    if let Some(node) = node {
        node.stop().await;
    }
}
