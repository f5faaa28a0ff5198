//! The row store: per table, partitions in token order, rows in clustering order, cells with
//! write timestamps, TTLs and tombstones, merged last-write-wins as Cassandra does.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use bytes::Bytes;
use smallvec::SmallVec;

use super::schema::TableSchema;
use super::value::compare;

mod ck;
mod codec;
mod row;
#[cfg(test)]
mod tests;

pub use ck::Ck;
pub use codec::CellRef;
pub use row::{Cell, Row, RowCells};

pub const NO_DELETION: i64 = i64::MIN;

/// A partition; its key is the map's (`TableData::partitions`), kept once.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub deleted_at: i64,
    /// Static cells live in a row with an empty clustering, allocated on the first static
    /// write: most tables have none.
    pub statics: Option<Box<Row>>,
    /// Sorted by the table's clustering order; a single row sits inline.
    pub rows: SmallVec<[Row; 1]>,
}

impl Default for Partition {
    fn default() -> Self {
        Partition::new()
    }
}

impl Partition {
    /// Nothing is allocated for cells not yet written, and most partitions of a key-value
    /// table hold one row (inline).
    pub fn new() -> Partition {
        Partition {
            deleted_at: NO_DELETION,
            statics: None,
            rows: SmallVec::new(),
        }
    }
    /// The statics row, made on the first static write.
    pub fn statics_mut(&mut self) -> &mut Row {
        self.statics.get_or_insert_with(|| Box::new(Row::new(Ck::default())))
    }
    pub fn delete(&mut self, ts: i64) {
        self.deleted_at = self.deleted_at.max(ts);
        if let Some(s) = self.statics.as_mut() {
            s.delete(ts);
        }
        for r in self.rows.iter_mut() {
            r.delete(ts);
        }
        self.rows.retain(|r| r.has_contents() || r.deleted_at() > ts);
    }
    pub fn find(&self, schema: &TableSchema, ck: &[Bytes]) -> Result<usize, usize> {
        self.rows.binary_search_by(|r| compare_clustering(schema, &r.ck.values(), ck))
    }
    pub fn row_mut(&mut self, schema: &TableSchema, ck: &[Bytes]) -> &mut Row {
        let i = match self.find(schema, ck) {
            Ok(i) => i,
            Err(i) => {
                // An own copy: the values may be slices of a request frame.
                self.rows.insert(i, Row::new(Ck::new(ck)));
                i
            }
        };
        &mut self.rows[i]
    }
    pub fn has_live_statics(&self, now: i64) -> bool {
        self.statics.as_ref().is_some_and(|s| s.has_live_cells(now))
    }
}

/// Compares clustering prefixes in the table's order (DESC columns reversed); a shorter
/// prefix that matches compares equal on the common part, then by length.
pub fn compare_clustering<A: AsRef<[u8]>, B: AsRef<[u8]>>(schema: &TableSchema, a: &[A], b: &[B]) -> Ordering {
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let col = &schema.columns[schema.ck[i]];
        let o = compare(&col.ty, x.as_ref(), y.as_ref());
        let o = if col.desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Compares only the first `n` clustering values.
pub fn compare_prefix<A: AsRef<[u8]>, B: AsRef<[u8]>>(schema: &TableSchema, row: &[A], prefix: &[B]) -> Ordering {
    let n = prefix.len().min(row.len());
    compare_clustering(schema, &row[..n], &prefix[..n])
}

#[derive(Debug, Default, Clone)]
pub struct TableData {
    /// Keyed by (token, key bytes): Murmur3 order with ties broken by key bytes.
    pub partitions: BTreeMap<(i64, Bytes), Partition>,
}
