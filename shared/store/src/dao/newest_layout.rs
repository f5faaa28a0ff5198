//! Where a product's newest-first row lives: pure functions of its id and creation time, so
//! every writer (a create, a roll-forward of a holder, the backfill) puts one product in one
//! place, and rewriting it is idempotent.
//!
//! `products_by_newest` is partitioned by (bucket, shard): the bucket is the minute of
//! creation, so a partition stops growing once its minute is over; the shard (a hash of the
//! id) splits a minute four ways, so a bulk load of a million products in minutes still makes
//! partitions of tens of thousands of rows and spreads its writes over four replica sets.
//! `products_newest_buckets` lists the non-empty (bucket, shard) pairs of each day, and
//! `products_newest_days` the non-empty days, so a walk reaches the next rows in one read
//! however many minutes (or days) were empty.

use std::collections::HashSet;
use std::sync::Mutex;

use scylla::value::CqlTimestamp;
use scylla::{DeserializeRow, SerializeRow};
use uuid::Uuid;

/// Partitions per minute. Four keeps a page at four small reads while the per-partition write
/// ceiling (about 1,000 rows/s on Amazon Keyspaces) allows 4,000 creates/s.
pub const SHARDS: i32 = 4;
const BUCKET_MS: i64 = 60_000;
const BUCKETS_PER_DAY: i32 = 24 * 60;
/// The one partition of `products_newest_days`.
pub const SHELF: i32 = 0;

/// Minutes since the Unix epoch (an `int` lasts until the year 6053).
pub fn bucket_of(created_at_ms: i64) -> i32 {
    i32::try_from(created_at_ms.div_euclid(BUCKET_MS)).unwrap_or(if created_at_ms < 0 { i32::MIN } else { i32::MAX })
}

pub fn day_of(bucket: i32) -> i32 {
    bucket.div_euclid(BUCKETS_PER_DAY)
}

pub fn shard_of(id: Uuid) -> i32 {
    (id.as_u128() % SHARDS as u128) as i32
}

/// One `products_by_newest` row, bound by column name (so the statement's column list, built
/// from `schema::NEWEST_COPIED_COLUMNS`, may come in any order).
#[derive(Debug, Clone, SerializeRow)]
pub struct NewestRow {
    pub bucket: i32,
    pub shard: i32,
    pub created_at: CqlTimestamp,
    pub id: Uuid,
    pub name: String,
    pub sku: String,
    pub price: scylla::value::CqlDecimal,
    pub created_by: Option<String>,
}

impl NewestRow {
    pub fn new(
        id: Uuid,
        name: &str,
        sku: &str,
        price: scylla::value::CqlDecimal,
        created_at_ms: i64,
        created_by: Option<&str>,
    ) -> Self {
        NewestRow {
            bucket: bucket_of(created_at_ms),
            shard: shard_of(id),
            created_at: CqlTimestamp(created_at_ms),
            id,
            name: name.to_owned(),
            sku: sku.to_owned(),
            price,
            created_by: created_by.map(str::to_owned),
        }
    }

    /// The index rows that make this row's partition findable.
    pub fn index(&self) -> (BucketEntry, DayEntry) {
        let day = day_of(self.bucket);
        (BucketEntry { day, bucket: self.bucket, shard: self.shard }, DayEntry { shelf: SHELF, day })
    }
}

/// A `products_newest_buckets` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SerializeRow)]
pub struct BucketEntry {
    pub day: i32,
    pub bucket: i32,
    pub shard: i32,
}

/// A `products_newest_days` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, SerializeRow)]
pub struct DayEntry {
    pub shelf: i32,
    pub day: i32,
}

/// The index rows this process has written (in a batch that succeeded): a create leaves them
/// out of its batch when they are here, so the few index rows of a minute are not rewritten
/// by every create (one hot row), only once per process and partition. Index rows are never
/// deleted, so a cached entry stays true.
#[derive(Debug, Default)]
pub struct IndexedPartitions(Mutex<HashSet<BucketEntry>>);

/// Enough for every partition of the last hours; past it, start over (a few rewrites).
const MAX_REMEMBERED: usize = 4096;

impl IndexedPartitions {
    pub fn contains(&self, entry: &BucketEntry) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).contains(entry)
    }

    pub fn insert(&self, entry: BucketEntry) {
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if set.len() >= MAX_REMEMBERED {
            set.clear();
        }
        set.insert(entry);
    }
}

/// A page's row as read back, by column name.
#[derive(Debug, Clone, DeserializeRow)]
pub struct ListedRow {
    pub id: Uuid,
    pub created_at: CqlTimestamp,
    pub name: String,
    pub sku: String,
    pub price: scylla::value::CqlDecimal,
    pub created_by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_minutes_and_days_group_them() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(59_999), 0);
        assert_eq!(bucket_of(60_000), 1);
        assert_eq!(bucket_of(-1), -1);
        assert_eq!(day_of(1439), 0);
        assert_eq!(day_of(1440), 1);
        assert_eq!(day_of(-1), -1);
        // 2026-12-01T00:00:00Z
        assert_eq!(day_of(bucket_of(1_796_083_200_000)), 20_788);
    }

    #[test]
    fn shards_spread_ids_and_are_stable() {
        let mut counts = [0; SHARDS as usize];
        for _ in 0..4000 {
            let id = Uuid::new_v4();
            assert_eq!(shard_of(id), shard_of(id));
            counts[shard_of(id) as usize] += 1;
        }
        assert!(counts.iter().all(|&n| n > 800), "{counts:?}");
    }
}
