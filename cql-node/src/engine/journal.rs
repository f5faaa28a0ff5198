//! Durability with a data directory: fjall (an embedded LSM store) holds the schema and the
//! latest state of every row a write touched, keyed by (table, partition, clustering). Each
//! write is one fjall batch, flushed to the OS before the write is acknowledged, so it
//! survives kill -9; fjall's journal recovery discards a torn tail. On open the in-memory
//! store is rebuilt from it.

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use uuid::Uuid;

use super::modify::Touched;
use super::schema::{KeyspaceDecl, TableDecl};
use super::store::{Cell, CellRef, Ck, Partition, Row, RowCells, TableData};
use crate::error::{CqlError, CqlResult};

pub struct Journal {
    db: Database,
    rows: Keyspace,
    meta: Keyspace,
}

fn io(e: impl std::fmt::Display) -> CqlError {
    CqlError::server(format!("storage error: {e}"))
}

/// fjall's block cache, the rows' memtable size and the journal's bound (fjall's minimum), in
/// bytes (measured with `make bench-memory` at 1M products: a 4 MiB memtable loaded 4,400
/// products/s, flushing and compacting four times as often, 16 MiB 11,000/s for 50 MB more).
const JOURNAL_CACHE: u64 = 8 << 20;
const JOURNAL_MEMTABLE: u64 = 16 << 20;
const JOURNAL_MAX: u64 = 64 << 20;
/// Memtable flushes gathered before they are compacted into the first level (fjall's default
/// 4): the journal is written far more than read, so compact less often (make bench-memory,
/// 1M products with a data directory: 14,661 products/s at 4, 16,688 at 16; RSS and restart
/// time unchanged).
const L0_TABLES: u8 = 16;

const HEADER: u8 = 0;
const ROW: u8 = 1;

fn key_of(table: &Uuid, kind: u8, token: i64, pk: &[u8], ck: &[Bytes]) -> Vec<u8> {
    let mut k = Vec::with_capacity(16 + 1 + 8 + 4 + pk.len() + 2 + ck.iter().map(|c| c.len() + 4).sum::<usize>());
    k.extend_from_slice(table.as_bytes());
    k.push(kind);
    k.extend_from_slice(&token.to_be_bytes());
    k.extend_from_slice(&(pk.len() as u32).to_be_bytes());
    k.extend_from_slice(pk);
    k.extend_from_slice(&(ck.len() as u16).to_be_bytes());
    for c in ck {
        k.extend_from_slice(&(c.len() as u32).to_be_bytes());
        k.extend_from_slice(c);
    }
    k
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|s| u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8).map(|s| i64::from_be_bytes(s.try_into().unwrap_or([0; 8])))
    }
    fn bytes(&mut self) -> Option<Bytes> {
        let n = self.u32()? as usize;
        self.take(n).map(Bytes::copy_from_slice)
    }
}

fn put_cell(out: &mut Vec<u8>, c: Option<CellRef<'_>>) {
    match c {
        None => out.push(0),
        Some(c) => {
            out.push(1);
            out.extend_from_slice(&c.ts.to_be_bytes());
            out.extend_from_slice(&c.expire.to_be_bytes());
            out.extend_from_slice(&c.ttl.to_be_bytes());
            match c.value {
                None => out.push(0),
                Some(v) => {
                    out.push(1);
                    out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                    out.extend_from_slice(v);
                }
            }
        }
    }
}

fn get_cell(r: &mut Reader<'_>) -> Option<Option<Cell>> {
    if r.u8()? == 0 {
        return Some(None);
    }
    let ts = r.i64()?;
    let expire = r.i64()?;
    let ttl = r.u32()? as i32;
    let value = if r.u8()? == 0 { None } else { Some(r.bytes()?) };
    Some(Some(Cell { ts, expire, ttl, value }))
}

/// The journal's row format (unchanged by the compact store, so data directories written
/// before it still open): marker, row tombstone, then one entry per slot up to the last
/// written one.
fn encode_row(row: &Row) -> Vec<u8> {
    let cells: Vec<(usize, CellRef<'_>)> = row.cells().collect();
    let n = cells.last().map_or(0, |(s, _)| s + 1);
    let mut out = Vec::with_capacity(32 + row.encoded_len() + n * 2);
    put_cell(&mut out, row.marker());
    out.extend_from_slice(&row.deleted_at().to_be_bytes());
    out.extend_from_slice(&(n as u32).to_be_bytes());
    let mut next = cells.into_iter().peekable();
    for slot in 0..n {
        put_cell(&mut out, next.next_if(|(s, _)| *s == slot).map(|(_, c)| c));
    }
    out
}

fn decode_row(r: &mut Reader<'_>, ck: Ck) -> Option<Row> {
    let marker = get_cell(r)?;
    let deleted_at = r.i64()?;
    let n = r.u32()? as usize;
    let mut cells = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        cells.push(get_cell(r)?);
    }
    Some(Row::from_cells(ck, &RowCells { marker, deleted_at, cells }))
}

pub struct Recovered {
    pub keyspaces: Vec<KeyspaceDecl>,
    pub tables: Vec<TableDecl>,
}

impl Journal {
    pub fn open(dir: &Path) -> CqlResult<(Journal, Option<Recovered>)> {
        std::fs::create_dir_all(dir).map_err(io)?;
        // fjall's defaults (a 64 MiB memtable, a 32 MiB block cache, 512 MiB of journal) are
        // sized for a database that reads from disk; here it is read once, on open, and the
        // rows live in the store, so smaller ones leave RSS to the store (issue 9: 1M
        // products in 1 GB). Two workers, not one: with one, memtable rotations queued behind
        // flushes and compactions, the memtable grew with every write (160 MB at 300,000
        // products) and the journal with it, all replayed into memory on the next open.
        let db = Database::builder(dir)
            .worker_threads(2)
            .cache_size(JOURNAL_CACHE)
            .max_journaling_size(JOURNAL_MAX)
            .open()
            .map_err(io)?;
        let rows = db
            .keyspace("rows", || {
                KeyspaceCreateOptions::default()
                    .max_memtable_size(JOURNAL_MEMTABLE)
                    .compaction_strategy(std::sync::Arc::new(fjall::compaction::Leveled::default().with_l0_threshold(L0_TABLES)))
            })
            .map_err(io)?;
        let meta = db.keyspace("meta", KeyspaceCreateOptions::default).map_err(io)?;
        let recovered = match meta.get("schema").map_err(io)? {
            None => None,
            Some(v) => {
                let (keyspaces, tables): (Vec<KeyspaceDecl>, Vec<TableDecl>) =
                    serde_json::from_slice(&v).map_err(|e| io(format!("schema record unreadable: {e}")))?;
                Some(Recovered { keyspaces, tables })
            }
        };
        Ok((Journal { db, rows, meta }, recovered))
    }

    pub fn save_schema(&self, keyspaces: &[KeyspaceDecl], tables: &[TableDecl]) -> CqlResult<()> {
        let v = serde_json::to_vec(&(keyspaces, tables)).map_err(io)?;
        let mut b = self.db.batch().durability(Some(PersistMode::Buffer));
        b.insert(&self.meta, "schema", v);
        b.commit().map_err(io)
    }

    /// Loads every stored row into `data`, for tables that still exist (`slots` by table id).
    pub fn load(
        &self,
        slots: &HashMap<Uuid, (usize, usize)>,
        data: &mut HashMap<Uuid, TableData>,
        order: &dyn Fn(&Uuid, &mut Partition),
    ) -> CqlResult<()> {
        for kv in self.rows.iter() {
            let (k, v) = kv.into_inner().map_err(io)?;
            let mut kr = Reader { b: &k, pos: 0 };
            let Some(id) = kr.take(16).and_then(|s| Uuid::from_slice(s).ok()) else {
                continue;
            };
            if !slots.contains_key(&id) {
                continue;
            }
            let (Some(kind), Some(token), Some(pk)) = (kr.u8(), kr.i64(), kr.bytes()) else {
                continue;
            };
            let Some(n) = kr.u16() else { continue };
            let mut ck = Vec::with_capacity(n as usize);
            for _ in 0..n {
                match kr.bytes() {
                    Some(c) => ck.push(c),
                    None => break,
                }
            }
            let table = data.entry(id).or_default();
            let p = table
                .partitions
                .entry((token, pk))
                .or_default();
            let mut vr = Reader { b: &v, pos: 0 };
            if kind == HEADER {
                let Some(del) = vr.i64() else { continue };
                p.deleted_at = del;
                if let Some(row) = decode_row(&mut vr, Ck::default())
                    && row.has_contents()
                {
                    p.statics = Some(Box::new(row));
                }
            } else if let Some(row) = decode_row(&mut vr, Ck::new(&ck)) {
                p.rows.push(row);
            }
        }
        // Rows come back in key-byte order; restore clustering order per partition, then let
        // a partition deletion shadow the older rows stored before it.
        for (id, t) in data.iter_mut() {
            for p in t.partitions.values_mut() {
                order(id, p);
                if p.deleted_at != super::store::NO_DELETION {
                    let at = p.deleted_at;
                    p.delete(at);
                }
            }
        }
        Ok(())
    }

    /// Writes the current state of everything a statement touched, as one batch.
    pub fn write(
        &self,
        data: &HashMap<Uuid, TableData>,
        touched: &[Touched],
        schema_of: &dyn Fn(&Uuid) -> Option<std::sync::Arc<super::schema::TableSchema>>,
    ) -> CqlResult<()> {
        if touched.is_empty() {
            return Ok(());
        }
        let mut b = self.db.batch().durability(Some(PersistMode::Buffer));
        for t in touched {
            let Some(td) = data.get(&t.table) else { continue };
            let Some(p) = td.partitions.get(&(t.token, t.key.clone())) else {
                continue;
            };
            match &t.ck {
                None => {
                    let mut v = p.deleted_at.to_be_bytes().to_vec();
                    let none = Row::new(Ck::default());
                    v.extend_from_slice(&encode_row(p.statics.as_deref().unwrap_or(&none)));
                    b.insert(&self.rows, key_of(&t.table, HEADER, t.token, &t.key, &[]), v);
                }
                Some(ck) => {
                    let Some(schema) = schema_of(&t.table) else { continue };
                    if let Ok(i) = p.find(&schema, ck) {
                        b.insert(&self.rows, key_of(&t.table, ROW, t.token, &t.key, ck), encode_row(&p.rows[i]));
                    }
                }
            }
        }
        b.commit().map_err(io)
    }

    /// Forgets every stored row of a table (DROP TABLE, TRUNCATE).
    pub fn clear_table(&self, id: &Uuid) -> CqlResult<()> {
        let mut b = self.db.batch().durability(Some(PersistMode::Buffer));
        for kv in self.rows.prefix(id.as_bytes()) {
            let k = kv.key().map_err(io)?;
            b.remove(&self.rows, k);
        }
        b.commit().map_err(io)
    }
}
