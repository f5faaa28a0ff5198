//! Listing newest first (`GET /products?order=newest`): pages of `products_by_newest`, found
//! through its index of non-empty partitions (layout in `newest_layout.rs`).
//!
//! The cursor is the last product shown, (created_at, id), signed as a newest-first cursor.
//! The order is total and fixed when a product is written, so a walk shows every product that
//! existed when it started exactly once; products created meanwhile are newer than the cursor
//! and do not appear in it (a new walk shows them first).
//!
//! A page reads: the index rows of the partitions it needs (64 per read) and, per partition,
//! at most `limit + 1` rows (two reads in the cursor's own partition: the rest of its
//! millisecond, then older ones). It never reads an empty partition and never scans the
//! table, so a page costs the same however many products there are.

use futures::future::try_join_all;
use scylla::value::CqlTimestamp;
use uuid::Uuid;

use super::list::Page;
use super::newest_layout::{ListedRow, SHELF, bucket_of, day_of};
use super::read::product;
use crate::cursor::{Cursor, CursorKind};
use crate::db::Db;
use crate::error::StoreError;

/// Index rows read at once: with four shards a minute, at least 16 minutes of them.
const INDEX_READ: i32 = 64;

/// The last product a page showed: the next page starts strictly after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    created_at_ms: i64,
    id: Uuid,
}

impl Position {
    fn to_bytes(self) -> Vec<u8> {
        let mut bytes = self.created_at_ms.to_be_bytes().to_vec();
        bytes.extend_from_slice(self.id.as_bytes());
        bytes
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (at, id) = (bytes.get(..8)?, bytes.get(8..)?);
        Some(Position { created_at_ms: i64::from_be_bytes(at.try_into().ok()?), id: Uuid::from_slice(id).ok()? })
    }
}

impl Db {
    /// One page of products, newest first; `limit` is validated by the caller.
    pub async fn list_newest(&self, limit: i32, cursor: Option<&str>) -> Result<Page, StoreError> {
        let keyspace = self.keyspace().to_owned();
        let key = &self.config().cursor_key;
        let after = match cursor {
            None => None,
            Some(text) => {
                let cursor = Cursor::decode_as(CursorKind::Newest, text, key, &keyspace)
                    .map_err(|e| StoreError::InvalidCursor(e.0.into()))?;
                // Signed by us, so well formed unless the key leaked; still never a 500.
                Some(Position::from_bytes(cursor.paging_state()).ok_or_else(|| StoreError::InvalidCursor("malformed position".into()))?)
            }
        };
        let limit = usize::try_from(limit).unwrap_or(1).max(1);
        // One more than the page, to know whether a next page exists (no empty last page).
        let want = limit + 1;
        let mut rows: Vec<ListedRow> = Vec::with_capacity(want);
        let (mut day, mut top) = match after {
            Some(p) => (Some(day_of(bucket_of(p.created_at_ms))), bucket_of(p.created_at_ms)),
            None => (self.newest_day_at_or_before(i32::MAX).await?, i32::MAX),
        };
        'walk: while let Some(d) = day {
            let entries = self.newest_partitions(d, top).await?;
            let mut groups = group_by_bucket(&entries);
            // A full read may have cut its last minute's shards short: read that minute again.
            let cut = entries.len() == INDEX_READ as usize && groups.len() > 1;
            let resume = if cut { groups.pop().map(|(bucket, _)| bucket) } else { None };
            for (bucket, shards) in groups {
                let bound = after.filter(|p| bucket_of(p.created_at_ms) == bucket);
                rows.extend(self.newest_rows(bucket, &shards, bound, want - rows.len()).await?);
                if rows.len() >= want {
                    break 'walk;
                }
            }
            match resume {
                Some(bucket) => top = bucket,
                None => {
                    day = match d.checked_sub(1) {
                        Some(before) => self.newest_day_at_or_before(before).await?,
                        None => None,
                    };
                    top = i32::MAX;
                }
            }
        }
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| {
                let position = Position { created_at_ms: last.created_at.0, id: last.id };
                Cursor::from_paging_state(&position.to_bytes()).encode_as(CursorKind::Newest, key, &keyspace)
            })
        } else {
            None
        };
        let items = rows
            .iter()
            .map(|r| product((r.id, r.name.clone(), r.sku.clone(), r.price.clone(), r.created_at, r.created_by.clone())))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    /// The newest day at or before `day` that holds products.
    async fn newest_day_at_or_before(&self, day: i32) -> Result<Option<i32>, StoreError> {
        let result = self
            .run_raw(|c| async move { c.session.execute_unpaged(&c.statements.newest_day, (SHELF, day)).await })
            .await??;
        let rows = result.into_rows_result().map_err(internal)?;
        Ok(rows.maybe_first_row::<(i32,)>().map_err(internal)?.map(|(d,)| d))
    }

    /// Up to `INDEX_READ` non-empty (bucket, shard) partitions of `day`, newest first, from
    /// bucket `top` down.
    async fn newest_partitions(&self, day: i32, top: i32) -> Result<Vec<(i32, i32)>, StoreError> {
        let result = self
            .run_raw(|c| async move {
                c.session.execute_unpaged(&c.statements.newest_buckets, (day, top, INDEX_READ)).await
            })
            .await??;
        let rows = result.into_rows_result().map_err(internal)?;
        rows.rows::<(i32, i32)>().map_err(internal)?.map(|r| r.map_err(internal)).collect()
    }

    /// The newest `need` rows of one minute across its `shards`, after `bound` if given.
    async fn newest_rows(
        &self,
        bucket: i32,
        shards: &[i32],
        bound: Option<Position>,
        need: usize,
    ) -> Result<Vec<ListedRow>, StoreError> {
        let need_i32 = i32::try_from(need).unwrap_or(i32::MAX);
        let reads = shards.iter().map(|&shard| async move {
            let mut rows = Vec::new();
            match bound {
                None => rows.extend(self.partition_read(Read::All, bucket, shard, need_i32).await?),
                Some(p) => {
                    rows.extend(self.partition_read(Read::Tied(p), bucket, shard, need_i32).await?);
                    rows.extend(self.partition_read(Read::Before(p), bucket, shard, need_i32).await?);
                }
            }
            Ok::<_, StoreError>(rows)
        });
        let mut rows: Vec<ListedRow> = try_join_all(reads).await?.into_iter().flatten().collect();
        // Newest first, ties by id descending: the order the table clusters in, reversed.
        rows.sort_by_key(|r| std::cmp::Reverse((r.created_at.0, r.id)));
        rows.truncate(need);
        Ok(rows)
    }

    async fn partition_read(&self, read: Read, bucket: i32, shard: i32, limit: i32) -> Result<Vec<ListedRow>, StoreError> {
        let result = self
            .run_raw(|c| async move {
                let st = &c.statements;
                match read {
                    Read::All => c.session.execute_unpaged(&st.newest_rows, (bucket, shard, limit)).await,
                    Read::Before(p) => {
                        let values = (bucket, shard, CqlTimestamp(p.created_at_ms), limit);
                        c.session.execute_unpaged(&st.newest_rows_before, values).await
                    }
                    Read::Tied(p) => {
                        let values = (bucket, shard, CqlTimestamp(p.created_at_ms), p.id, limit);
                        c.session.execute_unpaged(&st.newest_rows_tied, values).await
                    }
                }
            })
            .await??;
        let rows = result.into_rows_result().map_err(internal)?;
        rows.rows::<ListedRow>().map_err(internal)?.map(|r| r.map_err(internal)).collect()
    }
}

#[derive(Debug, Clone, Copy)]
enum Read {
    All,
    /// The rest of the position's millisecond: same `created_at`, smaller id.
    Tied(Position),
    /// Strictly older than the position.
    Before(Position),
}

/// Consecutive index rows of one bucket, in the order read.
fn group_by_bucket(entries: &[(i32, i32)]) -> Vec<(i32, Vec<i32>)> {
    let mut groups: Vec<(i32, Vec<i32>)> = Vec::new();
    for &(bucket, shard) in entries {
        match groups.last_mut() {
            Some((b, shards)) if *b == bucket => shards.push(shard),
            _ => groups.push((bucket, vec![shard])),
        }
    }
    groups
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_odd_bytes_are_refused() {
        let p = Position { created_at_ms: 1_796_083_200_123, id: Uuid::new_v4() };
        assert_eq!(Position::from_bytes(&p.to_bytes()), Some(p));
        assert_eq!(Position::from_bytes(&p.to_bytes()[..23]), None);
        assert_eq!(Position::from_bytes(b""), None);
    }

    #[test]
    fn index_rows_group_by_minute() {
        let groups = group_by_bucket(&[(9, 3), (9, 1), (7, 2), (5, 0), (5, 3)]);
        assert_eq!(groups, vec![(9, vec![3, 1]), (7, vec![2]), (5, vec![0, 3])]);
    }
}
