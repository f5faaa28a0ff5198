//! A row's clustering values in one allocation (each value a varint length then its bytes)
//! instead of a slice of `Bytes` with one allocation per value: a newest-first row's
//! (created_at, id) costs 32 bytes instead of about 140 (issue 9, memory).

use bytes::Bytes;
use smallvec::SmallVec;

use super::codec::{Cursor, put_varint};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ck(Box<[u8]>);

/// The values of a clustering, borrowed; no allocation up to four columns.
pub type CkValues<'a> = SmallVec<[&'a [u8]; 4]>;

impl Ck {
    pub fn new<V: AsRef<[u8]>>(values: &[V]) -> Ck {
        if values.is_empty() {
            return Ck::default();
        }
        let mut out = Vec::with_capacity(values.iter().map(|v| v.as_ref().len() + 2).sum());
        for v in values {
            put_varint(&mut out, v.as_ref().len() as u64);
            out.extend_from_slice(v.as_ref());
        }
        Ck(Box::from(out.as_slice()))
    }
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut c = Cursor { b: &self.0, pos: 0, prev_ts: 0 };
        std::iter::from_fn(move || {
            if c.pos >= c.b.len() {
                return None;
            }
            let v = usize::try_from(c.varint()?).ok().and_then(|n| c.take(n));
            if v.is_none() {
                // Damaged: stop here for good.
                c.pos = c.b.len();
            }
            v
        })
    }
    pub fn values(&self) -> CkValues<'_> {
        self.iter().collect()
    }
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.iter().nth(i)
    }
    /// Own copies, for what outlives the row (paging states, journal keys).
    pub fn to_vec(&self) -> Vec<Bytes> {
        self.iter().map(Bytes::copy_from_slice).collect()
    }
}
