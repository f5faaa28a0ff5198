//! A stored row: its clustering values and its contents as one encoded allocation
//! (`codec.rs`). Reads look cells up in place; a write decodes the contents into `RowCells`,
//! merges last-write-wins there, and encodes them back.

use std::cmp::Ordering;

use bytes::Bytes;

use super::codec::{Cells, CellRef, Cursor, ROW_DELETED, ROW_MARKER, put_cell, put_varint};
use super::NO_DELETION;
use super::ck::Ck;

/// One cell version, decoded for a write. `value: None` is a tombstone.
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
    fn from_ref(c: CellRef<'_>, value: impl Fn(&[u8]) -> Bytes) -> Cell {
        Cell { ts: c.ts, expire: c.expire, ttl: c.ttl, value: c.value.map(value) }
    }
}

/// A row's contents decoded for a write: the row marker, the row tombstone, and a cell per
/// slot (None where nothing was written).
#[derive(Debug, Clone, PartialEq)]
pub struct RowCells {
    /// INSERT's row marker (liveness without cells); its `value` is an empty marker.
    pub marker: Option<Cell>,
    pub deleted_at: i64,
    pub cells: Vec<Option<Cell>>,
}

impl Default for RowCells {
    fn default() -> Self {
        RowCells { marker: None, deleted_at: NO_DELETION, cells: Vec::new() }
    }
}

impl RowCells {
    /// Sets a slot outright (virtual and system tables, recovery), growing the row as needed.
    pub fn set(&mut self, slot: usize, cell: Option<Cell>) {
        if slot >= self.cells.len() {
            self.cells.resize(slot + 1, None);
        }
        self.cells[slot] = cell;
    }
    /// Last-write-wins merge of one cell (a tie on timestamp goes to the tombstone, then to
    /// the greater value, as in Cassandra).
    pub fn write_cell(&mut self, slot: usize, cell: Cell, partition_deleted_at: i64) {
        if cell.ts <= self.deleted_at || cell.ts <= partition_deleted_at {
            return;
        }
        let replace = match self.cells.get(slot).and_then(|c| c.as_ref()) {
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
            // Columns added by ALTER TABLE have slots past older rows' cells.
            self.set(slot, Some(cell));
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
    /// The canonical encoding (`codec.rs`); nothing at all is zero bytes.
    pub fn encode(&self) -> Box<[u8]> {
        let has_cells = self.cells.iter().any(Option::is_some);
        if self.deleted_at == NO_DELETION && self.marker.is_none() && !has_cells {
            return Box::default();
        }
        let size = 1 + 8 + 32 + self.cells.iter().flatten().map(|c| 16 + c.value.as_ref().map_or(0, |v| v.len())).sum::<usize>();
        let mut out = Vec::with_capacity(size);
        let flags = if self.deleted_at != NO_DELETION { ROW_DELETED } else { 0 } | if self.marker.is_some() { ROW_MARKER } else { 0 };
        out.push(flags);
        if self.deleted_at != NO_DELETION {
            out.extend_from_slice(&self.deleted_at.to_le_bytes());
        }
        let mut prev_ts = 0;
        if let Some(m) = &self.marker {
            put_cell(&mut out, &mut prev_ts, m.ts, m.expire, m.ttl, m.value.as_deref());
        }
        for (slot, c) in self.cells.iter().enumerate() {
            if let Some(c) = c {
                put_varint(&mut out, slot as u64);
                put_cell(&mut out, &mut prev_ts, c.ts, c.expire, c.ttl, c.value.as_deref());
            }
        }
        // An exact copy rather than `into_boxed_slice`: shrinking in place would leave a
        // small free chunk beside every long-lived row (heap fragmentation, RSS).
        Box::from(out.as_slice())
    }
}

/// A stored row: 32 bytes, one allocation for its clustering (none without) and one for its
/// contents (none when empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub ck: Ck,
    data: Box<[u8]>,
}

impl Row {
    pub fn new(ck: Ck) -> Row {
        Row { ck, data: Box::default() }
    }
    pub fn from_cells(ck: Ck, cells: &RowCells) -> Row {
        Row { ck, data: cells.encode() }
    }
    /// The row tombstone, the marker, and a cursor at the first cell.
    fn header(&self) -> (i64, Option<CellRef<'_>>, Cursor<'_>) {
        let mut c = Cursor { b: &self.data, pos: 0, prev_ts: 0 };
        let Some(flags) = c.u8() else { return (NO_DELETION, None, c) };
        let deleted_at = if flags & ROW_DELETED != 0 { c.i64().unwrap_or(NO_DELETION) } else { NO_DELETION };
        let marker = if flags & ROW_MARKER != 0 { c.cell() } else { None };
        (deleted_at, marker, c)
    }
    pub fn deleted_at(&self) -> i64 {
        self.header().0
    }
    pub fn marker(&self) -> Option<CellRef<'_>> {
        self.header().1
    }
    /// The written cells in slot order (tombstones included).
    pub fn cells(&self) -> Cells<'_> {
        Cells(self.header().2)
    }
    pub fn cell(&self, slot: usize) -> Option<CellRef<'_>> {
        self.cells().take_while(|(s, _)| *s <= slot).find(|(s, _)| *s == slot).map(|(_, c)| c)
    }
    pub fn is_live(&self, now: i64) -> bool {
        self.marker().is_some_and(|m| m.live(now)) || self.has_live_cells(now)
    }
    pub fn has_live_cells(&self, now: i64) -> bool {
        self.cells().any(|(_, c)| c.live(now))
    }
    /// A marker or a cell (live, expired or tombstone) is there.
    pub fn has_contents(&self) -> bool {
        self.marker().is_some() || self.cells().next().is_some()
    }
    /// Decodes the contents; the values are slices of one copy of the encoding.
    pub fn contents(&self) -> RowCells {
        let (deleted_at, marker, _) = self.header();
        let buf = Bytes::copy_from_slice(&self.data);
        let base = self.data.as_ptr() as usize;
        let value = |v: &[u8]| {
            let at = v.as_ptr() as usize - base;
            buf.slice(at..at + v.len())
        };
        let mut out = RowCells { marker: marker.map(|m| Cell::from_ref(m, value)), deleted_at, cells: Vec::new() };
        for (slot, c) in self.cells() {
            out.set(slot, Some(Cell::from_ref(c, value)));
        }
        out
    }
    /// Decodes, lets `f` change the contents, encodes them back.
    pub fn update<R>(&mut self, f: impl FnOnce(&mut RowCells) -> R) -> R {
        let mut cells = self.contents();
        let r = f(&mut cells);
        self.data = cells.encode();
        r
    }
    pub fn delete(&mut self, ts: i64) {
        self.update(|c| c.delete(ts));
    }
    #[cfg(test)]
    pub(super) fn with_data_for_tests(ck: Ck, data: Box<[u8]>) -> Row {
        Row { ck, data }
    }
    /// Bytes held by the contents (the benchmarks' and tests' measure).
    pub fn encoded_len(&self) -> usize {
        self.data.len()
    }
}
