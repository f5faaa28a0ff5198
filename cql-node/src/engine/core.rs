//! The engine's shared state and the statement pipeline: prepare (parse + resolve, cached),
//! execute (evaluate under one lock over the store), batches, schema changes and durability.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering as AtomicOrdering};

use bytes::Bytes;
use md5::{Digest, Md5};
use parking_lot::RwLock;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::ast::{QualifiedName, Statement};
use super::clock::Clock;
use super::eval::Env;
use super::journal::Journal;
use super::modify::{self, Touched};
use super::paxos::{CasRef, CasRequest, Paxos};
use super::mutation;
use super::plan::{Binder, ModifyPlan, SelectPlan, pk_bind_indexes};
use super::schema::{Catalog, SystemTable, TableSchema};
use super::select::{SelectInput, run_select};
use super::replica_copies;
use super::store::TableData;
use super::virtual_table::{self, VirtualTable};
use super::{
    BatchRequest, BatchType, BoundValue, BoundValues, ChangeType, ColumnSpec, Copies, EngineConfig, ExecContext, Outcome, Prepared, QueryParams,
    SchemaChange, SchemaTarget, StatementKind, ddl, parser, system,
};
use crate::error::{CqlError, CqlResult, ErrorKind};
use crate::types::Consistency;

pub(crate) enum Plan {
    Select(SelectPlan),
    Modify(ModifyPlan),
    Batch {
        kind: BatchType,
        timestamp: Option<super::plan::Expr>,
        stmts: Vec<ModifyPlan>,
    },
    Use(String),
    Ddl(Statement),
    Truncate(QualifiedName),
}

/// How a conditional write runs. `Whole` checks and applies at once (the engine used
/// directly); a Paxos round (`paxos`) runs `Read` after its promise and `Commit` once its
/// proposal is accepted. Non-conditional writes ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasMode {
    Whole,
    /// Check the conditions and the writes; apply nothing. `Void` when they would apply.
    Read,
    /// Apply without checking the conditions again, at the ballot's timestamp.
    Commit { ballot: i64 },
}

/// Cassandra's consistency checks (ConsistencyLevel.validateForRead/Write/CasCommit/Cas).
fn check_consistency(kind: StatementKind, is_lwt: bool, cl: Consistency, serial: Option<Consistency>) -> CqlResult<()> {
    let is_serial = |c: Consistency| matches!(c, Consistency::Serial | Consistency::LocalSerial);
    match kind {
        StatementKind::Select if cl == Consistency::Any => Err(CqlError::invalid("ANY ConsistencyLevel is only supported for writes")),
        k if k.is_write() && !is_lwt && is_serial(cl) => Err(CqlError::invalid("You must use conditional updates for serializable writes")),
        k if k.is_write() && is_lwt && is_serial(cl) => Err(CqlError::invalid(format!(
            "{} is not supported as conditional update commit consistency. Use ANY if you mean \"make sure it is accepted but I don't care how many replicas commit it for non-SERIAL reads\"",
            cl.name()
        ))),
        k if k.is_write() && is_lwt && serial.is_some_and(|s| !is_serial(s)) => {
            Err(CqlError::invalid("Invalid consistency for conditional update. Must be one of SERIAL or LOCAL_SERIAL"))
        }
        _ => Ok(()),
    }
}

/// Cassandra 4.1's WriteType for a non-conditional batch that times out: BatchStatement
/// writes through the batchlog (BATCH) only when LOGGED and spanning more than one partition
/// (mutation); otherwise StorageProxy.mutate says SIMPLE for one mutation, UNLOGGED_BATCH for
/// more, and COUNTER for counter mutations. Mutations are per keyspace and partition key.
/// Statements whose values do not bind (`None`) or whose key does not evaluate count as
/// partitions of their own: the engine refuses such a batch anyway.
fn batch_write_type<'a>(
    kind: BatchType,
    now_micros: i64,
    stmts: impl Iterator<Item = (&'a ModifyPlan, Option<Vec<BoundValue>>)>,
) -> &'static str {
    let mut partitions: Vec<(&str, Bytes)> = Vec::new();
    let mut unknown = 0;
    let mut counter = kind == BatchType::Counter;
    for (p, binds) in stmts {
        counter |= p.table.is_counter;
        let binds = binds.unwrap_or_default();
        let env = Env { binds: &binds, now_micros };
        match modify::targets(p, &env) {
            Ok(targets) => {
                for t in targets {
                    let key = (p.table.keyspace.as_str(), t.key);
                    if !partitions.contains(&key) {
                        partitions.push(key);
                    }
                }
            }
            Err(_) => unknown += 1,
        }
    }
    match () {
        _ if counter => "COUNTER",
        _ if partitions.len() + unknown <= 1 => "SIMPLE",
        _ if kind == BatchType::Logged => "BATCH",
        _ => "UNLOGGED_BATCH",
    }
}

fn plan_tables(plan: &Plan) -> Vec<Uuid> {
    match plan {
        Plan::Select(p) => vec![p.table.id],
        Plan::Modify(p) => vec![p.table.id],
        Plan::Batch { stmts, .. } => stmts.iter().map(|p| p.table.id).collect(),
        _ => vec![],
    }
}

pub(crate) struct PlanBox {
    pub plan: Plan,
    pub keyspace: Option<String>,
    pub generation: u64,
}

pub(crate) struct State {
    pub catalog: Catalog,
    /// The shared store. With per-node copies (`copies` not empty) it keeps one empty
    /// `TableData` per table, so the checks for a table's existence stay where they were.
    pub data: HashMap<Uuid, TableData>,
    /// Per-node copies of the data in a multi-node cluster (`Engine::hold_copies`), by node
    /// index; empty for one node, which pays nothing for them.
    pub copies: Vec<HashMap<Uuid, TableData>>,
}

impl State {
    /// The store the journal writes down: the shared one, or with per-node copies the first
    /// node's (a write reaching any copy is journaled from the first it reached, see
    /// `run_writes`; a restart from the data directory starts every copy from the journal).
    fn journaled(&self) -> &HashMap<Uuid, TableData> {
        self.copies.first().unwrap_or(&self.data)
    }

    /// Every store a schema change reaches: the shared one and each node's copy.
    fn stores_mut(&mut self) -> impl Iterator<Item = &mut HashMap<Uuid, TableData>> {
        std::iter::once(&mut self.data).chain(self.copies.iter_mut())
    }
}

/// A statement prepared for a keyspace (None: no USE in force).
type PreparedIn = (Option<String>, Prepared);

pub(crate) struct Inner {
    state: RwLock<State>,
    /// Prepared statements by id (EXECUTE) and by text (QUERY and re-PREPARE).
    by_id: RwLock<HashMap<Bytes, Prepared>>,
    by_text: RwLock<HashMap<String, Vec<PreparedIn>>>,
    generation: AtomicU64,
    /// The last server-side write timestamp handed out.
    last_ts: AtomicI64,
    /// The one clock every time-based behaviour reads (see `clock`).
    clock: Clock,
    events: broadcast::Sender<SchemaChange>,
    journal: Option<Journal>,
    /// Providers of `SystemTable::Virtual(i)` tables, by index.
    virtual_tables: RwLock<Vec<Arc<dyn VirtualTable>>>,
    /// Amazon Keyspaces's table rules (CUSTOM_PROPERTIES, TTL only where enabled), switched
    /// on by the Keyspaces profile.
    keyspaces_rules: std::sync::atomic::AtomicBool,
    /// The acceptors of lightweight transactions (see `paxos`).
    paxos: Paxos<Arc<CasRequest>>,
}

/// Prepared statements kept per cache before it is emptied.
const MAX_CACHED: usize = 50_000;

fn unconfigured(name: &str) -> CqlError {
    CqlError::invalid(format!("unconfigured table {name}"))
}

fn no_keyspace() -> CqlError {
    CqlError::invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
}

pub(crate) fn resolve_table(catalog: &Catalog, name: &QualifiedName, ks: Option<&str>) -> CqlResult<Arc<TableSchema>> {
    let ks_name = name.keyspace.as_deref().or(ks).ok_or_else(no_keyspace)?;
    let ks = catalog
        .keyspaces
        .get(ks_name)
        .ok_or_else(|| CqlError::invalid(format!("Keyspace '{ks_name}' does not exist")))?;
    ks.tables.get(&name.name).cloned().ok_or_else(|| unconfigured(&name.name))
}

fn is_system_keyspace(ks: &str) -> bool {
    matches!(
        ks,
        "system" | "system_schema" | "system_auth" | "system_distributed" | "system_traces" | "system_views" | "system_virtual_schema"
    )
}

impl Inner {
    pub fn open(config: EngineConfig) -> CqlResult<Inner> {
        let mut catalog = Catalog::default();
        for ks in system::system_keyspaces() {
            catalog.keyspaces.insert(ks.decl.name.clone(), ks);
        }
        let mut data: HashMap<Uuid, TableData> = HashMap::new();
        let mut journal = None;
        if let Some(dir) = &config.data_dir {
            let (j, recovered) = Journal::open(dir)?;
            if let Some(rec) = recovered {
                for k in rec.keyspaces {
                    catalog.keyspaces.insert(
                        k.name.clone(),
                        super::schema::Keyspace {
                            decl: k,
                            tables: Default::default(),
                            system: false,
                        },
                    );
                }
                for t in rec.tables {
                    let schema = TableSchema::build(&t, None)
                        .ok_or_else(|| CqlError::server(format!("stored schema of {}.{} unreadable", t.keyspace, t.name)))?;
                    if let Some(ks) = catalog.keyspaces.get_mut(&t.keyspace) {
                        ks.tables.insert(t.name.clone(), Arc::new(schema));
                    }
                }
            }
            let mut schemas: HashMap<Uuid, Arc<TableSchema>> = HashMap::new();
            let mut slots = HashMap::new();
            for ks in catalog.keyspaces.values().filter(|k| !k.system) {
                for t in ks.tables.values() {
                    schemas.insert(t.id, t.clone());
                    slots.insert(t.id, (t.slots, t.ck.len()));
                }
            }
            j.load(&slots, &mut data, &|id, p| {
                if let Some(s) = schemas.get(id) {
                    p.rows.sort_by(|a, b| super::store::compare_clustering(s, &a.ck.values(), &b.ck.values()));
                }
            })?;
            journal = Some(j);
        }
        for ks in catalog.keyspaces.values().filter(|k| !k.system) {
            for t in ks.tables.values() {
                data.entry(t.id).or_default();
            }
        }
        catalog.version = Uuid::new_v4();
        let (events, _) = broadcast::channel(1024);
        Ok(Inner {
            state: RwLock::new(State { catalog, data, copies: Vec::new() }),
            by_id: RwLock::new(HashMap::new()),
            by_text: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(1),
            last_ts: AtomicI64::new(0),
            clock: Clock::new(),
            events,
            journal,
            virtual_tables: RwLock::new(Vec::new()),
            keyspaces_rules: std::sync::atomic::AtomicBool::new(false),
            paxos: Paxos::new(config.paxos.clone()),
        })
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub(crate) fn paxos(&self) -> &Paxos<Arc<CasRequest>> {
        &self.paxos
    }

    /// The one partition a conditional write is on (its table and key), from its first
    /// conditional statement; `None` when the values do not bind or name no single key, which
    /// the write itself then refuses.
    pub(crate) fn cas_partition(&self, request: CasRef<'_>) -> Option<(Uuid, Bytes)> {
        let (stmt, values) = match request {
            CasRef::One(stmt, params) => (stmt, &params.values),
            CasRef::Batch(b) => b.statements.iter().find(|(p, _)| p.is_lwt).map(|(p, v)| (p, v))?,
        };
        let pb = stmt.plan.downcast_ref::<PlanBox>()?;
        let plan = match &pb.plan {
            Plan::Modify(p) => p,
            Plan::Batch { stmts, .. } => stmts.iter().find(|p| p.is_lwt())?,
            _ => return None,
        };
        let binds = self.bind_values(stmt, values).ok()?;
        let env = Env { binds: &binds, now_micros: self.clock.now_micros() };
        let targets = modify::targets(plan, &env).ok()?;
        match &targets[..] {
            [one] => Some((plan.table.id, one.key.clone())),
            _ => None,
        }
    }

    /// The table a SERIAL read is on, if the statement is one.
    pub(crate) fn serial_read_table(stmt: &Prepared, params: &QueryParams) -> Option<Uuid> {
        if !matches!(params.consistency, Consistency::Serial | Consistency::LocalSerial) {
            return None;
        }
        match &stmt.plan.downcast_ref::<PlanBox>()?.plan {
            Plan::Select(p) if p.table.system.is_none() => Some(p.table.id),
            _ => None,
        }
    }

    /// Gives each of `nodes` nodes its own copy of what the shared store holds now.
    pub fn hold_copies(&self, nodes: usize) {
        let mut st = self.state.write();
        if !st.copies.is_empty() {
            return;
        }
        st.copies = vec![st.data.clone(); nodes];
        for td in st.data.values_mut() {
            *td = TableData::default();
        }
    }

    /// A keyspace's replication options (for `routing`), `None` when it does not exist.
    pub(crate) fn replication_of(&self, keyspace: &str) -> Option<Vec<(String, String)>> {
        self.state.read().catalog.keyspaces.get(keyspace).map(|k| k.decl.replication.clone())
    }

    #[cfg(test)]
    pub fn state_for_tests(&self) -> parking_lot::RwLockWriteGuard<'_, State> {
        self.state.write()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SchemaChange> {
        self.events.subscribe()
    }

    pub fn use_keyspaces_rules(&self) {
        self.keyspaces_rules.store(true, AtomicOrdering::Release);
        // Plans made under Cassandra's rules must be checked again.
        self.generation.fetch_add(1, AtomicOrdering::AcqRel);
    }

    fn dialect(&self) -> ddl::Dialect {
        if self.keyspaces_rules.load(AtomicOrdering::Acquire) { ddl::Dialect::Keyspaces } else { ddl::Dialect::Cassandra }
    }

    pub fn add_virtual_table(&self, table: Arc<dyn VirtualTable>) -> CqlResult<()> {
        let (ks_name, name) = (table.keyspace().to_string(), table.name().to_string());
        let mut st = self.state.write();
        let mut providers = self.virtual_tables.write();
        let current = st.catalog.keyspaces.get(&ks_name).and_then(|k| k.tables.get(&name));
        let existing = current.and_then(|t| match t.system {
            Some(SystemTable::Virtual(i)) => Some(i),
            _ => None,
        });
        if existing.is_none() && current.is_some() {
            return Err(CqlError::invalid(format!(
                "{ks_name}.{name} already exists and is not a virtual table"
            )));
        }
        let index = existing.unwrap_or(providers.len() as u16);
        let schema = virtual_table::table_schema(table.as_ref(), index)
            .ok_or_else(|| CqlError::invalid(format!("virtual table {ks_name}.{name} has an invalid column type")))?;
        match existing {
            Some(i) => providers[i as usize] = table,
            None => providers.push(table),
        }
        let ks = st
            .catalog
            .keyspaces
            .entry(ks_name.clone())
            .or_insert_with(|| super::schema::Keyspace {
                decl: super::schema::KeyspaceDecl {
                    name: ks_name.clone(),
                    replication: vec![("class".into(), "org.apache.cassandra.locator.LocalStrategy".into())],
                    durable_writes: true,
                },
                tables: Default::default(),
                system: true,
            });
        ks.tables.insert(name, Arc::new(schema));
        st.catalog.version = Uuid::new_v4();
        // Plans resolved before this table existed must be resolved again.
        self.generation.fetch_add(1, AtomicOrdering::AcqRel);
        Ok(())
    }

    /// Strictly increasing microsecond timestamps, so two writes from this node never tie.
    pub(crate) fn next_ts(&self) -> i64 {
        let now = self.clock.now_micros();
        let mut last = self.last_ts.load(AtomicOrdering::Relaxed);
        loop {
            let next = if now > last { now } else { last + 1 };
            match self
                .last_ts
                .compare_exchange_weak(last, next, AtomicOrdering::Relaxed, AtomicOrdering::Relaxed)
            {
                Ok(_) => return next,
                Err(x) => last = x,
            }
        }
    }

    pub fn prepare(&self, query: &str, keyspace: Option<&str>) -> CqlResult<Prepared> {
        let generation = self.generation.load(AtomicOrdering::Acquire);
        if let Some(list) = self.by_text.read().get(query)
            && let Some((_, p)) = list.iter().find(|(k, _)| k.as_deref() == keyspace)
            && let Some(pb) = p.plan.downcast_ref::<PlanBox>()
            && pb.generation == generation
        {
            return Ok(p.clone());
        }
        let prepared = self.prepare_uncached(query, keyspace, generation)?;
        {
            let mut by_id = self.by_id.write();
            // QUERY with literals prepares a new text each time: bound the caches. Drivers
            // answer an Unprepared error by preparing again, so forgetting is safe.
            if by_id.len() >= MAX_CACHED {
                by_id.clear();
            }
            by_id.insert(prepared.id.clone(), prepared.clone());
        }
        let mut by_text = self.by_text.write();
        if by_text.len() >= MAX_CACHED {
            by_text.clear();
        }
        let list = by_text.entry(query.to_string()).or_default();
        list.retain(|(k, _)| k.as_deref() != keyspace);
        list.push((keyspace.map(|s| s.to_string()), prepared.clone()));
        Ok(prepared)
    }

    pub fn prepared(&self, id: &[u8]) -> Option<Prepared> {
        self.by_id.read().get(id).cloned()
    }

    fn prepare_uncached(&self, query: &str, keyspace: Option<&str>, generation: u64) -> CqlResult<Prepared> {
        let stmt = parser::parse(query)?;
        let st = self.state.read();
        let catalog = &st.catalog;
        let mut bind: Vec<ColumnSpec> = Vec::new();
        let mut pk_indexes = Vec::new();
        let mut result = Vec::new();
        let mut is_lwt = false;
        let (kind, plan) = match stmt {
            Statement::Select(s) => {
                let t = resolve_table(catalog, &s.table, keyspace)?;
                let mut b = Binder::new(t);
                let p = b.select(&s)?;
                bind = b.specs;
                if let Some(pk) = &p.pk {
                    pk_indexes = pk_bind_indexes(pk);
                }
                result = p.columns.clone();
                (StatementKind::Select, Plan::Select(p))
            }
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {
                let p = self.modify_plan(catalog, &stmt, keyspace, &mut bind)?;
                pk_indexes = pk_bind_indexes(&p.pk);
                is_lwt = p.is_lwt();
                (p.kind, Plan::Modify(p))
            }
            Statement::Batch { kind, using, statements } => {
                let mut stmts = Vec::new();
                for s in &statements {
                    stmts.push(self.modify_plan(catalog, s, keyspace, &mut bind)?);
                }
                let timestamp = match &using.timestamp {
                    Some(t) => {
                        let any = stmts.first().map(|p| p.table.clone());
                        let Some(table) = any else {
                            return Err(CqlError::invalid("Empty batch"));
                        };
                        let mut b = Binder::new(table);
                        b.specs = std::mem::take(&mut bind);
                        let e = b.term(t, "[timestamp]", &crate::types::ColumnType::Bigint)?;
                        bind = b.specs;
                        Some(e)
                    }
                    None => None,
                };
                if using.ttl.is_some() {
                    return Err(CqlError::invalid("Global TTL on the BATCH statement is not supported."));
                }
                is_lwt = stmts.iter().any(|p| p.is_lwt());
                if timestamp.is_some() && stmts.iter().any(|p| p.timestamp.is_some()) {
                    return Err(CqlError::invalid("Timestamp must be set either on BATCH or individual statements"));
                }
                if is_lwt && (timestamp.is_some() || stmts.iter().any(|p| p.timestamp.is_some())) {
                    return Err(CqlError::invalid("Cannot provide custom timestamp for conditional BATCH"));
                }
                (StatementKind::Batch, Plan::Batch { kind, timestamp, stmts })
            }
            Statement::Use(ks) => (StatementKind::Use, Plan::Use(ks)),
            Statement::Truncate(name) => {
                if name.keyspace.is_none() && keyspace.is_none() {
                    return Err(no_keyspace());
                }
                (StatementKind::Truncate, Plan::Truncate(name))
            }
            Statement::Unsupported { kind, what } => {
                let e = match kind {
                    StatementKind::Other if what != "DESCRIBE" => CqlError::new(
                        ErrorKind::Unauthorized,
                        format!("{what} is not supported by this node (no roles or permissions)"),
                    ),
                    _ => CqlError::invalid(format!("{what} is not supported by this node")),
                };
                return Err(e);
            }
            ddl @ (Statement::CreateKeyspace { .. }
            | Statement::AlterKeyspace { .. }
            | Statement::AlterTable { .. }
            | Statement::DropKeyspace { .. }
            | Statement::CreateTable(_)
            | Statement::DropTable { .. }) => {
                let needs_ks = match &ddl {
                    Statement::CreateTable(ct) => ct.name.keyspace.is_none(),
                    Statement::DropTable { name, .. } => name.keyspace.is_none(),
                    Statement::AlterTable { name, .. } => name.keyspace.is_none(),
                    _ => false,
                };
                if needs_ks && keyspace.is_none() {
                    return Err(no_keyspace());
                }
                (StatementKind::Schema, Plan::Ddl(ddl))
            }
        };
        drop(st);
        let id = {
            let mut h = Md5::new();
            if let Some(k) = keyspace {
                h.update(k.as_bytes());
            }
            h.update(query.as_bytes());
            Bytes::copy_from_slice(&h.finalize())
        };
        Ok(Prepared {
            id,
            query: query.to_string(),
            kind,
            is_lwt,
            bind,
            pk_indexes,
            result,
            plan: Arc::new(PlanBox {
                plan,
                keyspace: keyspace.map(|s| s.to_string()),
                generation,
            }),
        })
    }

    fn modify_plan(
        &self,
        catalog: &Catalog,
        stmt: &Statement,
        keyspace: Option<&str>,
        bind: &mut Vec<ColumnSpec>,
    ) -> CqlResult<ModifyPlan> {
        let name = match stmt {
            Statement::Insert(i) => &i.table,
            Statement::Update(u) => &u.table,
            Statement::Delete(d) => &d.table,
            _ => {
                return Err(CqlError::invalid(
                    "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.",
                ));
            }
        };
        let t = resolve_table(catalog, name, keyspace)?;
        if t.system.is_some() || is_system_keyspace(&t.keyspace) {
            return Err(CqlError::new(
                ErrorKind::Unauthorized,
                format!("{} keyspace is not user-modifiable.", t.keyspace),
            ));
        }
        let mut b = Binder::new(t);
        b.specs = std::mem::take(bind);
        let p = match stmt {
            Statement::Insert(i) => b.insert(i),
            Statement::Update(u) => b.update(u),
            Statement::Delete(d) => b.delete(d),
            _ => unreachable!("checked above"),
        };
        *bind = b.specs;
        let p = p?;
        // ModificationStatement: counters and lightweight transactions do not mix.
        if p.table.is_counter && p.is_lwt() {
            return Err(CqlError::invalid("Conditional updates are not supported on counter tables"));
        }
        // Keyspaces refuses a TTL on a table where TTL is not enabled (CUSTOM_PROPERTIES
        // 'ttl' or a default_time_to_live above 0); the wording is the one its users report.
        if p.ttl.is_some() && self.dialect() == ddl::Dialect::Keyspaces && !p.table.ttl_enabled() {
            return Err(CqlError::invalid("TTL is not yet supported."));
        }
        Ok(p)
    }

    pub(crate) fn bind_values(&self, stmt: &Prepared, values: &BoundValues) -> CqlResult<Vec<BoundValue>> {
        match values {
            BoundValues::Positional(v) => {
                if v.len() != stmt.bind.len() {
                    return Err(CqlError::invalid(format!(
                        "Invalid amount of bind variables: expected {}, got {}",
                        stmt.bind.len(),
                        v.len()
                    )));
                }
                Ok(v.clone())
            }
            BoundValues::Named(named) => {
                let mut out = Vec::with_capacity(stmt.bind.len());
                for spec in &stmt.bind {
                    let v = named
                        .iter()
                        .find(|(n, _)| n == &spec.name || n.eq_ignore_ascii_case(&spec.name))
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| CqlError::invalid(format!("Invalid unset value for column {}", spec.name)))?;
                    out.push(v);
                }
                Ok(out)
            }
        }
    }

    pub fn execute(&self, ctx: &ExecContext<'_>, stmt: &Prepared, params: &QueryParams) -> CqlResult<Outcome> {
        self.execute_as(ctx, stmt, params, CasMode::Whole)
    }

    /// `execute`, with a conditional write run as one step of a Paxos round (`mode`).
    pub fn execute_as(&self, ctx: &ExecContext<'_>, stmt: &Prepared, params: &QueryParams, mode: CasMode) -> CqlResult<Outcome> {
        let pb = stmt
            .plan
            .downcast_ref::<PlanBox>()
            .ok_or_else(|| CqlError::server("foreign prepared statement"))?;
        let binds = self.bind_values(stmt, &params.values)?;
        check_consistency(stmt.kind, stmt.is_lwt, params.consistency, params.serial_consistency)?;
        match &pb.plan {
            Plan::Select(sp) => self.run_select(ctx, stmt, pb, sp, &binds, params),
            Plan::Modify(mp) => {
                let ts = params.timestamp;
                let mut st = self.state.write();
                if !st.data.contains_key(&mp.table.id) {
                    drop(st);
                    return self.retry_stale(ctx, stmt, pb, params, mode);
                }
                self.run_writes(&mut st, ctx, &[(mp, &binds[..])], BatchType::Unlogged, None, ts, false, mode)
            }
            Plan::Batch { kind, timestamp, stmts } => {
                let mut st = self.state.write();
                if stmts.iter().any(|p| !st.data.contains_key(&p.table.id)) {
                    drop(st);
                    return self.retry_stale(ctx, stmt, pb, params, mode);
                }
                let items: Vec<(&ModifyPlan, &[BoundValue])> = stmts.iter().map(|p| (p, &binds[..])).collect();
                let env = Env {
                    binds: &binds,
                    now_micros: self.clock.now_micros(),
                };
                let bts = match timestamp {
                    Some(e) => super::eval::eval(e, &env)?
                        .bytes()
                        .and_then(|b| b[..].try_into().ok().map(i64::from_be_bytes)),
                    None => None,
                };
                self.run_writes(&mut st, ctx, &items, *kind, bts, params.timestamp, true, mode)
            }
            Plan::Use(ks) => {
                let st = self.state.read();
                if st.catalog.keyspaces.contains_key(ks) {
                    Ok(Outcome::SetKeyspace(ks.clone()))
                } else {
                    Err(CqlError::invalid(format!("Keyspace '{ks}' does not exist")))
                }
            }
            Plan::Truncate(name) => {
                let mut st = self.state.write();
                let t = resolve_table(&st.catalog, name, pb.keyspace.as_deref())?;
                if t.system.is_some() || is_system_keyspace(&t.keyspace) {
                    return Err(CqlError::new(
                        ErrorKind::Unauthorized,
                        format!("{} keyspace is not user-modifiable.", t.keyspace),
                    ));
                }
                for store in st.stores_mut() {
                    store.insert(t.id, TableData::default());
                }
                if let Some(j) = &self.journal {
                    j.clear_table(&t.id)?;
                }
                Ok(Outcome::Void)
            }
            Plan::Ddl(ddl) => self.run_ddl(ddl, pb.keyspace.as_deref()),
        }
    }

    /// The plan names a table that was dropped (and maybe re-created) since it was prepared:
    /// resolve it again against the current schema.
    fn retry_stale(&self, ctx: &ExecContext<'_>, stmt: &Prepared, pb: &PlanBox, params: &QueryParams, mode: CasMode) -> CqlResult<Outcome> {
        let generation = self.generation.load(AtomicOrdering::Acquire);
        if pb.generation == generation {
            return Err(CqlError::server("internal error: stale plan for the current schema"));
        }
        let fresh = self.prepare_uncached(&stmt.query, pb.keyspace.as_deref(), generation)?;
        self.by_id.write().insert(fresh.id.clone(), fresh.clone());
        self.execute_as(ctx, &fresh, params, mode)
    }

    fn run_select(
        &self,
        ctx: &ExecContext<'_>,
        stmt: &Prepared,
        pb: &PlanBox,
        sp: &SelectPlan,
        binds: &[BoundValue],
        params: &QueryParams,
    ) -> CqlResult<Outcome> {
        let env = Env {
            binds,
            now_micros: self.clock.now_micros(),
        };
        let now_secs = env.now_micros / 1_000_000;
        let st = self.state.read();
        if let Some(sys) = sp.table.system {
            let data = match sys {
                SystemTable::Virtual(i) => match self.virtual_tables.read().get(i as usize) {
                    Some(provider) => virtual_table::generate(&sp.table, provider, &st.catalog),
                    None => return Err(CqlError::server(format!("no provider for virtual table {}", sp.table.qualified()))),
                },
                _ => system::generate(&sp.table, sys, &st.catalog, ctx.node),
            };
            drop(st);
            let rows = run_select(SelectInput {
                plan: sp,
                data: &data,
                env: &env,
                params,
                now_secs,
            })?;
            return Ok(Outcome::Rows(rows));
        }
        let Some(data) = st.data.get(&sp.table.id) else {
            drop(st);
            return self.retry_stale(ctx, stmt, pb, params, CasMode::Whole);
        };
        if !st.copies.is_empty() {
            // Per-node copies: the contacted replicas' answers, merged (every copy for a read
            // no coordinator placed).
            let nodes = st.copies.len();
            let every = move |_: i64| (0..nodes).collect::<Vec<usize>>();
            let all = Copies { write: &[], read: &every, repair: false };
            let copies = ctx.copies.unwrap_or(&all);
            let tokens = sp.pk.as_ref().and_then(|_| super::routing::select_tokens(sp, &env));
            let merged = replica_copies::gather(&st.copies, &sp.table, tokens.as_deref(), copies.read);
            drop(st);
            if copies.repair {
                let repaired = replica_copies::repair(&mut self.state.write().copies, &sp.table, &merged, copies.read);
                if repaired > 0 {
                    tracing::debug!(table = %sp.table.qualified(), repaired, "blocking read repair");
                }
            }
            let rows = run_select(SelectInput {
                plan: sp,
                data: &merged,
                env: &env,
                params,
                now_secs,
            })?;
            return Ok(Outcome::Rows(rows));
        }
        let rows = run_select(SelectInput {
            plan: sp,
            data,
            env: &env,
            params,
            now_secs,
        })?;
        Ok(Outcome::Rows(rows))
    }

    /// Runs writes (one statement or a batch) atomically under the store's write lock.
    // One call site per request shape (statement, text batch, protocol batch, Paxos step):
    // the arguments are the request's parts, grouping them would only move them.
    #[allow(clippy::too_many_arguments)]
    fn run_writes(
        &self,
        st: &mut State,
        ctx: &ExecContext<'_>,
        items: &[(&ModifyPlan, &[BoundValue])],
        kind: BatchType,
        batch_ts: Option<i64>,
        params_ts: Option<i64>,
        is_batch: bool,
        mode: CasMode,
    ) -> CqlResult<Outcome> {
        let now = self.clock.now_micros();
        let now_secs = now / 1_000_000;
        if is_batch {
            let counters = items.iter().filter(|(p, _)| p.table.is_counter).count();
            if kind == BatchType::Counter && counters < items.len() {
                return Err(CqlError::invalid("Cannot include non-counter statement in a counter batch"));
            }
            if kind == BatchType::Logged && counters > 0 {
                return Err(CqlError::invalid("Cannot include a counter statement in a logged batch"));
            }
            if kind == BatchType::Unlogged && counters > 0 && counters < items.len() {
                return Err(CqlError::invalid(
                    "Counter and non-counter mutations cannot exist in the same batch",
                ));
            }
        }
        let lwt = items.iter().any(|(p, _)| p.is_lwt());
        let default_ts = match mode {
            // A Paxos commit writes at its ballot's timestamp, whoever completes it.
            CasMode::Commit { ballot } => ballot,
            _ => batch_ts.or(params_ts).unwrap_or_else(|| self.next_ts()),
        };
        if lwt {
            // All conditions are checked against the same state before anything is applied.
            let mut key: Option<(Uuid, Bytes)> = None;
            for (p, b) in items {
                let env = Env { binds: b, now_micros: now };
                for tg in modify::targets(p, &env)? {
                    match &key {
                        None => key = Some((p.table.id, tg.key.clone())),
                        Some((tid, k)) => {
                            if *tid != p.table.id {
                                return Err(CqlError::invalid("Batch with conditions cannot span multiple tables"));
                            }
                            if *k != tg.key {
                                return Err(CqlError::invalid("Batch with conditions cannot span multiple partitions"));
                            }
                        }
                    }
                }
            }
            let envs: Vec<Env> = items.iter().map(|(_, b)| Env { binds: b, now_micros: now }).collect();
            let mut failed = false;
            // A commit's conditions were decided when its round read the partition.
            let decided = matches!(mode, CasMode::Commit { .. });
            for ((p, _), env) in items.iter().zip(envs.iter()).filter(|_| !decided) {
                let view = Self::write_view(st, ctx, p, env)?;
                let data = view.as_ref().map_or_else(|| st.data.get(&p.table.id), Some).ok_or_else(|| unconfigured(&p.table.name))?;
                if let Some(rows) = modify::check_condition(data, p, env, now_secs)? {
                    if !is_batch {
                        return Ok(Outcome::Rows(rows));
                    }
                    failed = true;
                }
            }
            if failed {
                let view = Self::write_view(st, ctx, items[0].0, &envs[0])?;
                let data = view
                    .as_ref()
                    .map_or_else(|| st.data.get(&items[0].0.table.id), Some)
                    .ok_or_else(|| unconfigured(&items[0].0.table.name))?;
                let pairs: Vec<(&ModifyPlan, &Env)> = items.iter().map(|(p, _)| *p).zip(envs.iter()).collect();
                return Ok(Outcome::Rows(modify::batch_failure(data, &pairs, now_secs)?));
            }
        }
        // Every statement is evaluated and checked before any is applied: an error leaves no
        // trace in the store nor in the journal.
        let mut mutations = Vec::with_capacity(items.len());
        for (p, b) in items {
            let env = Env { binds: b, now_micros: now };
            let view = Self::write_view(st, ctx, p, &env)?;
            let data = view.as_ref().map_or_else(|| st.data.get(&p.table.id), Some).ok_or_else(|| unconfigured(&p.table.name))?;
            mutations.push(mutation::prepare(Some(data), p, &env, default_ts, now_secs)?);
        }
        if mode == CasMode::Read {
            // The round's read: the conditions hold and the writes are valid; nothing is applied.
            return Ok(Outcome::Void);
        }
        let mut touched: Vec<Touched> = Vec::new();
        // Per-node copies: the write reaches the copies its coordinator names, each applying
        // the same mutations (same timestamps); the journal follows the first of them.
        // A request no coordinator placed (the engine used directly) reaches every copy.
        let every: Vec<usize> = (0..st.copies.len()).collect();
        let targets: &[usize] = ctx.copies.map_or(&every, |c| c.write);
        if st.copies.is_empty() {
            for m in &mutations {
                let id = m.table_id();
                let data = st.data.get_mut(&id).ok_or_else(|| CqlError::server("table vanished under the write lock"))?;
                mutation::apply(data, m, now_secs, &mut touched);
            }
        } else {
            let mut ignored = Vec::new();
            for (i, &node) in targets.iter().enumerate() {
                let store = st.copies.get_mut(node).ok_or_else(|| CqlError::server(format!("no copy for node {node}")))?;
                for m in &mutations {
                    let id = m.table_id();
                    let data = store.get_mut(&id).ok_or_else(|| CqlError::server("table vanished under the write lock"))?;
                    mutation::apply(data, m, now_secs, if i == 0 { &mut touched } else { &mut ignored });
                }
                ignored.clear();
            }
        }
        let journaled = match targets.first() {
            Some(&node) => &st.copies[node],
            None => &st.data,
        };
        if let Some(j) = &self.journal {
            let schemas: HashMap<Uuid, Arc<TableSchema>> = items.iter().map(|(p, _)| (p.table.id, p.table.clone())).collect();
            j.write(journaled, &touched, &|id| schemas.get(id).cloned())?;
        }
        if lwt {
            let t = &items[0].0.table;
            return Ok(Outcome::Rows(modify::applied_rows(t)));
        }
        Ok(Outcome::Void)
    }

    /// What a write reads before it applies (its conditions, a list's length), with per-node
    /// copies: the merge of the copies its coordinator contacts for the partitions it
    /// touches. `None`: the shared store is the view.
    fn write_view(st: &State, ctx: &ExecContext<'_>, p: &ModifyPlan, env: &Env<'_>) -> CqlResult<Option<TableData>> {
        if st.copies.is_empty() {
            return Ok(None);
        }
        let tokens: Vec<i64> = modify::targets(p, env)?.iter().map(|t| t.token).collect();
        let every = |_: i64| (0..st.copies.len()).collect::<Vec<usize>>();
        let read = ctx.copies.map_or(&every as &(dyn Fn(i64) -> Vec<usize> + Sync), |c| c.read);
        Ok(Some(replica_copies::gather(&st.copies, &p.table, Some(&tokens), read)))
    }

    /// The write type Cassandra reports when this non-conditional write times out
    /// (StorageProxy.mutate / mutateCounter): COUNTER on a counter table, SIMPLE otherwise.
    /// `None` for what is not a write.
    pub fn write_type(&self, stmt: &Prepared, values: &BoundValues) -> Option<&'static str> {
        let pb = stmt.plan.downcast_ref::<PlanBox>()?;
        match &pb.plan {
            Plan::Modify(p) if p.table.is_counter => Some("COUNTER"),
            Plan::Modify(_) => Some("SIMPLE"),
            Plan::Batch { kind, stmts, .. } => {
                // A BEGIN BATCH text: its statements share the statement's bind markers.
                let binds = self.bind_values(stmt, values).ok();
                let stmts = stmts.iter().map(|p| (p, binds.clone()));
                Some(batch_write_type(*kind, self.clock.now_micros(), stmts))
            }
            _ => None,
        }
    }

    /// The same for a BATCH request, whose partitions are counted from its bound values.
    pub fn batch_write_type(&self, batch: &BatchRequest) -> &'static str {
        let plans = batch.statements.iter().filter_map(|(p, values)| {
            let Plan::Modify(mp) = &p.plan.downcast_ref::<PlanBox>()?.plan else {
                return None;
            };
            Some((mp, self.bind_values(p, values).ok()))
        });
        batch_write_type(batch.batch_type, self.clock.now_micros(), plans)
    }

    pub fn batch(&self, ctx: &ExecContext<'_>, batch: &BatchRequest) -> CqlResult<Outcome> {
        self.batch_as(ctx, batch, CasMode::Whole)
    }

    pub fn batch_as(&self, ctx: &ExecContext<'_>, batch: &BatchRequest, mode: CasMode) -> CqlResult<Outcome> {
        let _ = ctx;
        let lwt = batch.statements.iter().any(|(p, _)| p.is_lwt);
        check_consistency(StatementKind::Batch, lwt, batch.consistency, batch.serial_consistency)?;
        let mut bound = Vec::with_capacity(batch.statements.len());
        for (p, values) in &batch.statements {
            let pb = p
                .plan
                .downcast_ref::<PlanBox>()
                .ok_or_else(|| CqlError::server("foreign prepared statement"))?;
            let Plan::Modify(_) = &pb.plan else {
                return Err(CqlError::invalid(
                    "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.",
                ));
            };
            bound.push(self.bind_values(p, values)?);
        }
        let mut st = self.state.write();
        let mut items: Vec<(&ModifyPlan, &[BoundValue])> = Vec::with_capacity(bound.len());
        let mut fresh_plans = Vec::new();
        for (p, _) in &batch.statements {
            let pb = p
                .plan
                .downcast_ref::<PlanBox>()
                .ok_or_else(|| CqlError::server("foreign prepared statement"))?;
            if let Plan::Modify(mp) = &pb.plan
                && !st.data.contains_key(&mp.table.id)
            {
                // Stale after a schema change: resolve again.
                drop(st);
                let generation = self.generation.load(AtomicOrdering::Acquire);
                fresh_plans.push(self.prepare_uncached(&p.query, pb.keyspace.as_deref(), generation)?);
                st = self.state.write();
                continue;
            }
            fresh_plans.push(p.clone());
        }
        for (i, p) in fresh_plans.iter().enumerate() {
            let pb = p
                .plan
                .downcast_ref::<PlanBox>()
                .ok_or_else(|| CqlError::server("foreign prepared statement"))?;
            match &pb.plan {
                Plan::Modify(mp) => {
                    if !st.data.contains_key(&mp.table.id) {
                        return Err(unconfigured(&mp.table.name));
                    }
                    items.push((mp, &bound[i][..]));
                }
                _ => {
                    return Err(CqlError::invalid(
                        "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.",
                    ));
                }
            }
        }
        self.run_writes(&mut st, ctx, &items, batch.batch_type, None, batch.timestamp, true, mode)
    }

    fn run_ddl(&self, ddl: &Statement, keyspace: Option<&str>) -> CqlResult<Outcome> {
        let mut st = self.state.write();
        let mut dropped: Vec<Uuid> = Vec::new();
        let mut altered: Option<Uuid> = None;
        let mut altered_schema: Option<Arc<TableSchema>> = None;
        let mut touched: Vec<Touched> = Vec::new();
        let change = match ddl {
            Statement::CreateKeyspace {
                name,
                if_not_exists,
                options,
            } => ddl::create_keyspace(&mut st.catalog.keyspaces, name, *if_not_exists, options)?,
            Statement::AlterKeyspace { name, options } => ddl::alter_keyspace(&mut st.catalog.keyspaces, name, options)?,
            Statement::DropKeyspace { name, if_exists } => {
                let (c, ids) = ddl::drop_keyspace(&mut st.catalog.keyspaces, name, *if_exists)?;
                dropped = ids;
                c
            }
            Statement::CreateTable(ct) => {
                let ks = ct.name.keyspace.as_deref().or(keyspace).ok_or_else(no_keyspace)?.to_string();
                match ddl::create_table(&mut st.catalog.keyspaces, &ks, ct, self.dialect())? {
                    Some(t) => {
                        for store in st.stores_mut() {
                            store.insert(t.id, TableData::default());
                        }
                        Some(SchemaChange {
                            change: ChangeType::Created,
                            target: SchemaTarget::Table {
                                keyspace: ks,
                                table: t.name.clone(),
                            },
                        })
                    }
                    None => None,
                }
            }
            Statement::AlterTable { name, change } => {
                let ks = name.keyspace.as_deref().or(keyspace).ok_or_else(no_keyspace)?.to_string();
                match ddl::alter_table(&mut st.catalog.keyspaces, &ks, &name.name, change, self.dialect())? {
                    Some((t, slots)) => {
                        altered = Some(t.id);
                        // The store the journal follows: its touched rows are written down.
                        let journaled = usize::from(!st.copies.is_empty());
                        for (i, td) in st.stores_mut().enumerate().filter_map(|(i, s)| Some((i, s.get_mut(&t.id)?))) {
                            if slots.is_empty() {
                                break;
                            }
                            // A dropped column's data goes with it (a column added later under
                            // the same name starts empty, as in Cassandra).
                            for ((token, key), p) in td.partitions.iter_mut() {
                                if let Some(s) = p.statics.as_mut() {
                                    s.update(|c| slots.iter().for_each(|s| c.set(*s, None)));
                                }
                                if i != journaled {
                                    for r in p.rows.iter_mut() {
                                        r.update(|c| slots.iter().for_each(|s| c.set(*s, None)));
                                    }
                                    continue;
                                }
                                touched.push(Touched {
                                    table: t.id,
                                    token: *token,
                                    key: key.clone(),
                                    ck: None,
                                });
                                for r in p.rows.iter_mut() {
                                    r.update(|c| slots.iter().for_each(|s| c.set(*s, None)));
                                    touched.push(Touched {
                                        table: t.id,
                                        token: *token,
                                        key: key.clone(),
                                        ck: Some(r.ck.to_vec()),
                                    });
                                }
                            }
                        }
                        altered_schema = Some(t.clone());
                        Some(SchemaChange {
                            change: ChangeType::Updated,
                            target: SchemaTarget::Table {
                                keyspace: ks,
                                table: name.name.clone(),
                            },
                        })
                    }
                    None => None,
                }
            }
            Statement::DropTable { name, if_exists } => {
                let ks = name.keyspace.as_deref().or(keyspace).ok_or_else(no_keyspace)?.to_string();
                match ddl::drop_table(&mut st.catalog.keyspaces, &ks, &name.name, *if_exists)? {
                    Some(id) => {
                        dropped.push(id);
                        Some(SchemaChange {
                            change: ChangeType::Dropped,
                            target: SchemaTarget::Table {
                                keyspace: ks,
                                table: name.name.clone(),
                            },
                        })
                    }
                    None => None,
                }
            }
            _ => return Err(CqlError::server("not a schema statement")),
        };
        let Some(change) = change else { return Ok(Outcome::Void) };
        for id in &dropped {
            for store in st.stores_mut() {
                store.remove(id);
            }
        }
        st.catalog.version = Uuid::new_v4();
        self.generation.fetch_add(1, AtomicOrdering::AcqRel);
        if let Some(j) = &self.journal {
            let kss: Vec<_> = st
                .catalog
                .keyspaces
                .values()
                .filter(|k| !k.system)
                .map(|k| k.decl.clone())
                .collect();
            let tables: Vec<_> = st
                .catalog
                .keyspaces
                .values()
                .filter(|k| !k.system)
                .flat_map(|k| k.tables.values().map(|t| t.decl()))
                .collect();
            j.save_schema(&kss, &tables)?;
            for id in &dropped {
                j.clear_table(id)?;
            }
            if let Some(schema) = &altered_schema {
                let schema = schema.clone();
                j.write(st.journaled(), &touched, &move |_| Some(schema.clone()))?;
            }
        }
        drop(st);
        // Prepared statements on a dropped or altered table must be prepared again: EXECUTE
        // answers Unprepared and drivers re-prepare, as with Cassandra.
        let gone: Vec<Uuid> = dropped.iter().copied().chain(altered).collect();
        if !gone.is_empty() {
            self.by_id.write().retain(|_, p| match p.plan.downcast_ref::<PlanBox>() {
                Some(pb) => !plan_tables(&pb.plan).iter().any(|id| gone.contains(id)),
                None => true,
            });
        }
        // Statements prepared against the old schema are re-resolved on next use.
        self.by_text.write().clear();
        let _ = self.events.send(change.clone());
        Ok(Outcome::SchemaChange(change))
    }
}
