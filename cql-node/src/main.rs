//! `cql-node`: runs one CQL node (a test double, not a database) for local development.
//! Logs go through `tracing` (set `RUST_LOG`, e.g. `RUST_LOG=cql_node=debug`).

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use cql_node::auth::PasswordAuthenticator;
use cql_node::engine::paxos::PaxosConfig;
use cql_node::engine::{Engine, EngineConfig};
use cql_node::keyspaces::cli::TestDoubleArgs;
use cql_node::server::Node;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A small CQL native-protocol v4 node for local runs and tests. It is a test double for
/// Cassandra / Amazon Keyspaces, never a database to keep data in.
#[derive(Parser, Debug)]
#[command(name = "cql-node", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port to listen on (0 picks a free one; the log says which). Default 9042, or 9142
    /// with `--profile keyspaces`.
    #[arg(long)]
    port: Option<u16>,
    /// Directory where data survives restarts (and kill -9); in memory when absent.
    #[arg(long, env = "CQL_NODE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Turn on PasswordAuthenticator with this user, as `name:password` (repeatable; from
    /// the environment: comma-separated). Without any, no authentication is asked.
    #[arg(long = "user", env = "CQL_NODE_USERS", value_delimiter = ',', hide_env_values = true)]
    users: Vec<String>,
    /// How long a lightweight transaction may keep losing Paxos ballots to rivals before it
    /// answers WriteTimeout (CAS), as Cassandra's `cas_contention_timeout`.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    cas_contention_timeout_ms: u64,
    /// The chance that a proposal accepted while rivals run on its partition is answered
    /// "CAS operation result is unknown" (0 to 1).
    #[arg(long, default_value_t = cql_node::engine::paxos::DEFAULT_UNKNOWN_RATE, value_parser = unit_interval)]
    paxos_unknown_rate: f64,
    /// Seeds the Paxos model's draws (pauses after lost ballots, unknown outcomes).
    #[arg(long, default_value_t = 0)]
    paxos_seed: u64,
    /// Profile, several nodes, fault admin API (see FAULTS_AND_PROFILES.md).
    #[command(flatten)]
    extras: TestDoubleArgs,
}

fn unit_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("expected a number from 0 to 1, got {s}")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_ansi(std::io::stdout().is_terminal())
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    // Before anything is logged as listening: a SIGTERM sent on seeing that line must count.
    let shutdown = shutdown_signal();
    let mut users = Vec::with_capacity(args.users.len());
    for spec in &args.users {
        // Report the name only: the spec holds a password.
        let user = PasswordAuthenticator::parse_user(spec)
            .ok_or_else(|| format!("--user must be name:password (got one for '{}')", spec.split(':').next().unwrap_or("")))?;
        users.push(user);
    }
    let paxos = PaxosConfig {
        contention_timeout: std::time::Duration::from_millis(args.cas_contention_timeout_ms),
        unknown_rate: args.paxos_unknown_rate,
        seed: args.paxos_seed,
        draw_alone: false,
    };
    let engine = Engine::open(EngineConfig { data_dir: args.data_dir.clone(), paxos }).map_err(|e| format!("cannot open the data: {e}"))?;
    let port = args.port.unwrap_or_else(|| args.extras.default_port(9042));
    if args.extras.is_active() {
        return run_test_double(args, engine, users, port, shutdown).await;
    }
    let mut builder = Node::builder().bind(SocketAddr::new(args.bind, port)).engine(engine);
    if !users.is_empty() {
        tracing::info!(users = ?users.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), "PasswordAuthenticator on");
        builder = builder.authenticator(Arc::new(PasswordAuthenticator::new(users)));
    }
    let node = builder.start().await.map_err(|e| e.to_string())?;
    tracing::info!(addr = %node.addr(), data_dir = ?args.data_dir, "ready for CQL clients (test double, not a database)");
    shutdown.await;
    tracing::info!("shutting down");
    node.stop().await;
    Ok(())
}

/// Several nodes, the Keyspaces profile and/or the fault admin API (`cql_node::cluster`).
async fn run_test_double(
    args: Args,
    engine: Engine,
    users: Vec<(String, String)>,
    port: u16,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let IpAddr::V4(first) = args.bind else { return Err("--nodes/--profile/--admin need an IPv4 --bind".into()) };
    let auth = (!users.is_empty()).then(|| Arc::new(PasswordAuthenticator::new(users)) as Arc<dyn cql_node::auth::Authenticator>);
    let running = args.extras.start(engine, first, port, auth).await.map_err(|e| e.to_string())?;
    tracing::info!(nodes = ?running.cluster.contact_points(), profile = ?args.extras.profile, admin = ?running.admin.as_ref().map(|(a, _)| a), "ready for CQL clients (test double, not a database)");
    shutdown.await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

/// Installs the SIGTERM/SIGINT handlers now (not when first awaited) and resolves when one
/// arrives.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, int) {
                (Some(mut term), Some(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
