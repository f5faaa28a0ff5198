//! The row store: per table, partitions in token order, rows in clustering order, cells with
//! write timestamps, TTLs and tombstones, merged last-write-wins as Cassandra does.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use bytes::Bytes;

use super::schema::TableSchema;
use super::value::compare;

pub const NO_DELETION: i64 = i64::MIN;

/// One cell version. `value: None` is a tombstone.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub ts: i64,
    /// Unix seconds at which it expires; 0 = never.
    pub expire: i64,
    pub ttl: i32,
    pub value: Option<Bytes>,
}

impl Cell {
    pub fn live(&self, now: i64) -> bool {
        self.value.is_some() && (self.expire == 0 || self.expire > now)
    }
    pub fn live_value(&self, now: i64) -> Option<&Bytes> {
        if self.live(now) { self.value.as_ref() } else { None }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub ck: Box<[Bytes]>,
    /// INSERT's row marker (liveness without cells); its `value` is an empty marker.
    pub marker: Option<Cell>,
    pub deleted_at: i64,
    pub cells: Vec<Option<Cell>>,
}

impl Row {
    pub fn new(ck: Box<[Bytes]>, slots: usize) -> Row {
        Row {
            ck,
            marker: None,
            deleted_at: NO_DELETION,
            cells: vec![None; slots],
        }
    }
    pub fn is_live(&self, now: i64) -> bool {
        self.marker.as_ref().is_some_and(|m| m.live(now)) || self.cells.iter().flatten().any(|c| c.live(now))
    }
    /// Last-write-wins merge of one cell (a tie on timestamp goes to the tombstone, then to
    /// the greater value, as in Cassandra).
    pub fn write_cell(&mut self, slot: usize, cell: Cell, partition_deleted_at: i64) {
        if cell.ts <= self.deleted_at || cell.ts <= partition_deleted_at {
            return;
        }
        // Columns added by ALTER TABLE have slots past older rows' cells.
        if slot >= self.cells.len() {
            self.cells.resize(slot + 1, None);
        }
        let Some(place) = self.cells.get_mut(slot) else { return };
        let replace = match place {
            None => true,
            Some(old) => match cell.ts.cmp(&old.ts) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => match (&old.value, &cell.value) {
                    (Some(_), None) => true,
                    (None, _) => false,
                    (Some(a), Some(b)) => b > a,
                },
            },
        };
        if replace {
            *place = Some(cell);
        }
    }
    pub fn write_marker(&mut self, marker: Cell, partition_deleted_at: i64) {
        if marker.ts <= self.deleted_at || marker.ts <= partition_deleted_at {
            return;
        }
        if self.marker.as_ref().is_none_or(|m| marker.ts >= m.ts) {
            self.marker = Some(marker);
        }
    }
    /// A row tombstone at `ts`: shadows everything written at or before it.
    pub fn delete(&mut self, ts: i64) {
        self.deleted_at = self.deleted_at.max(ts);
        if self.marker.as_ref().is_some_and(|m| m.ts <= ts) {
            self.marker = None;
        }
        for c in self.cells.iter_mut() {
            if c.as_ref().is_some_and(|x| x.ts <= ts) {
                *c = None;
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub key: Bytes,
    pub deleted_at: i64,
    /// Static cells live in a row with an empty clustering.
    pub statics: Row,
    /// Sorted by the table's clustering order.
    pub rows: Vec<Row>,
}

impl Partition {
    /// Nothing is allocated for cells not yet written: most tables have no static columns
    /// (`write_cell` grows the statics row on the first one), and most partitions of a
    /// key-value table hold one row.
    pub fn new(key: Bytes, _slots: usize) -> Partition {
        Partition {
            key,
            deleted_at: NO_DELETION,
            statics: Row::new(Box::new([]), 0),
            rows: Vec::new(),
        }
    }
    pub fn delete(&mut self, ts: i64) {
        self.deleted_at = self.deleted_at.max(ts);
        self.statics.delete(ts);
        for r in self.rows.iter_mut() {
            r.delete(ts);
        }
        self.rows
            .retain(|r| r.marker.is_some() || r.cells.iter().any(|c| c.is_some()) || r.deleted_at > ts);
    }
    pub fn find(&self, schema: &TableSchema, ck: &[Bytes]) -> Result<usize, usize> {
        self.rows.binary_search_by(|r| compare_clustering(schema, &r.ck, ck))
    }
    pub fn row_mut(&mut self, schema: &TableSchema, ck: &[Bytes]) -> &mut Row {
        let i = match self.find(schema, ck) {
            Ok(i) => i,
            Err(i) => {
                if self.rows.is_empty() {
                    // A first row: room for it alone (Vec would make room for four).
                    self.rows.reserve_exact(1);
                }
                // Own copies: the values may be slices of a request frame, which they would
                // keep alive for as long as the row lives.
                let ck: Box<[Bytes]> = ck.iter().map(|v| Bytes::copy_from_slice(v)).collect();
                self.rows.insert(i, Row::new(ck, schema.slots));
                i
            }
        };
        &mut self.rows[i]
    }
    pub fn has_live_statics(&self, now: i64) -> bool {
        self.statics.cells.iter().flatten().any(|c| c.live(now))
    }
}

/// Compares clustering prefixes in the table's order (DESC columns reversed); a shorter
/// prefix that matches compares equal on the common part, then by length.
pub fn compare_clustering(schema: &TableSchema, a: &[Bytes], b: &[Bytes]) -> Ordering {
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let col = &schema.columns[schema.ck[i]];
        let o = compare(&col.ty, x, y);
        let o = if col.desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Compares only the first `n` clustering values.
pub fn compare_prefix(schema: &TableSchema, row: &[Bytes], prefix: &[Bytes]) -> Ordering {
    let n = prefix.len().min(row.len());
    compare_clustering(schema, &row[..n], &prefix[..n])
}

#[derive(Debug, Default, Clone)]
pub struct TableData {
    /// Keyed by (token, key bytes): Murmur3 order with ties broken by key bytes.
    pub partitions: BTreeMap<(i64, Bytes), Partition>,
}
