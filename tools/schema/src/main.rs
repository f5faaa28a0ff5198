//! `store-schema`: applies the keyspace and tables, explicitly and idempotently (the functions
//! never run DDL at cold start). Reads the same STORE_* variables as the functions (and
//! `.env`). `--print` shows the CQL instead of running it. `store-schema backfill-newest`
//! writes the newest-first rows of products stored before that table existed.
//!
//! Targets: `cassandra` (Cassandra, ScyllaDB, the local CQL node) lives in `cassandra.rs`.
//! Another target (e.g. Amazon Keyspaces) is one more module with an
//! `async fn apply(&Config, wait: Duration) -> Result<(), String>` and one more `Target` arm.

mod backfill;
mod cassandra;
mod keyspaces;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use store::Config;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Target {
    /// Cassandra's CQL, through the scylla driver (also the local CQL node).
    Cassandra,
    /// Amazon Keyspaces through its control plane (aws-sdk-keyspaces); waits until ACTIVE.
    Keyspaces,
    /// Amazon Keyspaces through CQL (SigV4, TLS) and system_schema_mcs; waits until ACTIVE.
    KeyspacesCql,
}

#[derive(Debug, Parser)]
#[command(about = "Apply the Store Manager schema (idempotent)")]
struct Args {
    #[arg(long, value_enum, default_value = "cassandra")]
    target: Target,
    /// Print the statements instead of running them.
    #[arg(long)]
    print: bool,
    /// Keep retrying the first connection for this many seconds (a node still starting).
    #[arg(long, default_value_t = 0)]
    wait_secs: u64,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the newest-first rows of existing products (idempotent; run after applying the
    /// schema). Connects as the functions do (STORE_BACKEND, STORE_*).
    BackfillNewest,
}

#[tokio::main]
async fn main() -> ExitCode {
    // `.env` as the functions read it: unless STORE_DOTENV=off (make run, the tests).
    if let Err(e) = http_api::startup::load_dotenv() {
        eprintln!("store-schema: {e}");
        return ExitCode::from(2);
    }
    tracing_subscriber::fmt().with_target(false).with_writer(std::io::stderr).init();
    let args = Args::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("store-schema: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::BackfillNewest) = args.command {
        let db = match http_api::startup::db_from_env() {
            Ok(db) => db,
            Err(e) => {
                eprintln!("store-schema: {e}");
                return ExitCode::from(2);
            }
        };
        return match backfill::backfill_newest(&db).await {
            Ok(summary) => {
                eprintln!("store-schema: {}", summary.line());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("store-schema: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.print {
        for statement in store::schema::statements(&config.keyspace, &config.replication) {
            println!("{statement};");
        }
        return ExitCode::SUCCESS;
    }
    let wait = Duration::from_secs(args.wait_secs);
    let result = match args.target {
        Target::Cassandra => cassandra::apply(&config, wait).await,
        Target::Keyspaces => keyspaces::apply_sdk(&config, wait).await,
        Target::KeyspacesCql => keyspaces::apply_cql(&config, wait).await,
    };
    match result {
        Ok(()) => {
            eprintln!("store-schema: keyspace {} is up to date", config.keyspace);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("store-schema: {e}");
            ExitCode::FAILURE
        }
    }
}
