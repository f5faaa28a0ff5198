//! The engine: CQL text in, results out. It parses and executes statements against the schema
//! catalog and the row store, and serves the system tables drivers read. It knows nothing of
//! frames or sockets: `crate::protocol` decodes requests, calls this API, encodes the answers.
//!
//! CONTRACT between the protocol layer and the engine (both sides code against it; change it
//! only in agreement):
//! - `Engine::open(EngineConfig)` opens an in-memory or on-disk engine; cheap to clone (Arc).
//! - `Engine::prepare(text, keyspace)` parses once and returns a `Prepared` with its id
//!   (MD5 of the keyspace-qualified text, as Cassandra does), bind-marker and result metadata,
//!   and statement kind. The protocol layer uses it for PREPARE, and also for QUERY (the engine
//!   caches parses by text), so profile rules and fault injection see one kind of statement.
//! - `Engine::execute(ctx, prepared, params)` runs it; `Engine::batch(ctx, batch)` runs a batch.
//! - `Engine::schema_events()` yields one `SchemaChange` per DDL, for REGISTER'd connections.
//! - The per-node view (`NodeInfo`: its address, tokens, data center, peers) is passed in with
//!   every call through `ExecContext`, so one engine can serve several nodes (issue: multi-node)
//!   and each sees itself in `system.local` and the others in `system.peers`.

mod ast;
mod bignum;
mod cast;
mod ck_restrictions;
pub mod clock;
mod core;
mod ddl;
mod eval;
mod journal;
mod lexer;
mod modify;
mod mutation;
mod paging;
mod parser;
pub mod paxos;
mod plan;
mod replica_copies;
pub mod routing;
mod scalar;
mod schema;
mod select;
mod store;
mod system;
pub mod token;
pub mod value;
pub mod virtual_table;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use uuid::Uuid;

use crate::error::CqlResult;
use crate::types::{ColumnType, Consistency};

/// Where data lives.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// `None`: in memory only (tests). `Some(dir)`: every acknowledged write survives kill -9.
    pub data_dir: Option<PathBuf>,
    /// How lightweight transactions behave under contention.
    pub paxos: paxos::PaxosConfig,
}

/// What one node says about itself in system.local, and about the others in system.peers.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub cluster_name: String,
    pub data_center: String,
    pub rack: String,
    pub release_version: String,
    pub partitioner: String,
    pub host_id: Uuid,
    /// The address clients connect to (rpc_address / broadcast address).
    pub address: IpAddr,
    pub native_port: u16,
    /// Murmur3 tokens owned by this node (as i64; system tables show them as text).
    pub tokens: Vec<i64>,
    pub peers: Vec<PeerInfo>,
}

#[derive(Debug, Clone)]
pub struct PeerInfo {
    pub address: IpAddr,
    pub native_port: u16,
    pub data_center: String,
    pub rack: String,
    pub host_id: Uuid,
    pub release_version: String,
    pub tokens: Vec<i64>,
}

/// Per-request context: the connection's current keyspace (USE), the node answering and, in
/// a multi-node cluster with per-replica data, which nodes' copies the request reaches.
#[derive(Debug, Clone, Copy)]
pub struct ExecContext<'a> {
    pub keyspace: Option<&'a str>,
    pub node: &'a NodeInfo,
    /// `None`: the one shared store (one node, Keyspaces, or an engine used directly).
    pub copies: Option<&'a Copies<'a>>,
}

/// Which nodes' copies of the data a coordinated request reaches, as its coordinator chose
/// them (`crate::replication`): the engine applies writes to `write` and merges, per
/// partition token, the copies `read` names (last write wins on cell timestamps).
pub struct Copies<'a> {
    /// The nodes a write is applied to (the replicas that answer).
    pub write: &'a [usize],
    /// The nodes whose copies a read of the partition at this token merges (the replicas it
    /// contacts); an empty answer reads nothing there.
    pub read: &'a (dyn Fn(i64) -> Vec<usize> + Sync),
    /// Blocking read repair: after a merged read, the contacted copies that differ from the
    /// merge get it, as Cassandra 4 does at a consistency level above ONE.
    pub repair: bool,
}

impl std::fmt::Debug for Copies<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Copies").field("write", &self.write).field("repair", &self.repair).finish_non_exhaustive()
    }
}

/// A bound value as it arrives in QUERY/EXECUTE/BATCH ([value] of §3: bytes, null or unset).
#[derive(Debug, Clone, PartialEq)]
pub enum BoundValue {
    Bytes(Bytes),
    Null,
    Unset,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BoundValues {
    Positional(Vec<BoundValue>),
    /// v4 "names for values" flag: bound by marker name (`:name`, or the column name for `?`).
    Named(Vec<(String, BoundValue)>),
}

/// The [query_parameters] of §4.1.4 once decoded.
#[derive(Debug, Clone)]
pub struct QueryParams {
    pub consistency: Consistency,
    pub values: BoundValues,
    pub skip_metadata: bool,
    /// `None` or <= 0: no paging, every row at once.
    pub page_size: Option<i32>,
    pub paging_state: Option<Bytes>,
    pub serial_consistency: Option<Consistency>,
    /// Client-side write timestamp (microseconds); `None` uses the node's clock.
    pub timestamp: Option<i64>,
}

/// The kind of a statement: for Keyspaces consistency rules and fault-injection matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementKind {
    Select,
    Insert,
    Update,
    Delete,
    Batch,
    Use,
    Truncate,
    /// CREATE/DROP/ALTER of keyspaces, tables, indexes, types, views...
    Schema,
    /// Roles, permissions and anything else.
    Other,
}

impl StatementKind {
    pub fn is_write(self) -> bool {
        matches!(self, StatementKind::Insert | StatementKind::Update | StatementKind::Delete | StatementKind::Batch)
    }
}

/// One column of bind-marker or result metadata (§4.2.5.2 col_spec).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    pub keyspace: String,
    pub table: String,
    pub name: String,
    pub ty: ColumnType,
}

/// A prepared (or parsed-for-QUERY) statement. Cloning is cheap.
#[derive(Clone)]
pub struct Prepared {
    /// MD5 of the statement text as prepared (qualified by keyspace when one was in use).
    pub id: Bytes,
    pub query: String,
    pub kind: StatementKind,
    pub is_lwt: bool,
    /// Bind markers in order; `pk_indexes` are the positions of partition-key markers.
    pub bind: Vec<ColumnSpec>,
    pub pk_indexes: Vec<u16>,
    /// Columns of the rows it returns; empty when it returns none.
    pub result: Vec<ColumnSpec>,
    /// The engine's parsed form; opaque to the protocol layer.
    pub(crate) plan: Arc<dyn std::any::Any + Send + Sync>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared").field("query", &self.query).field("kind", &self.kind).finish_non_exhaustive()
    }
}

/// What a statement produced (§4.2.5 RESULT kinds).
#[derive(Debug, Clone)]
pub enum Outcome {
    Void,
    Rows(Rows),
    SetKeyspace(String),
    SchemaChange(SchemaChange),
}

#[derive(Debug, Clone)]
pub struct Rows {
    pub columns: Vec<ColumnSpec>,
    /// Each cell already in its protocol encoding; `None` is null.
    pub rows: Vec<Vec<Option<Bytes>>>,
    /// Present when more rows remain; the client sends it back to resume exactly there.
    pub paging_state: Option<Bytes>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeType {
    Created,
    Updated,
    Dropped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaTarget {
    Keyspace(String),
    Table { keyspace: String, table: String },
    Type { keyspace: String, name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaChange {
    pub change: ChangeType,
    pub target: SchemaTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchType {
    Logged = 0,
    Unlogged = 1,
    Counter = 2,
}

#[derive(Clone)]
pub struct BatchRequest {
    pub batch_type: BatchType,
    pub statements: Vec<(Prepared, BoundValues)>,
    pub consistency: Consistency,
    pub serial_consistency: Option<Consistency>,
    pub timestamp: Option<i64>,
}

/// The engine handle. Cheap to clone; every clone serves the same data.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<core::Inner>,
}

impl Engine {
    /// Opens an engine: in memory, or recovering `data_dir` (a torn tail is recovered from).
    pub fn open(config: EngineConfig) -> CqlResult<Engine> {
        Ok(Engine { inner: Arc::new(core::Inner::open(config)?) })
    }

    /// Parses `query` (cached by text and keyspace) with unqualified names resolved in `keyspace`.
    pub fn prepare(&self, query: &str, keyspace: Option<&str>) -> CqlResult<Prepared> {
        self.inner.prepare(query, keyspace)
    }

    /// Looks up a statement prepared earlier by its id (for EXECUTE); `None` answers Unprepared.
    pub fn prepared(&self, id: &[u8]) -> Option<Prepared> {
        self.inner.prepared(id)
    }

    pub fn execute(&self, ctx: &ExecContext<'_>, stmt: &Prepared, params: &QueryParams) -> CqlResult<Outcome> {
        self.inner.execute(ctx, stmt, params)
    }

    pub fn batch(&self, ctx: &ExecContext<'_>, batch: &BatchRequest) -> CqlResult<Outcome> {
        self.inner.batch(ctx, batch)
    }

    /// A conditional write's commit, as a Paxos commit (or its hint) applies it: at the
    /// ballot's timestamp, its conditions not checked again.
    pub fn execute_committed(&self, ctx: &ExecContext<'_>, stmt: &Prepared, params: &QueryParams, ballot: i64) -> CqlResult<Outcome> {
        self.inner.execute_as(ctx, stmt, params, core::CasMode::Commit { ballot })
    }

    /// The same for a conditional batch.
    pub fn batch_committed(&self, ctx: &ExecContext<'_>, batch: &BatchRequest, ballot: i64) -> CqlResult<Outcome> {
        self.inner.batch_as(ctx, batch, core::CasMode::Commit { ballot })
    }

    /// `execute` as a node serves it: a conditional write runs as Paxos rounds that compete
    /// with the others on its partition (see `paxos`), and a SERIAL read first completes the
    /// proposals in progress on its table. Anything else is `execute`.
    pub async fn serve(&self, ctx: &ExecContext<'_>, stmt: &Prepared, params: &QueryParams) -> CqlResult<Outcome> {
        if stmt.is_lwt {
            return self.inner.cas(ctx, paxos::CasRef::One(stmt, params)).await;
        }
        if let Some(table) = core::Inner::serial_read_table(stmt, params) {
            self.inner.serial_read_repair(ctx, table)?;
        }
        self.inner.execute(ctx, stmt, params)
    }

    /// `batch` as a node serves it: a conditional batch runs as Paxos rounds.
    pub async fn serve_batch(&self, ctx: &ExecContext<'_>, batch: &BatchRequest) -> CqlResult<Outcome> {
        if batch.statements.iter().any(|(p, _)| p.is_lwt) {
            return self.inner.cas(ctx, paxos::CasRef::Batch(batch)).await;
        }
        self.inner.batch(ctx, batch)
    }

    /// The write type (SIMPLE, COUNTER, BATCH, UNLOGGED_BATCH) Cassandra would report if this
    /// non-conditional write timed out; `None` when it is not a write.
    pub fn write_type(&self, stmt: &Prepared, values: &BoundValues) -> Option<&'static str> {
        self.inner.write_type(stmt, values)
    }

    /// The same for a BATCH request (its partitions counted from the bound values).
    pub fn batch_write_type(&self, batch: &BatchRequest) -> &'static str {
        self.inner.batch_write_type(batch)
    }

    /// One event per schema change, for connections that sent REGISTER SCHEMA_CHANGE.
    pub fn schema_events(&self) -> tokio::sync::broadcast::Receiver<SchemaChange> {
        self.inner.subscribe()
    }

    /// Serves `table` (read-only, rows computed at each read) from now on; a table of the same
    /// name is replaced. Its keyspace is created as a system keyspace when missing.
    pub fn add_virtual_table(&self, table: Arc<dyn virtual_table::VirtualTable>) -> CqlResult<()> {
        self.inner.add_virtual_table(table)
    }

    /// The clock TTL expiry, server-side write timestamps and now()/currentTimestamp() read;
    /// clones of this engine (every node of a cluster) share it. See `clock::Clock`.
    pub fn clock(&self) -> clock::Clock {
        self.inner.clock().clone()
    }

    /// Moves the engine's clock forward by `by` (never back), e.g. past a TTL; returns the
    /// total offset from the system clock.
    pub fn advance_clock(&self, by: std::time::Duration) -> std::time::Duration {
        self.inner.clock().advance(by)
    }

    /// Applies Amazon Keyspaces's table rules from now on: `CUSTOM_PROPERTIES` is a table
    /// option, and `USING TTL` is refused on tables where TTL is not enabled.
    pub fn use_keyspaces_rules(&self) {
        self.inner.use_keyspaces_rules()
    }

    /// Gives each of `nodes` nodes its own copy of the data (each starts as a copy of what the
    /// engine holds now); from then on requests name the copies they reach (`Copies`). Schema
    /// stays shared, as gossip keeps it agreed. A one-node engine never calls this.
    pub fn hold_copies(&self, nodes: usize) {
        self.inner.hold_copies(nodes)
    }

    /// A server-side write timestamp, strictly after every one handed out before: a
    /// coordinator stamps a write with it so that its replicas and its hints share one.
    pub fn next_timestamp(&self) -> i64 {
        self.inner.next_ts()
    }
}
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_semantics;
#[cfg(test)]
mod durability_tests;

#[cfg(test)]
impl Engine {
    pub(crate) fn inner_state_for_tests(&self) -> parking_lot::RwLockWriteGuard<'_, core::State> {
        self.inner.state_for_tests()
    }
}
