//! What the list-page cache buys (issue 9): the real handlers, the CQL node through the real
//! driver and a real Redis (`redis-server`), under the course lab's mix (two reads for one
//! write) and a read-heavy one (95/5), each without and with the cache, side by side. A
//! benchmark that prints figures, not a test.
//!
//! `cargo run --release -p store-tests --example cache_mix [-- SECONDS USERS PRODUCTS]`
//! (defaults 15 s, 16 users, 10,000 products)
//!
//! Users run closed-loop (the next request as soon as the last answered, no think time), so
//! the figures are the capacity of this process and its node. A read is `GET /products`
//! (limit 20), and half the time the next page through its cursor; a write creates a product
//! with a fresh SKU. Every create invalidates every cached page (the cache's correctness rule),
//! so the write share sets the hit ratio.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use store_seed::run::{Plan, anchored_catalogue, now_ms, seed_range};
use store_tests::app::list_request;
use store_tests::redis::RedisServer;
use store_tests::{TestApp, TestResponse, product, spawn_app, spawn_app_cached};

struct Figures {
    reads: Vec<Duration>,
    writes: Vec<Duration>,
    hits: u64,
    elapsed: Duration,
}

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().expect("numbers: SECONDS USERS PRODUCTS")).collect();
    let seconds = args.first().copied().unwrap_or(15);
    let users = args.get(1).copied().unwrap_or(16) as usize;
    let products = args.get(2).copied().unwrap_or(10_000);
    let redis = RedisServer::start();

    println!("{products} products seeded per run; {users} users, closed loop, {seconds} s per row\n");
    println!("| mix | cache | reads/s | read p50 | read p99 | writes/s | write p50 | write p99 | hit ratio |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (mix, read_share) in [("2/3 reads (the lab's)", 2.0 / 3.0), ("95/5 (read-heavy)", 0.95)] {
        for cached in [false, true] {
            // A fresh node and keyspace per row: every row starts from the same catalogue.
            let app = if cached { spawn_app_cached(&redis.url()).await } else { spawn_app().await };
            let (catalogue, _) = anchored_catalogue(&app.create_db, "MIX", now_ms()).await.expect("seed");
            let plan = Plan { from: 1, to: products, in_flight: 256, rate: None, show_progress: false };
            seed_range(&app.create_db, &catalogue, &plan).await.expect("seed");
            let f = run(Arc::new(app), users, read_share, Duration::from_secs(seconds)).await;
            let secs = f.elapsed.as_secs_f64();
            let hit_ratio = if cached { format!("{:.1}%", 100.0 * f.hits as f64 / f.reads.len().max(1) as f64) } else { "-".into() };
            println!(
                "| {mix} | {} | {:.0} | {} | {} | {:.0} | {} | {} | {hit_ratio} |",
                if cached { "Redis" } else { "off" },
                f.reads.len() as f64 / secs,
                ms(quantile(&f.reads, 0.50)),
                ms(quantile(&f.reads, 0.99)),
                f.writes.len() as f64 / secs,
                ms(quantile(&f.writes, 0.50)),
                ms(quantile(&f.writes, 0.99)),
            );
        }
    }
}

async fn run(app: Arc<TestApp>, users: usize, read_share: f64, length: Duration) -> Figures {
    let started = Instant::now();
    let until = started + length;
    let sku_counter = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..users)
        .map(|user| {
            let app = app.clone();
            let sku_counter = sku_counter.clone();
            tokio::spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(user as u64);
                let (mut reads, mut writes, mut hits) = (Vec::new(), Vec::new(), 0u64);
                while Instant::now() < until {
                    if rng.random_bool(read_share) {
                        let t = Instant::now();
                        let first = list(&app, &[("limit", "20")]).await;
                        reads.push(t.elapsed());
                        hits += u64::from(is_hit(&first));
                        if let (true, Some(cursor)) = (rng.random_bool(0.5), first.json["next_cursor"].as_str()) {
                            let t = Instant::now();
                            let next = list(&app, &[("limit", "20"), ("cursor", cursor)]).await;
                            reads.push(t.elapsed());
                            hits += u64::from(is_hit(&next));
                        }
                    } else {
                        let sku = format!("MIXW-{}", sku_counter.fetch_add(1, Ordering::Relaxed));
                        let t = Instant::now();
                        let r = app.post_product(&product(&sku)).await;
                        writes.push(t.elapsed());
                        assert_eq!(r.status, 201, "{}", r.text);
                    }
                }
                (reads, writes, hits)
            })
        })
        .collect();
    let mut figures = Figures { reads: Vec::new(), writes: Vec::new(), hits: 0, elapsed: Duration::ZERO };
    for task in tasks {
        let (reads, writes, hits) = task.await.expect("a user");
        figures.reads.extend(reads);
        figures.writes.extend(writes);
        figures.hits += hits;
    }
    figures.elapsed = started.elapsed();
    figures
}

async fn list(app: &TestApp, params: &[(&str, &str)]) -> TestResponse {
    let r = app.send_list(list_request(params)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

fn is_hit(r: &TestResponse) -> bool {
    r.header("cache-status").is_some_and(|s| s.ends_with("; hit"))
}

fn quantile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted.get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
