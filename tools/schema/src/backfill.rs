//! `store-schema backfill-newest`: writes the newest-first rows (and their index rows) of the
//! products stored before `products_by_newest` existed. Reads `products` in token order a page
//! at a time; every row it writes is computed from the product alone, so a rerun (or a run
//! over products that already have their rows) writes the same rows again.
//!
//! Progress is how far round the token ring the scan is, which is known without counting the
//! table first (a count would cost a full scan of its own).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use scylla::response::PagingState;
use store::Db;

/// Progress bar length: parts per million of the token ring.
const RING: u64 = 1_000_000;

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub products: u64,
    pub elapsed: Duration,
}

impl Summary {
    pub fn line(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 { self.products as f64 / secs } else { 0.0 };
        format!(
            "backfilled {} products into products_by_newest in {secs:.1} s ({rate:.0} products/s); rerunning writes the same rows",
            self.products
        )
    }
}

pub async fn backfill_newest(db: &Db) -> Result<Summary, String> {
    let started = Instant::now();
    let bar = ProgressBar::new(RING);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] [{wide_bar}] {percent}% of the token ring, {msg}, ETA {eta}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut products = 0u64;
    let mut from = PagingState::start();
    loop {
        let step = db.backfill_newest_step(from).await.map_err(|e| format!("backfill stopped after {products} products: {e}"))?;
        products += step.written as u64;
        if let Some(token) = step.last_token {
            bar.set_position(ring_position(token));
        }
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!("{products} products, {:.0}/s", products as f64 / secs));
        match step.next {
            Some(next) => from = next,
            None => break,
        }
    }
    bar.finish_and_clear();
    Ok(Summary { products, elapsed: started.elapsed() })
}

/// Where `token` (Murmur3, the whole i64 range) is round the ring, in parts per million.
fn ring_position(token: i64) -> u64 {
    let from_start = (i128::from(token) - i128::from(i64::MIN)) as u128;
    ((from_start * u128::from(RING)) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_positions_span_the_bar() {
        assert_eq!(ring_position(i64::MIN), 0);
        assert_eq!(ring_position(0), RING / 2);
        assert_eq!(ring_position(i64::MAX), RING - 1);
    }
}
