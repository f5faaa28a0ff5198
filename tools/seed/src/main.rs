//! `store-seed`: writes N fake products (default 1,000,000) into the store's tables with the
//! invariants of `POST /products`: each product holds its SKU by a committed claim (a
//! lightweight transaction, so a SKU someone else holds is skipped, never shared), and its
//! `products` and newest-first rows are written from that claim in one logged batch.
//!
//! Connects as the functions do (STORE_BACKEND, STORE_*, `.env`): the local CQL node, a
//! Cassandra cluster, or Amazon Keyspaces (paced under its per-connection request rate).
//! Interrupt it at any point and run it again: product `i` of a prefix is always the same
//! product, the first run's creation times are kept (read back from product 0's claim), and
//! what an earlier run wrote is written again, identically.

use std::num::NonZeroU32;
use std::process::ExitCode;

use clap::Parser;

use store_seed::run::{self, Plan};

/// Keyspaces serves about 3,000 requests/s per connection; a product costs two.
const KEYSPACES_DEFAULT_RATE: u32 = 1_000;

#[derive(Debug, Parser)]
#[command(about = "Write N fake products with committed SKU claims (idempotent, resumable)")]
struct Args {
    /// How many products the catalogue has (indexes 0..count).
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// Start at this index (product 0 is always seeded first: it fixes the dates).
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// SKU prefix: product i is PREFIX-0000i. Another prefix is another catalogue.
    #[arg(long, default_value = "SEED")]
    prefix: String,
    /// Products in flight at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// At most this many products per second (default: unlimited, or 1000 on Keyspaces).
    #[arg(long)]
    rate: Option<NonZeroU32>,
    /// No progress bar (logs, CI).
    #[arg(long)]
    quiet: bool,
}

// One thread: the driver's connections and the in-flight batches need no more, and the node
// beside it on the same cores gets the rest (1M products into the local node with a data
// directory: 29 s of seeder CPU with the multi-threaded runtime, 19 s with this one).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if let Err(e) = http_api::startup::load_dotenv() {
        eprintln!("store-seed: {e}");
        return ExitCode::from(2);
    }
    tracing_subscriber::fmt().with_target(false).with_writer(std::io::stderr).with_env_filter("warn,store::cursor_key=error").init();
    let args = Args::parse();
    if args.concurrency == 0 || args.from > args.count || store::Sku::parse(&format!("{}-0000000", args.prefix)).is_err() {
        eprintln!("store-seed: --concurrency must be at least 1, --from at most --count, and --prefix make valid SKUs");
        return ExitCode::from(2);
    }
    let db = match http_api::startup::db_from_env() {
        Ok(db) => db,
        Err(e) => {
            eprintln!("store-seed: {e}");
            return ExitCode::from(2);
        }
    };
    let on_keyspaces = std::env::var(http_api::startup::BACKEND).is_ok_and(|b| b.trim() == "keyspaces");
    let rate = args.rate.or_else(|| on_keyspaces.then(|| NonZeroU32::new(KEYSPACES_DEFAULT_RATE).unwrap()));

    let (catalogue, first) = match run::anchored_catalogue(&db, &args.prefix, run::now_ms()).await {
        Ok(anchored) => anchored,
        Err(e) => {
            eprintln!("store-seed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let plan = Plan { from: args.from.max(1).min(args.count), to: args.count, in_flight: args.concurrency, rate, show_progress: !args.quiet };
    match run::seed_range(&db, &catalogue, &plan).await {
        Ok(mut summary) => {
            if args.from == 0 {
                summary.count(&first);
            }
            eprintln!("store-seed: {}", summary.line());
            if summary.interrupted { ExitCode::from(130) } else { ExitCode::SUCCESS }
        }
        Err(e) => {
            eprintln!("store-seed: {e}");
            ExitCode::FAILURE
        }
    }
}
