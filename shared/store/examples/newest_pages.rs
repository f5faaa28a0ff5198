//! Page latency of `GET /products?order=newest` at 1k and 1M products (issue 14), against the
//! CQL node through the real driver, beside the default token order for comparison. A
//! benchmark that prints figures, not a test.
//!
//! `cargo run --release -p store --example newest_pages [-- 1000 1000000]`
//!
//! For each size: a fresh in-memory node in this process (its CPU counts too); the products
//! loaded as a bulk load would write them within ten minutes, each with the logged batch a
//! create ends with (`Db::load_product`: products row, newest-first row, index rows), 256 in
//! flight; then the first page (limit 50) 500 times, and one whole walk, every page timed;
//! "deep" is the last tenth of the walk.

use std::time::{Duration, Instant};

use cql_node::cluster::Cluster;
use futures::StreamExt;
use store::{Config, Db, Page, Price, StoreError};
use uuid::Uuid;

const LIMIT: i32 = 50;
const FIRST_PAGE_RUNS: usize = 500;
const IN_FLIGHT: usize = 256;
/// The load's products are dated over this span, ending an hour ago.
const SPAN_MS: i64 = 10 * 60_000;

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number of products")).collect();
    let sizes = if sizes.is_empty() { vec![1_000, 1_000_000] } else { sizes };
    for n in sizes {
        run(n).await;
    }
}

async fn run(n: usize) {
    let cluster = Cluster::builder().nodes(1).start().await.expect("start the CQL node");
    let config = Config::local(cluster.port());
    let session = store::db::session_builder(&config).build().await.expect("connect");
    store::schema::apply(&session, &store::schema::statements(&config.keyspace, &config.replication)).await.unwrap();
    let db = Db::new(config);

    let end = chrono_now_ms() - 3_600_000;
    let price = Price::parse("9.99").unwrap();
    let started = Instant::now();
    let loads = futures::stream::iter(0..n)
        .map(|i| {
            let db = &db;
            async move {
                let at = end - SPAN_MS + (i as i64 * SPAN_MS) / n as i64;
                db.load_product(Uuid::new_v4(), &format!("Product {i}"), &format!("BULK-{i:07}"), price, at, "bench-loader").await
            }
        })
        .buffer_unordered(IN_FLIGHT);
    let results: Vec<Result<(), StoreError>> = loads.collect().await;
    results.into_iter().collect::<Result<(), _>>().expect("load");
    let load = started.elapsed();
    println!(
        "\n{n} products loaded in {:.1} s ({:.0} products/s, logged batches, {IN_FLIGHT} in flight)",
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64()
    );

    for (name, newest) in [("newest first", true), ("token order ", false)] {
        let page = |cursor: Option<String>| {
            let db = &db;
            async move {
                if newest { db.list_newest(LIMIT, cursor.as_deref()).await } else { db.list_products(LIMIT, cursor.as_deref()).await }
            }
        };
        let mut first = Vec::with_capacity(FIRST_PAGE_RUNS);
        for _ in 0..FIRST_PAGE_RUNS {
            let t = Instant::now();
            page(None).await.expect("first page");
            first.push(t.elapsed());
        }
        let mut walk = Vec::new();
        let mut seen = 0;
        let mut cursor = None;
        loop {
            let t = Instant::now();
            let Page { items, next_cursor } = page(cursor).await.expect("a page");
            walk.push(t.elapsed());
            seen += items.len();
            match next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, n, "{name}: the walk saw every product once");
        let deep = walk[walk.len() - walk.len().div_ceil(10)..].to_vec();
        let walked: Duration = walk.iter().sum();
        println!(
            "  {name}: first page p50 {} p99 {} | walk of {} pages in {:.1} s ({:.0} products/s), p50 {} p99 {} | deep pages p50 {} p99 {}",
            ms(pct(&mut first, 50)),
            ms(pct(&mut first, 99)),
            walk.len(),
            walked.as_secs_f64(),
            n as f64 / walked.as_secs_f64(),
            ms(pct(&mut walk.clone(), 50)),
            ms(pct(&mut walk.clone(), 99)),
            ms(pct(&mut deep.clone(), 50)),
            ms(pct(&mut deep.clone(), 99)),
        );
    }
}

fn pct(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort();
    samples[(samples.len() * p / 100).min(samples.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_millis() as i64
}
