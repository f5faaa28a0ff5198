//! The issue-13 figures: twenty clients run `INSERT ... IF NOT EXISTS` on one partition at
//! once, ten times, through the real scylla driver, and the answers are counted as Cassandra
//! 4.1 gave them (applied / not applied / "CAS operation result is unknown" / CAS contention
//! timeout). Against a three-node Cassandra 4.1 cluster the issue measured 10 / 183 / 7 / 0.
//!
//! `cargo run -p cql-node --example lwt_contention [-- --rounds 10 --clients 20 --seed 0]`
//! (the node's default Paxos settings unless `--unknown-rate` or `--timeout-ms` say otherwise).

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use cql_node::cluster::Cluster;
use cql_node::engine::paxos::PaxosConfig;
use cql_node::engine::{Engine, EngineConfig};
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::statement::SerialConsistency;
use scylla::value::{CqlValue, Row};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    #[arg(long, default_value_t = 20)]
    clients: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    unknown_rate: Option<f64>,
    #[arg(long)]
    timeout_ms: Option<u64>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut paxos = PaxosConfig { seed: args.seed, ..Default::default() };
    if let Some(rate) = args.unknown_rate {
        paxos.unknown_rate = rate;
    }
    if let Some(ms) = args.timeout_ms {
        paxos.contention_timeout = Duration::from_millis(ms);
    }
    let engine = Engine::open(EngineConfig { paxos, ..Default::default() }).expect("engine");
    let cluster = Cluster::builder().nodes(1).engine(engine).start().await.expect("node starts");
    let session = Arc::new(SessionBuilder::new().known_node_addr(cluster.node_addr(0)).build().await.expect("connects"));
    for q in [
        "CREATE KEYSPACE c WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
        "CREATE TABLE c.t (k text PRIMARY KEY, a int)",
    ] {
        session.query_unpaged(q, ()).await.expect(q);
    }
    let mut insert = session.prepare("INSERT INTO c.t (k, a) VALUES (?, ?) IF NOT EXISTS").await.expect("prepare");
    insert.set_serial_consistency(Some(SerialConsistency::LocalSerial));
    let (mut applied, mut not_applied, mut unknown, mut timed_out) = (0, 0, 0, 0);
    for round in 0..args.rounds {
        let mut clients = tokio::task::JoinSet::new();
        for a in 0..args.clients as i32 {
            let (session, insert, k) = (session.clone(), insert.clone(), format!("k{round}"));
            clients.spawn(async move { session.execute_unpaged(&insert, (k, a)).await });
        }
        while let Some(answer) = clients.join_next().await {
            match answer.expect("client") {
                Ok(result) => {
                    let row = result.into_rows_result().expect("rows").single_row::<Row>().expect("one row");
                    if row.columns[0] == Some(CqlValue::Boolean(true)) {
                        applied += 1;
                    } else {
                        not_applied += 1;
                    }
                }
                Err(ExecutionError::LastAttemptError(RequestAttemptError::DbError(DbError::WriteTimeout { received, .. }, _))) => {
                    if received == 1 {
                        unknown += 1;
                    } else {
                        timed_out += 1;
                    }
                }
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
    }
    let total = (args.rounds * args.clients) as f64;
    println!(
        "{} rounds x {} clients: applied {applied}, not applied {not_applied}, unknown {unknown} ({:.1}%), contention timeout {timed_out}",
        args.rounds,
        args.clients,
        100.0 * unknown as f64 / total
    );
}
