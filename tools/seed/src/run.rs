//! Seeding a range of the catalogue: batches of a few products, many in flight, each retried
//! on a transient error (every write is safe to repeat), paced when asked, with progress
//! shown.

use std::num::NonZeroU32;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use indicatif::{ProgressBar, ProgressStyle};
use store::{Db, MAX_SEED_BATCH, Seeded, StoreError};

use crate::catalogue::Catalogue;

/// What a loader records as the creator of what it writes.
pub const CREATED_BY: &str = "store-seed";
/// Tries of one product before the run stops (then a rerun resumes it).
const ATTEMPTS: u32 = 6;
const FIRST_PAUSE: Duration = Duration::from_millis(50);

pub struct Plan {
    pub from: u64,
    pub to: u64,
    pub in_flight: usize,
    /// Products per second at most (None: as fast as the cluster answers).
    pub rate: Option<NonZeroU32>,
    pub show_progress: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub written: u64,
    /// Claimed by an earlier run: rows written again from the claim.
    pub already_there: u64,
    /// Held by a product that is not the catalogue's: left alone.
    pub taken: u64,
    pub elapsed: Duration,
    pub interrupted: bool,
}

impl Summary {
    pub fn products(&self) -> u64 {
        self.written + self.already_there + self.taken
    }

    pub fn line(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 { self.products() as f64 / secs } else { 0.0 };
        format!(
            "{} {} products in {secs:.1} s ({rate:.0} products/s): {} written, {} already there (rows rewritten), {} skipped (SKU held by another product){}",
            if self.interrupted { "interrupted after" } else { "seeded" },
            self.products(),
            self.written,
            self.already_there,
            self.taken,
            if self.interrupted { "; rerun the same command to finish" } else { "" },
        )
    }

    pub fn count(&mut self, outcome: &Seeded) {
        match outcome {
            Seeded::Written => self.written += 1,
            Seeded::AlreadyClaimed { .. } => self.already_there += 1,
            Seeded::SkuTaken { .. } => self.taken += 1,
        }
    }
}

/// Seeds product 0 and takes the catalogue's dates from its claim: now on a first run, the
/// first run's on a rerun, so every rerun computes the rows the first one wrote.
/// Also says what became of product 0.
pub async fn anchored_catalogue(db: &Db, prefix: &str, now_ms: i64) -> Result<(Catalogue, Seeded), String> {
    let fresh = Catalogue::new(prefix, now_ms - now_ms % 1_000);
    let first = seed_some(db, &fresh, 0..1).await.map_err(|e| format!("could not seed the first product: {e}"))?;
    match first.into_iter().next().expect("one product, one outcome") {
        Seeded::Written => Ok((fresh, Seeded::Written)),
        Seeded::AlreadyClaimed { created_at_ms } => Ok((fresh.with_newest(created_at_ms), Seeded::AlreadyClaimed { created_at_ms })),
        Seeded::SkuTaken { holder } => Err(format!(
            "{} is held by another product ({}); choose another --prefix",
            fresh.sku(0),
            holder.map_or("a create in flight".to_owned(), |id| id.to_string())
        )),
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Products `indexes` of the catalogue (at most `MAX_SEED_BATCH`), retrying what may
/// succeed on a second try.
pub async fn seed_some(db: &Db, catalogue: &Catalogue, indexes: Range<u64>) -> Result<Vec<Seeded>, StoreError> {
    let products: Vec<_> = indexes.map(|i| catalogue.product(i)).collect();
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match db.seed_products(&products, CREATED_BY).await {
            Err(e) if e.is_unavailable() && attempt < ATTEMPTS => {
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Seeds `plan.from..plan.to`; stops early on ctrl-c (what is in flight finishes) or on the
/// first product that fails all its tries, saying which.
pub async fn seed_range(db: &Db, catalogue: &Catalogue, plan: &Plan) -> Result<Summary, String> {
    let started = Instant::now();
    let bar = progress_bar(plan);
    let limiter: Option<Arc<DefaultDirectRateLimiter>> = plan.rate.map(|r| Arc::new(RateLimiter::direct(Quota::per_second(r))));
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let batch = MAX_SEED_BATCH as u64;
    let batches = (plan.from..plan.to).step_by(MAX_SEED_BATCH).map(|start| start..(start + batch).min(plan.to));
    let mut results = futures::stream::iter(batches)
        .map(|indexes| {
            let limiter = limiter.clone();
            async move {
                if let Some(limiter) = limiter {
                    let n = NonZeroU32::new(indexes.end.saturating_sub(indexes.start) as u32).unwrap_or(NonZeroU32::MIN);
                    let _ = limiter.until_n_ready(n).await;
                }
                (indexes.start, seed_some(db, catalogue, indexes).await)
            }
        })
        .buffer_unordered(plan.in_flight.div_ceil(MAX_SEED_BATCH));
    let mut summary = Summary::default();
    loop {
        let next = tokio::select! {
            next = results.next() => next,
            _ = &mut interrupt => {
                summary.interrupted = true;
                break;
            }
        };
        let Some((index, result)) = next else { break };
        match result {
            Ok(outcomes) => {
                outcomes.iter().for_each(|o| summary.count(o));
                bar.inc(outcomes.len() as u64);
            }
            Err(e) => {
                bar.abandon();
                return Err(format!(
                    "stopped at products from {index} ({}) after {} products: {e}; rerun the same command to resume",
                    catalogue.sku(index),
                    summary.products()
                ));
            }
        }
        if summary.taken > 0 {
            bar.set_message(format!("{} SKUs held by other products, skipped", summary.taken));
        }
    }
    bar.finish_and_clear();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn progress_bar(plan: &Plan) -> ProgressBar {
    if !plan.show_progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(plan.to - plan.from);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{wide_bar}] {human_pos}/{human_len} products, {per_sec}, ETA {eta} {msg}",
    )
    .expect("a valid template")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
