//! The paging state handed to clients: the position of the last row returned (partition token
//! and key, clustering values) plus what is left of LIMIT / PER PARTITION LIMIT. Resuming
//! from a position rather than an offset means rows written between pages are neither
//! skipped nor repeated.

use bytes::Bytes;

use crate::error::{CqlError, CqlResult};

const MAGIC: u8 = 0xC5;

#[derive(Debug, Clone, PartialEq)]
pub struct PagingState {
    pub token: i64,
    pub key: Bytes,
    pub ck: Vec<Bytes>,
    pub remaining: Option<usize>,
    pub partition_remaining: Option<usize>,
}

fn put_opt(out: &mut Vec<u8>, v: Option<usize>) {
    let v = v.map(|x| x.min(i32::MAX as usize) as i32).unwrap_or(-1);
    out.extend_from_slice(&v.to_be_bytes());
}

impl PagingState {
    pub fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(32 + self.key.len());
        out.push(MAGIC);
        out.extend_from_slice(&self.token.to_be_bytes());
        out.extend_from_slice(&(self.key.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&(self.ck.len() as u16).to_be_bytes());
        for c in &self.ck {
            out.extend_from_slice(&(c.len() as u32).to_be_bytes());
            out.extend_from_slice(c);
        }
        put_opt(&mut out, self.remaining);
        put_opt(&mut out, self.partition_remaining);
        Bytes::from(out)
    }

    pub fn decode(b: &[u8]) -> CqlResult<PagingState> {
        let bad = || CqlError::protocol("Invalid value for the paging state");
        let mut pos = 0usize;
        let mut take = |n: usize| -> CqlResult<&[u8]> {
            let s = b.get(pos..pos + n).ok_or_else(bad)?;
            pos += n;
            Ok(s)
        };
        if take(1)? != [MAGIC] {
            return Err(bad());
        }
        let token = i64::from_be_bytes(take(8)?.try_into().map_err(|_| bad())?);
        let klen = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?) as usize;
        let key = Bytes::copy_from_slice(take(klen)?);
        let n = u16::from_be_bytes(take(2)?.try_into().map_err(|_| bad())?) as usize;
        let mut ck = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let l = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?) as usize;
            ck.push(Bytes::copy_from_slice(take(l)?));
        }
        let r = i32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?);
        let pr = i32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?);
        if pos != b.len() {
            return Err(bad());
        }
        let opt = |v: i32| if v < 0 { None } else { Some(v as usize) };
        Ok(PagingState {
            token,
            key,
            ck,
            remaining: opt(r),
            partition_remaining: opt(pr),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let p = PagingState {
            token: -42,
            key: Bytes::from_static(b"k"),
            ck: vec![Bytes::from_static(b"a"), Bytes::new()],
            remaining: Some(3),
            partition_remaining: None,
        };
        assert_eq!(PagingState::decode(&p.encode()).unwrap(), p);
        let enc = p.encode();
        for cut in 0..enc.len() {
            assert!(PagingState::decode(&enc[..cut]).is_err());
        }
        assert!(PagingState::decode(b"\x00garbage").is_err());
    }
}
