//! Response bodies (§4.2): each function appends one whole response frame to `out`, so the
//! connection's writer can batch many responses into one socket write.

use bytes::{BufMut, BytesMut};

use crate::engine::{ChangeType, ColumnSpec, Outcome, Prepared, Rows, SchemaChange, SchemaTarget};
use crate::error::{CqlError, ErrorKind};
use crate::protocol::frame::{VERSION, encode_frame, opcode};
use crate::protocol::wire::{put_bytes, put_short_bytes, put_string, put_string_multimap, put_type};

mod result_kind {
    pub const VOID: i32 = 0x0001;
    pub const ROWS: i32 = 0x0002;
    pub const SET_KEYSPACE: i32 = 0x0003;
    pub const PREPARED: i32 = 0x0004;
    pub const SCHEMA_CHANGE: i32 = 0x0005;
}

mod metadata_flag {
    pub const GLOBAL_TABLES_SPEC: i32 = 0x0001;
    pub const HAS_MORE_PAGES: i32 = 0x0002;
    pub const NO_METADATA: i32 = 0x0004;
}

pub fn ready(out: &mut BytesMut, stream: i16) {
    encode_frame(out, VERSION, 0, stream, opcode::READY, |_| {});
}

pub fn supported(out: &mut BytesMut, stream: i16, options: &[(&str, &[&str])]) {
    encode_frame(out, VERSION, 0, stream, opcode::SUPPORTED, |b| put_string_multimap(b, options));
}

pub fn authenticate(out: &mut BytesMut, stream: i16, class_name: &str) {
    encode_frame(out, VERSION, 0, stream, opcode::AUTHENTICATE, |b| put_string(b, class_name));
}

pub fn auth_challenge(out: &mut BytesMut, stream: i16, token: Option<&[u8]>) {
    encode_frame(out, VERSION, 0, stream, opcode::AUTH_CHALLENGE, |b| put_bytes(b, token));
}

pub fn auth_success(out: &mut BytesMut, stream: i16, token: Option<&[u8]>) {
    encode_frame(out, VERSION, 0, stream, opcode::AUTH_SUCCESS, |b| put_bytes(b, token));
}

/// An ERROR frame in the current version.
pub fn error(out: &mut BytesMut, stream: i16, err: &CqlError) {
    error_in_version(out, VERSION, stream, err);
}

/// An ERROR frame in `version`: used to refuse a protocol version in one the client reads.
pub fn error_in_version(out: &mut BytesMut, version: u8, stream: i16, err: &CqlError) {
    encode_frame(out, version, 0, stream, opcode::ERROR, |b| {
        b.put_i32(err.kind.code());
        put_string(b, &err.message);
        match &err.kind {
            ErrorKind::Unavailable { consistency, required, alive } => {
                b.put_u16(*consistency as u16);
                b.put_i32(*required);
                b.put_i32(*alive);
            }
            ErrorKind::WriteTimeout { consistency, received, block_for, write_type } => {
                b.put_u16(*consistency as u16);
                b.put_i32(*received);
                b.put_i32(*block_for);
                put_string(b, write_type);
            }
            ErrorKind::ReadTimeout { consistency, received, block_for, data_present } => {
                b.put_u16(*consistency as u16);
                b.put_i32(*received);
                b.put_i32(*block_for);
                b.put_u8(u8::from(*data_present));
            }
            ErrorKind::ReadFailure { consistency, received, block_for, num_failures, data_present } => {
                b.put_u16(*consistency as u16);
                b.put_i32(*received);
                b.put_i32(*block_for);
                b.put_i32(*num_failures);
                b.put_u8(u8::from(*data_present));
            }
            ErrorKind::WriteFailure { consistency, received, block_for, num_failures, write_type } => {
                b.put_u16(*consistency as u16);
                b.put_i32(*received);
                b.put_i32(*block_for);
                b.put_i32(*num_failures);
                put_string(b, write_type);
            }
            ErrorKind::AlreadyExists { keyspace, table } => {
                put_string(b, keyspace);
                put_string(b, table);
            }
            ErrorKind::Unprepared { id } => put_short_bytes(b, id),
            _ => {}
        }
    });
}

/// A RESULT frame for what a statement produced.
pub fn result(out: &mut BytesMut, stream: i16, outcome: &Outcome, skip_metadata: bool) {
    encode_frame(out, VERSION, 0, stream, opcode::RESULT, |b| match outcome {
        Outcome::Void => b.put_i32(result_kind::VOID),
        Outcome::Rows(rows) => {
            b.put_i32(result_kind::ROWS);
            rows_body(b, rows, skip_metadata);
        }
        Outcome::SetKeyspace(ks) => {
            b.put_i32(result_kind::SET_KEYSPACE);
            put_string(b, ks);
        }
        Outcome::SchemaChange(change) => {
            b.put_i32(result_kind::SCHEMA_CHANGE);
            schema_change_body(b, change);
        }
    });
}

/// The RESULT of a PREPARE (§4.2.5.4): id, bind-marker metadata, result metadata.
pub fn prepared(out: &mut BytesMut, stream: i16, p: &Prepared) {
    encode_frame(out, VERSION, 0, stream, opcode::RESULT, |b| {
        b.put_i32(result_kind::PREPARED);
        put_short_bytes(b, &p.id);
        let global = global_spec(&p.bind);
        b.put_i32(if global.is_some() { metadata_flag::GLOBAL_TABLES_SPEC } else { 0 });
        b.put_i32(p.bind.len() as i32);
        b.put_i32(p.pk_indexes.len() as i32);
        for i in &p.pk_indexes {
            b.put_u16(*i);
        }
        col_specs(b, &p.bind, global);
        if p.result.is_empty() {
            // What Cassandra sends for statements without rows (its EMPTY result metadata).
            b.put_i32(metadata_flag::NO_METADATA);
            b.put_i32(0);
        } else {
            let global = global_spec(&p.result);
            b.put_i32(if global.is_some() { metadata_flag::GLOBAL_TABLES_SPEC } else { 0 });
            b.put_i32(p.result.len() as i32);
            col_specs(b, &p.result, global);
        }
    });
}

/// A pushed SCHEMA_CHANGE EVENT (stream -1).
pub fn schema_event(out: &mut BytesMut, change: &SchemaChange) {
    encode_frame(out, VERSION, 0, -1, opcode::EVENT, |b| {
        put_string(b, "SCHEMA_CHANGE");
        schema_change_body(b, change);
    });
}

/// The keyspace and table every column shares, if they do (the global_tables_spec form).
fn global_spec(cols: &[ColumnSpec]) -> Option<(&str, &str)> {
    let first = cols.first()?;
    cols.iter()
        .all(|c| c.keyspace == first.keyspace && c.table == first.table)
        .then_some((first.keyspace.as_str(), first.table.as_str()))
}

fn col_specs(b: &mut BytesMut, cols: &[ColumnSpec], global: Option<(&str, &str)>) {
    if let Some((ks, table)) = global {
        put_string(b, ks);
        put_string(b, table);
    }
    for c in cols {
        if global.is_none() {
            put_string(b, &c.keyspace);
            put_string(b, &c.table);
        }
        put_string(b, &c.name);
        put_type(b, &c.ty);
    }
}

fn rows_body(b: &mut BytesMut, rows: &Rows, skip_metadata: bool) {
    let global = if skip_metadata { None } else { global_spec(&rows.columns) };
    let mut flags = 0;
    if global.is_some() {
        flags |= metadata_flag::GLOBAL_TABLES_SPEC;
    }
    if rows.paging_state.is_some() {
        flags |= metadata_flag::HAS_MORE_PAGES;
    }
    if skip_metadata {
        flags |= metadata_flag::NO_METADATA;
    }
    b.put_i32(flags);
    b.put_i32(rows.columns.len() as i32);
    if let Some(state) = &rows.paging_state {
        put_bytes(b, Some(state));
    }
    if !skip_metadata {
        col_specs(b, &rows.columns, global);
    }
    b.put_i32(rows.rows.len() as i32);
    for row in &rows.rows {
        for cell in row {
            put_bytes(b, cell.as_deref());
        }
    }
}

fn schema_change_body(b: &mut BytesMut, change: &SchemaChange) {
    put_string(
        b,
        match change.change {
            ChangeType::Created => "CREATED",
            ChangeType::Updated => "UPDATED",
            ChangeType::Dropped => "DROPPED",
        },
    );
    match &change.target {
        SchemaTarget::Keyspace(ks) => {
            put_string(b, "KEYSPACE");
            put_string(b, ks);
        }
        SchemaTarget::Table { keyspace, table } => {
            put_string(b, "TABLE");
            put_string(b, keyspace);
            put_string(b, table);
        }
        SchemaTarget::Type { keyspace, name } => {
            put_string(b, "TYPE");
            put_string(b, keyspace);
            put_string(b, name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::BodyReader;
    use crate::types::{ColumnType, Consistency};
    use bytes::Bytes;

    fn body(frame: BytesMut) -> BodyReader {
        BodyReader::new(frame.freeze().slice(9..))
    }

    fn col(name: &str, ty: ColumnType) -> ColumnSpec {
        ColumnSpec { keyspace: "ks".into(), table: "t".into(), name: name.into(), ty }
    }

    #[test]
    fn rows_with_paging_state_and_global_spec() {
        let rows = Rows {
            columns: vec![col("k", ColumnType::Int), col("v", ColumnType::Varchar)],
            rows: vec![vec![Some(Bytes::from_static(&[0, 0, 0, 1])), None]],
            paging_state: Some(Bytes::from_static(b"p")),
        };
        let mut out = BytesMut::new();
        result(&mut out, 3, &Outcome::Rows(rows), false);
        assert_eq!(&out[..5], &[0x84, 0, 0, 3, opcode::RESULT]);
        let mut r = body(out);
        assert_eq!(r.i32().unwrap(), result_kind::ROWS);
        assert_eq!(r.i32().unwrap(), metadata_flag::GLOBAL_TABLES_SPEC | metadata_flag::HAS_MORE_PAGES);
        assert_eq!(r.i32().unwrap(), 2);
        assert_eq!(r.bytes().unwrap().as_deref(), Some(&b"p"[..]));
        assert_eq!(r.string().unwrap(), "ks");
        assert_eq!(r.string().unwrap(), "t");
        assert_eq!(r.string().unwrap(), "k");
        assert_eq!(r.u16().unwrap(), 0x0009);
        assert_eq!(r.string().unwrap(), "v");
        assert_eq!(r.u16().unwrap(), 0x000D);
        assert_eq!(r.i32().unwrap(), 1);
        assert_eq!(r.bytes().unwrap().as_deref(), Some(&[0, 0, 0, 1][..]));
        assert_eq!(r.bytes().unwrap(), None);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn skip_metadata_omits_column_specs() {
        let rows = Rows { columns: vec![col("k", ColumnType::Int)], rows: vec![], paging_state: None };
        let mut out = BytesMut::new();
        result(&mut out, 0, &Outcome::Rows(rows), true);
        let mut r = body(out);
        r.i32().unwrap();
        assert_eq!(r.i32().unwrap(), metadata_flag::NO_METADATA);
        assert_eq!(r.i32().unwrap(), 1);
        assert_eq!(r.i32().unwrap(), 0);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn errors_carry_their_extra_fields() {
        let err = CqlError::new(
            ErrorKind::WriteTimeout { consistency: Consistency::LocalQuorum, received: 1, block_for: 2, write_type: "SIMPLE".into() },
            "timed out",
        );
        let mut out = BytesMut::new();
        error(&mut out, 5, &err);
        let mut r = body(out);
        assert_eq!(r.i32().unwrap(), 0x1100);
        assert_eq!(r.string().unwrap(), "timed out");
        assert_eq!(r.consistency().unwrap(), Consistency::LocalQuorum);
        assert_eq!((r.i32().unwrap(), r.i32().unwrap()), (1, 2));
        assert_eq!(r.string().unwrap(), "SIMPLE");
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn schema_change_event_on_stream_minus_one() {
        let mut out = BytesMut::new();
        schema_event(
            &mut out,
            &SchemaChange { change: ChangeType::Created, target: SchemaTarget::Table { keyspace: "ks".into(), table: "t".into() } },
        );
        assert_eq!(&out[2..4], &[0xff, 0xff]);
        let mut r = body(out);
        for want in ["SCHEMA_CHANGE", "CREATED", "TABLE", "ks", "t"] {
            assert_eq!(r.string().unwrap(), want);
        }
        assert_eq!(r.remaining(), 0);
    }
}
