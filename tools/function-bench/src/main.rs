//! `make bench-functions`: each function's release binary run as Lambda runs it, under a
//! stand-in of the Lambda Runtime API, against the CQL node's Cassandra profile and its
//! Keyspaces profile (TLS, SigV4 with temporary credentials). Prints, per function and
//! profile: init (process start to the first `next`), the first invocation, warm p50/p99,
//! CPU time of init and per warm invocation (the process's own accounting), peak RSS, and the
//! sockets open after init. Figures are printed, never asserted.

mod cold_start;
mod events;
mod nodes;
mod runtime_api;
mod usage;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::cold_start::ColdStart;
use crate::events::Function;
use crate::nodes::{Database, Profile};

#[derive(Parser, Debug)]
#[command(name = "function-bench")]
struct Args {
    /// Where the functions' release binaries are (`cargo build --release -p create-product
    /// -p list-products`).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Cold starts per function and profile (medians are printed).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Warm invocations after the first, per cold start.
    #[arg(long, default_value_t = 200)]
    invocations: usize,
    /// Nodes of the Cassandra profile's cluster (the driver discovers them through
    /// system.peers).
    #[arg(long, default_value_t = 3)]
    cassandra_nodes: usize,
    /// Hosts of the Keyspaces profile; default what a public endpoint shows (the host reached
    /// and nine peers).
    #[arg(long)]
    keyspaces_nodes: Option<usize>,
    /// Only these profiles (cassandra, keyspaces).
    #[arg(long, value_delimiter = ',', default_value = "cassandra,keyspaces")]
    profiles: Vec<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match bench(&args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("function-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn bench(args: &Args) -> Result<(), String> {
    let api = runtime_api::RuntimeApi::start().await.map_err(|e| format!("Runtime API stand-in: {e}"))?;
    let logs = std::env::temp_dir().join(format!("function-bench-logs-{}", std::process::id()));
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for name in &args.profiles {
        let profile = match name.as_str() {
            "cassandra" => Profile::Cassandra,
            "keyspaces" => Profile::Keyspaces,
            other => return Err(format!("unknown profile {other:?}: cassandra or keyspaces")),
        };
        let nodes = if profile == Profile::Cassandra { Some(args.cassandra_nodes) } else { args.keyspaces_nodes };
        let db = Database::start(profile, nodes).await?;
        let environment = db.environment();
        // Creates first, so the listing pages over products.
        for function in [Function::CreateProduct, Function::ListProducts] {
            let binary = args.bin_dir.join(function.name());
            if !binary.is_file() {
                return Err(format!("{} is missing: cargo build --release -p {}", binary.display(), function.name()));
            }
            let mut runs = Vec::with_capacity(args.runs);
            for r in 0..args.runs {
                let run = format!("{}-{}-{r}", profile.name(), uuid::Uuid::new_v4().simple());
                let log = logs.join(format!("{}-{}-{r}.log", function.name(), profile.name()));
                let spec = cold_start::Spec { function, binary: &binary, environment: &environment, warm: args.invocations, run, log: &log };
                runs.push(cold_start::run(&api, spec).await?);
            }
            rows.push(Row::from_runs(function, profile, db.nodes(), runs));
        }
        db.stop().await;
    }
    api.stop();
    let _ = std::fs::remove_dir_all(&logs);
    print_table(args, &rows);
    Ok(())
}

struct Row {
    function: Function,
    profile: Profile,
    nodes: usize,
    init: Duration,
    init_cpu: Duration,
    first: Duration,
    warm_p50: Duration,
    warm_p99: Duration,
    warm_cpu: Duration,
    peak_rss_kb: u64,
    sockets: usize,
}

impl Row {
    fn from_runs(function: Function, profile: Profile, nodes: usize, runs: Vec<ColdStart>) -> Row {
        let mut warm: Vec<Duration> = runs.iter().flat_map(|r| r.warm.iter().copied()).collect();
        warm.sort();
        Row {
            function,
            profile,
            nodes,
            init: median(runs.iter().map(|r| r.init)),
            init_cpu: median(runs.iter().map(|r| r.init_cpu)),
            first: median(runs.iter().map(|r| r.first)),
            warm_p50: quantile(&warm, 0.50),
            warm_p99: quantile(&warm, 0.99),
            warm_cpu: median(runs.iter().map(|r| r.warm_cpu_per_invocation)),
            peak_rss_kb: median(runs.iter().map(|r| r.peak_rss_kb)),
            sockets: median(runs.iter().map(|r| r.sockets_after_init)),
        }
    }
}

fn median<T: Ord + Copy + Default>(values: impl Iterator<Item = T>) -> T {
    let mut v: Vec<T> = values.collect();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn print_table(args: &Args, rows: &[Row]) {
    println!(
        "\n{} cold starts per row (medians), {} warm invocations each (p50/p99 over all); CPU from /proc/PID/task/*/schedstat",
        args.runs, args.invocations
    );
    println!(
        "| function | profile (nodes) | init ms | init CPU ms | first ms | warm p50 ms | warm p99 ms | warm CPU ms/inv | peak RSS MB | sockets after init |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} ({}) | {} | {} | {} | {} | {} | {:.3} | {:.1} | {} |",
            r.function.name(),
            r.profile.name(),
            r.nodes,
            ms(r.init),
            ms(r.init_cpu),
            ms(r.first),
            ms(r.warm_p50),
            ms(r.warm_p99),
            r.warm_cpu.as_secs_f64() * 1000.0,
            r.peak_rss_kb as f64 / 1024.0,
            r.sockets,
        );
    }
}
