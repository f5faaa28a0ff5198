//! The notation types of native_protocol_v4.spec §3 ([int], [string], [bytes], [value]...):
//! a bounds-checked reader over a request body and writers for response bodies. Every read
//! checks its length first, so a lying length field becomes a `ProtocolError`, never a panic.

use std::collections::HashMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::engine::BoundValue;
use crate::error::{CqlError, CqlResult};
use crate::types::{ColumnType, Consistency};

/// Reads §3 notation types from a request body, which it owns (values are zero-copy slices).
pub struct BodyReader {
    buf: Bytes,
}

fn truncated(what: &str) -> CqlError {
    CqlError::protocol(format!("Not enough bytes to read {what}"))
}

impl BodyReader {
    pub fn new(buf: Bytes) -> Self {
        Self { buf }
    }

    pub fn remaining(&self) -> usize {
        self.buf.remaining()
    }

    /// The unread rest of the body.
    pub fn into_rest(self) -> Bytes {
        self.buf
    }

    /// Skips a [bytes map] (a custom payload, which this node does not use).
    pub fn skip_bytes_map(&mut self) -> CqlResult<()> {
        let n = self.u16()?;
        for _ in 0..n {
            self.string()?;
            self.bytes()?;
        }
        Ok(())
    }

    pub fn u8(&mut self) -> CqlResult<u8> {
        if self.buf.remaining() < 1 {
            return Err(truncated("a byte"));
        }
        Ok(self.buf.get_u8())
    }

    pub fn u16(&mut self) -> CqlResult<u16> {
        if self.buf.remaining() < 2 {
            return Err(truncated("a short"));
        }
        Ok(self.buf.get_u16())
    }

    pub fn i32(&mut self) -> CqlResult<i32> {
        if self.buf.remaining() < 4 {
            return Err(truncated("an int"));
        }
        Ok(self.buf.get_i32())
    }

    pub fn i64(&mut self) -> CqlResult<i64> {
        if self.buf.remaining() < 8 {
            return Err(truncated("a long"));
        }
        Ok(self.buf.get_i64())
    }

    fn take(&mut self, n: usize, what: &str) -> CqlResult<Bytes> {
        if self.buf.remaining() < n {
            return Err(truncated(what));
        }
        Ok(self.buf.split_to(n))
    }

    fn utf8(bytes: Bytes) -> CqlResult<String> {
        String::from_utf8(bytes.to_vec()).map_err(|_| CqlError::protocol("Cannot decode string as UTF8"))
    }

    /// [string]: a [short] n, then n bytes of UTF-8.
    pub fn string(&mut self) -> CqlResult<String> {
        let n = self.u16()? as usize;
        Self::utf8(self.take(n, "a string")?)
    }

    /// [long string]: an [int] n, then n bytes of UTF-8.
    pub fn long_string(&mut self) -> CqlResult<String> {
        let n = self.i32()?;
        if n < 0 {
            return Err(CqlError::protocol("Negative length for a long string"));
        }
        Self::utf8(self.take(n as usize, "a long string")?)
    }

    /// [bytes]: an [int] n, then n bytes; a negative n is null.
    pub fn bytes(&mut self) -> CqlResult<Option<Bytes>> {
        let n = self.i32()?;
        if n < 0 {
            return Ok(None);
        }
        self.take(n as usize, "bytes").map(Some)
    }

    /// [short bytes]: a [short] n, then n bytes.
    pub fn short_bytes(&mut self) -> CqlResult<Bytes> {
        let n = self.u16()? as usize;
        self.take(n, "short bytes")
    }

    /// [value]: [bytes], where -1 is null and -2 is "not set" (v4).
    pub fn value(&mut self) -> CqlResult<BoundValue> {
        let n = self.i32()?;
        match n {
            -1 => Ok(BoundValue::Null),
            -2 => Ok(BoundValue::Unset),
            n if n < 0 => Err(CqlError::protocol(format!("Invalid value length {n}"))),
            n => Ok(BoundValue::Bytes(self.take(n as usize, "a value")?)),
        }
    }

    pub fn string_list(&mut self) -> CqlResult<Vec<String>> {
        let n = self.u16()? as usize;
        (0..n).map(|_| self.string()).collect()
    }

    pub fn string_map(&mut self) -> CqlResult<HashMap<String, String>> {
        let n = self.u16()? as usize;
        let mut map = HashMap::with_capacity(n.min(64));
        for _ in 0..n {
            let k = self.string()?;
            let v = self.string()?;
            map.insert(k, v);
        }
        Ok(map)
    }

    pub fn consistency(&mut self) -> CqlResult<Consistency> {
        let v = self.u16()?;
        Consistency::from_u16(v).ok_or_else(|| CqlError::protocol(format!("Unknown code {v} for a consistency level")))
    }
}

pub fn put_string(out: &mut BytesMut, s: &str) {
    // Strings we write are names and messages; clamp rather than emit a lying length.
    let b = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
    out.put_u16(b.len() as u16);
    out.put_slice(b);
}

pub fn put_long_string(out: &mut BytesMut, s: &str) {
    out.put_i32(s.len() as i32);
    out.put_slice(s.as_bytes());
}

pub fn put_bytes(out: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        Some(b) => {
            out.put_i32(b.len() as i32);
            out.put_slice(b);
        }
        None => out.put_i32(-1),
    }
}

pub fn put_short_bytes(out: &mut BytesMut, b: &[u8]) {
    out.put_u16(b.len() as u16);
    out.put_slice(b);
}

pub fn put_string_list(out: &mut BytesMut, list: &[&str]) {
    out.put_u16(list.len() as u16);
    for s in list {
        put_string(out, s);
    }
}

pub fn put_string_multimap(out: &mut BytesMut, map: &[(&str, &[&str])]) {
    out.put_u16(map.len() as u16);
    for (k, v) in map {
        put_string(out, k);
        put_string_list(out, v);
    }
}

/// [option] of a column type (§4.2.5.2), recursing into collections and tuples.
pub fn put_type(out: &mut BytesMut, ty: &ColumnType) {
    out.put_u16(ty.option_id());
    match ty {
        ColumnType::Custom(class) => put_string(out, class),
        ColumnType::List(e) | ColumnType::Set(e) => put_type(out, e),
        ColumnType::Map(k, v) => {
            put_type(out, k);
            put_type(out, v);
        }
        ColumnType::Tuple(items) => {
            out.put_u16(items.len() as u16);
            for t in items {
                put_type(out, t);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lying_lengths_are_protocol_errors() {
        let mut r = BodyReader::new(Bytes::from_static(&[0, 10, b'a']));
        let err = r.string().unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::ProtocolError);
        let mut r = BodyReader::new(Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]));
        assert!(r.bytes().is_err());
        let mut r = BodyReader::new(Bytes::from_static(&[0xff, 0xff, 0xff, 0xfd]));
        assert!(r.value().is_err(), "-3 is neither null nor unset");
    }

    #[test]
    fn values_decode_null_unset_and_bytes() {
        let mut body = BytesMut::new();
        body.put_i32(-1);
        body.put_i32(-2);
        put_bytes(&mut body, Some(b"xy"));
        let mut r = BodyReader::new(body.freeze());
        assert_eq!(r.value().unwrap(), BoundValue::Null);
        assert_eq!(r.value().unwrap(), BoundValue::Unset);
        assert_eq!(r.value().unwrap(), BoundValue::Bytes(Bytes::from_static(b"xy")));
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn strings_round_trip() {
        let mut body = BytesMut::new();
        put_string(&mut body, "héllo");
        put_long_string(&mut body, "SELECT * FROM t");
        put_string_list(&mut body, &["a", "b"]);
        let mut r = BodyReader::new(body.freeze());
        assert_eq!(r.string().unwrap(), "héllo");
        assert_eq!(r.long_string().unwrap(), "SELECT * FROM t");
        assert_eq!(r.string_list().unwrap(), vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn nested_types_write_their_options() {
        let mut out = BytesMut::new();
        put_type(&mut out, &ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::List(Box::new(ColumnType::Int)))));
        assert_eq!(&out[..], &[0x00, 0x21, 0x00, 0x0D, 0x00, 0x20, 0x00, 0x09]);
    }
}
