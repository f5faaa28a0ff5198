//! The bytes a stored row keeps its contents in: one allocation per row instead of one per
//! cell (issue 9: a million products in at most 1 GB). Layout, all integers little-endian:
//!
//!   row   := flags:u8 [deleted_at:i64 if ROW_DELETED] [cell if ROW_MARKER] (slot:varint cell)*
//!   cell  := flags:u8 ts:zigzag-varint [expire:i64 ttl:i32 if CELL_EXPIRING] [len:varint bytes if CELL_VALUE]
//!
//! A cell's `ts` is stored as the difference from the previous cell's (the marker's for the
//! first cell, 0 for the marker): one statement writes its cells at one timestamp, so most
//! take one byte instead of eight.
//!
//! Cells are in ascending slot order and only the written ones are there, so a column added
//! by ALTER TABLE needs nothing in older rows. A row with nothing at all is zero bytes. The
//! encoding is canonical (one content, one encoding), so equal rows have equal bytes.

pub(super) const ROW_DELETED: u8 = 1;
pub(super) const ROW_MARKER: u8 = 2;
const CELL_VALUE: u8 = 1;
const CELL_EXPIRING: u8 = 2;

/// A cell read in place: `value: None` is a tombstone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellRef<'a> {
    pub ts: i64,
    /// Unix seconds at which it expires; 0 = never.
    pub expire: i64,
    pub ttl: i32,
    pub value: Option<&'a [u8]>,
}

impl<'a> CellRef<'a> {
    pub fn live(&self, now: i64) -> bool {
        self.value.is_some() && (self.expire == 0 || self.expire > now)
    }
    pub fn live_value(&self, now: i64) -> Option<&'a [u8]> {
        if self.live(now) { self.value } else { None }
    }
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// `prev_ts`: the previous cell's timestamp in this row (0 before the first), updated.
pub(super) fn put_cell(out: &mut Vec<u8>, prev_ts: &mut i64, ts: i64, expire: i64, ttl: i32, value: Option<&[u8]>) {
    let expiring = expire != 0 || ttl != 0;
    out.push(if value.is_some() { CELL_VALUE } else { 0 } | if expiring { CELL_EXPIRING } else { 0 });
    let d = ts.wrapping_sub(*prev_ts);
    put_varint(out, ((d << 1) ^ (d >> 63)) as u64);
    *prev_ts = ts;
    if expiring {
        out.extend_from_slice(&expire.to_le_bytes());
        out.extend_from_slice(&ttl.to_le_bytes());
    }
    if let Some(v) = value {
        put_varint(out, v.len() as u64);
        out.extend_from_slice(v);
    }
}

/// Reads the encoding; every read is bounds-checked, so damaged bytes end the read (None)
/// rather than panic.
pub(super) struct Cursor<'a> {
    pub b: &'a [u8],
    pub pos: usize,
    /// The timestamp of the cell read last (the base of the next one's).
    pub prev_ts: i64,
}

impl<'a> Cursor<'a> {
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    pub fn i64(&mut self) -> Option<i64> {
        self.take(8).and_then(|s| s.try_into().ok()).map(i64::from_le_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.take(4).and_then(|s| s.try_into().ok()).map(i32::from_le_bytes)
    }
    pub fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    pub fn cell(&mut self) -> Option<CellRef<'a>> {
        let flags = self.u8()?;
        let z = self.varint()?;
        let ts = self.prev_ts.wrapping_add(((z >> 1) as i64) ^ -((z & 1) as i64));
        self.prev_ts = ts;
        let (expire, ttl) = if flags & CELL_EXPIRING != 0 { (self.i64()?, self.i32()?) } else { (0, 0) };
        let value = if flags & CELL_VALUE != 0 {
            let n = usize::try_from(self.varint()?).ok()?;
            Some(self.take(n)?)
        } else {
            None
        };
        Some(CellRef { ts, expire, ttl, value })
    }
}

/// The cells of an encoded row after its header, in slot order.
pub struct Cells<'a>(pub(super) Cursor<'a>);

impl<'a> Iterator for Cells<'a> {
    type Item = (usize, CellRef<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.0.pos >= self.0.b.len() {
            return None;
        }
        let read = (|| Some((usize::try_from(self.0.varint()?).ok()?, self.0.cell()?)))();
        if read.is_none() {
            // Damaged: stop here for good.
            self.0.pos = self.0.b.len();
        }
        read
    }
}
