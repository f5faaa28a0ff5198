//! Request bodies (§4.1) decoded into typed requests. Decoding never trusts a length field:
//! a body that does not parse, or that has bytes left over, is a `ProtocolError`.

use std::collections::HashMap;

use bytes::Bytes;

use crate::engine::{BatchType, BoundValue, BoundValues, QueryParams};
use crate::error::{CqlError, CqlResult};
use crate::protocol::frame::opcode;
use crate::protocol::wire::BodyReader;
use crate::types::Consistency;

#[derive(Debug)]
pub enum Request {
    Startup(HashMap<String, String>),
    Options,
    AuthResponse(Option<Bytes>),
    Register(Vec<String>),
    Query { query: String, params: QueryParams },
    Prepare { query: String },
    Execute { id: Bytes, params: QueryParams },
    Batch(BatchFrame),
}

#[derive(Debug)]
pub enum BatchStatement {
    Query(String),
    Prepared(Bytes),
}

#[derive(Debug)]
pub struct BatchFrame {
    pub batch_type: BatchType,
    pub statements: Vec<(BatchStatement, BoundValues)>,
    pub consistency: Consistency,
    pub serial_consistency: Option<Consistency>,
    pub timestamp: Option<i64>,
}

mod query_flag {
    pub const VALUES: u8 = 0x01;
    pub const SKIP_METADATA: u8 = 0x02;
    pub const PAGE_SIZE: u8 = 0x04;
    pub const PAGING_STATE: u8 = 0x08;
    pub const SERIAL_CONSISTENCY: u8 = 0x10;
    pub const DEFAULT_TIMESTAMP: u8 = 0x20;
    pub const NAMES_FOR_VALUES: u8 = 0x40;
}

impl Request {
    /// Decodes the body of a request frame with opcode `op`.
    pub fn decode(op: u8, body: Bytes) -> CqlResult<Request> {
        let mut r = BodyReader::new(body);
        let req = match op {
            opcode::STARTUP => Request::Startup(r.string_map()?),
            opcode::OPTIONS => Request::Options,
            opcode::AUTH_RESPONSE => Request::AuthResponse(r.bytes()?),
            opcode::REGISTER => Request::Register(r.string_list()?),
            opcode::QUERY => {
                let query = r.long_string()?;
                let params = query_params(&mut r)?;
                Request::Query { query, params }
            }
            opcode::PREPARE => Request::Prepare { query: r.long_string()? },
            opcode::EXECUTE => {
                let id = r.short_bytes()?;
                let params = query_params(&mut r)?;
                Request::Execute { id, params }
            }
            opcode::BATCH => Request::Batch(batch(&mut r)?),
            other => return Err(CqlError::protocol(format!("Unknown opcode {other}"))),
        };
        // OPTIONS bodies are meant to be empty, but Cassandra ignores any content there too.
        if r.remaining() != 0 && op != opcode::OPTIONS {
            return Err(CqlError::protocol(format!("{} trailing bytes after the request body", r.remaining())));
        }
        Ok(req)
    }
}

/// Removes the custom payload ([bytes map]) a request with the CUSTOM_PAYLOAD flag starts with.
pub fn strip_custom_payload(body: Bytes) -> CqlResult<Bytes> {
    let mut r = BodyReader::new(body);
    r.skip_bytes_map()?;
    Ok(r.into_rest())
}

fn values(r: &mut BodyReader, named: bool) -> CqlResult<BoundValues> {
    let n = r.u16()? as usize;
    if named {
        let mut out = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let name = r.string()?;
            out.push((name, r.value()?));
        }
        Ok(BoundValues::Named(out))
    } else {
        let mut out: Vec<BoundValue> = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            out.push(r.value()?);
        }
        Ok(BoundValues::Positional(out))
    }
}

/// [query_parameters] of §4.1.4.
fn query_params(r: &mut BodyReader) -> CqlResult<QueryParams> {
    let consistency = r.consistency()?;
    let flags = r.u8()?;
    let values = if flags & query_flag::VALUES != 0 {
        values(r, flags & query_flag::NAMES_FOR_VALUES != 0)?
    } else {
        BoundValues::Positional(Vec::new())
    };
    let page_size = if flags & query_flag::PAGE_SIZE != 0 { Some(r.i32()?) } else { None };
    let paging_state = if flags & query_flag::PAGING_STATE != 0 { r.bytes()? } else { None };
    let serial_consistency = if flags & query_flag::SERIAL_CONSISTENCY != 0 { Some(serial(r)?) } else { None };
    let timestamp = if flags & query_flag::DEFAULT_TIMESTAMP != 0 { Some(timestamp(r)?) } else { None };
    Ok(QueryParams {
        consistency,
        values,
        skip_metadata: flags & query_flag::SKIP_METADATA != 0,
        page_size,
        paging_state,
        serial_consistency,
        timestamp,
    })
}

fn serial(r: &mut BodyReader) -> CqlResult<Consistency> {
    let c = r.consistency()?;
    match c {
        Consistency::Serial | Consistency::LocalSerial => Ok(c),
        other => Err(CqlError::protocol(format!(
            "Serial consistency level must be SERIAL or LOCAL_SERIAL, got {}",
            other.name()
        ))),
    }
}

fn timestamp(r: &mut BodyReader) -> CqlResult<i64> {
    let ts = r.i64()?;
    // Cassandra reserves Long.MIN_VALUE as "no timestamp".
    if ts == i64::MIN {
        return Err(CqlError::protocol(format!("Out of bound timestamp, must be in [{}, {}]", i64::MIN + 1, i64::MAX)));
    }
    Ok(ts)
}

/// BATCH body of §4.1.7.
fn batch(r: &mut BodyReader) -> CqlResult<BatchFrame> {
    let batch_type = match r.u8()? {
        0 => BatchType::Logged,
        1 => BatchType::Unlogged,
        2 => BatchType::Counter,
        t => return Err(CqlError::protocol(format!("Invalid BATCH message type {t}"))),
    };
    let n = r.u16()? as usize;
    // Values are read before the flags that say whether they are named; keep them raw first.
    let mut raw = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let stmt = match r.u8()? {
            0 => BatchStatement::Query(r.long_string()?),
            1 => BatchStatement::Prepared(r.short_bytes()?),
            k => return Err(CqlError::protocol(format!("Invalid query kind in BATCH messages. Must be 0 or 1 but got {k}"))),
        };
        // Named values in batches are documented as broken in v4 and drivers never send them.
        let vals = values(r, false)?;
        raw.push((stmt, vals));
    }
    let consistency = r.consistency()?;
    let flags = r.u8()?;
    if flags & query_flag::NAMES_FOR_VALUES != 0 {
        return Err(CqlError::protocol("Named values are not supported in BATCH"));
    }
    let serial_consistency = if flags & query_flag::SERIAL_CONSISTENCY != 0 { Some(serial(r)?) } else { None };
    let timestamp = if flags & query_flag::DEFAULT_TIMESTAMP != 0 { Some(timestamp(r)?) } else { None };
    Ok(BatchFrame { batch_type, statements: raw, consistency, serial_consistency, timestamp })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::{put_bytes, put_long_string, put_short_bytes, put_string};
    use bytes::{BufMut, BytesMut};

    #[test]
    fn query_with_every_parameter() {
        let mut b = BytesMut::new();
        put_long_string(&mut b, "SELECT * FROM ks.t WHERE k = ?");
        b.put_u16(0x0006); // LOCAL_QUORUM
        b.put_u8(0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x20);
        b.put_u16(2);
        put_bytes(&mut b, Some(&[0, 0, 0, 1]));
        b.put_i32(-2);
        b.put_i32(100);
        put_bytes(&mut b, Some(b"state"));
        b.put_u16(0x0009);
        b.put_i64(1234);
        let Request::Query { query, params } = Request::decode(opcode::QUERY, b.freeze()).unwrap() else { panic!("not a query") };
        assert_eq!(query, "SELECT * FROM ks.t WHERE k = ?");
        assert_eq!(params.consistency, Consistency::LocalQuorum);
        assert!(params.skip_metadata);
        assert_eq!(params.page_size, Some(100));
        assert_eq!(params.paging_state.as_deref(), Some(&b"state"[..]));
        assert_eq!(params.serial_consistency, Some(Consistency::LocalSerial));
        assert_eq!(params.timestamp, Some(1234));
        assert_eq!(
            params.values,
            BoundValues::Positional(vec![BoundValue::Bytes(Bytes::from_static(&[0, 0, 0, 1])), BoundValue::Unset])
        );
    }

    #[test]
    fn named_values_keep_their_names() {
        let mut b = BytesMut::new();
        put_short_bytes(&mut b, b"id");
        b.put_u16(0x0001);
        b.put_u8(0x01 | 0x40);
        b.put_u16(1);
        put_string(&mut b, "k");
        b.put_i32(-1);
        let Request::Execute { id, params } = Request::decode(opcode::EXECUTE, b.freeze()).unwrap() else { panic!() };
        assert_eq!(&id[..], b"id");
        assert_eq!(params.values, BoundValues::Named(vec![("k".into(), BoundValue::Null)]));
    }

    #[test]
    fn batch_of_query_and_prepared() {
        let mut b = BytesMut::new();
        b.put_u8(1);
        b.put_u16(2);
        b.put_u8(0);
        put_long_string(&mut b, "INSERT INTO t (k) VALUES (1)");
        b.put_u16(0);
        b.put_u8(1);
        put_short_bytes(&mut b, &[9, 9]);
        b.put_u16(1);
        put_bytes(&mut b, Some(&[1]));
        b.put_u16(0x0004);
        b.put_u8(0);
        let Request::Batch(batch) = Request::decode(opcode::BATCH, b.freeze()).unwrap() else { panic!() };
        assert_eq!(batch.batch_type, BatchType::Unlogged);
        assert_eq!(batch.consistency, Consistency::Quorum);
        assert_eq!(batch.statements.len(), 2);
        assert!(matches!(&batch.statements[1].0, BatchStatement::Prepared(id) if id[..] == [9, 9]));
    }

    #[test]
    fn garbage_is_a_protocol_error_never_a_panic() {
        for op in [opcode::STARTUP, opcode::QUERY, opcode::EXECUTE, opcode::BATCH, opcode::REGISTER, opcode::PREPARE] {
            for body in [&[][..], &[0xff][..], &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..], &[0, 1, 0, 0, 0, 0, 0][..]] {
                let err = Request::decode(op, Bytes::copy_from_slice(body)).unwrap_err();
                assert_eq!(err.kind, crate::error::ErrorKind::ProtocolError, "op {op} body {body:?}");
            }
        }
        assert!(Request::decode(0x42, Bytes::new()).is_err());
        // A serial consistency that is not serial is refused.
        let mut b = BytesMut::new();
        put_long_string(&mut b, "x");
        b.put_u16(1);
        b.put_u8(0x10);
        b.put_u16(1);
        assert!(Request::decode(opcode::QUERY, b.freeze()).is_err());
    }
}
