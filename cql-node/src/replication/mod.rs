//! Replicas for the multi-node mode (Cassandra profile): which nodes hold a partition, which
//! of them are alive, and what a coordinator does with a request given both, as Cassandra's
//! `StorageProxy` does. Every node of a `Cluster` shares one `Replicas`; a lone node has none
//! and pays nothing.
//!
//! What a request meets, in Cassandra's order:
//! 1. Unavailable when fewer replicas are *believed* alive than its consistency level needs
//!    (`consistency`); nothing is written.
//! 2. A multi-partition LOGGED batch first writes its batch log to one or two other live
//!    nodes of the local DC; if one of them has stopped unnoticed, WriteTimeout(BATCH_LOG)
//!    after the write timeout, and the batch is replayed later by the node that stored it.
//! 3. When a replica it needs has stopped but is not yet known down (`liveness`), the request
//!    waits out the timeout and answers WriteTimeout / ReadTimeout with the replicas that did
//!    answer; a plain write still lands on those.
//!
//! Each node holds its own copy of the data (`Engine::hold_copies`; the schema is shared): a
//! write reaches the replicas that answer (`reach`), and the coordinator keeps a hint for each
//! replica that did not, delivered `hint_delay` after that node is seen up again (or at once
//! through `deliver_hints`). A read merges the copies of the replicas it contacts, so a read
//! at ONE from a node that just came back can be stale until its hints arrive.

pub mod admin;
pub mod consistency;
pub mod liveness;
pub mod reach;
pub mod ring;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::engine::routing::Routing;
use crate::engine::{BatchRequest, Copies, Engine, ExecContext, NodeInfo, Prepared, QueryParams};
use crate::error::{CqlError, ErrorKind};
use crate::types::Consistency;
use consistency::{first_short, need, received};
use liveness::{Change, Liveness, State};
use reach::Reach;
use ring::{Ring, Strategy};

/// Timeouts and the failure detector's delay.
#[derive(Debug, Clone, Copy)]
pub struct ReplicationConfig {
    /// How long an abruptly stopped node goes unnoticed (default ≈ Cassandra's 18.4 s).
    pub detection_delay: Duration,
    /// `write_request_timeout` (Cassandra: 2 s); Paxos rounds and the batch log wait as long.
    pub write_timeout: Duration,
    /// `read_request_timeout` (Cassandra: 5 s), also used for range reads.
    pub read_timeout: Duration,
    /// How long after a node is seen up again its hints are delivered, on the engine's clock
    /// (Cassandra's dispatcher runs every 10 s once the target is alive).
    pub hint_delay: Duration,
    /// `max_hint_window` (Cassandra: 3 h): no hints are kept for a node stopped longer.
    pub max_hint_window: Duration,
}

/// The default `hint_delay`: Cassandra's `HintsService` schedules dispatch every 10 s.
pub const DEFAULT_HINT_DELAY: Duration = Duration::from_secs(10);

impl Default for ReplicationConfig {
    fn default() -> Self {
        Self {
            detection_delay: liveness::DEFAULT_DETECTION_DELAY,
            write_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(5),
            hint_delay: DEFAULT_HINT_DELAY,
            max_hint_window: Duration::from_secs(3 * 3600),
        }
    }
}

impl ReplicationConfig {
    /// A batch log entry is replayed once older than twice the write timeout
    /// (`BatchlogManager.getBatchlogTimeout`).
    pub fn batchlog_replay_after(&self) -> Duration {
        self.write_timeout * 2
    }
}

/// What kind of request a coordinator handles.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    Read { consistency: Consistency },
    /// A SERIAL / LOCAL_SERIAL read: a Paxos round at that level.
    SerialRead { consistency: Consistency },
    /// A non-conditional write, with the write type a timeout reports.
    Write { consistency: Consistency, write_type: &'static str },
    /// A conditional write or batch: Paxos at the serial level (SERIAL when not given).
    Cas { serial: Option<Consistency> },
}

/// What the coordinator does with a request.
pub enum Admission {
    /// Enough replicas answer: run it on the replicas `Reach` names (`None`: nothing routed,
    /// such as a system table or a statement the engine will refuse).
    Proceed(Option<Reach>),
    /// Refused before anything is sent (Unavailable).
    Refuse(CqlError),
    /// Some replicas it needs never answer: wait `after`, then answer `error`.
    TimeOut { after: Duration, error: CqlError, apply: Apply },
}

/// What becomes of a write that timed out.
pub enum Apply {
    /// The replicas that answered applied it (maybe none), the others get hints.
    Now(Reach),
    /// Nothing was applied.
    Never,
    /// Stored in a batch log: replayed once `batchlog_replay_after` has passed.
    Later,
}

/// A write the batch log will replay (or hints deliver).
#[derive(Clone)]
pub enum Replay {
    Batch(BatchRequest),
    Statement(Prepared, QueryParams),
}

impl Replay {
    /// Fixes the write's timestamp to `now` unless the client gave one, so that applied
    /// later it does not overwrite newer writes: Cassandra's batch log and hints keep the
    /// mutation with the timestamp it had when it was coordinated.
    pub fn stamped(mut self, now_micros: i64) -> Replay {
        match &mut self {
            Replay::Batch(b) => {
                b.timestamp.get_or_insert(now_micros);
            }
            Replay::Statement(_, p) => {
                p.timestamp.get_or_insert(now_micros);
            }
        }
        self
    }
}

/// A batch log entry, kept by node `coordinator`.
struct Pending {
    /// Replayed at this engine-clock instant.
    due_micros: i64,
    coordinator: usize,
    keyspace: Option<String>,
    node: Arc<NodeInfo>,
    write: Replay,
}

/// A hint: a write node `target` missed, kept by its coordinator.
struct Hint {
    target: usize,
    /// Delivered at this engine-clock instant; `None` until the target is seen up again.
    due_micros: Option<i64>,
    keyspace: Option<String>,
    node: Arc<NodeInfo>,
    write: Replay,
    /// A lightweight transaction's commit, applied at this ballot's timestamp without its
    /// conditions (they were decided by the Paxos round).
    commit: Option<i64>,
}

/// A STATUS_CHANGE to push to registered connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub up: bool,
    pub address: SocketAddr,
}

pub struct Replicas {
    ring: Arc<Ring>,
    addresses: Vec<SocketAddr>,
    config: ReplicationConfig,
    engine: Engine,
    liveness: Mutex<Liveness>,
    /// When each stopped node stopped (engine clock, µs), for the hint window.
    stopped_at: Mutex<Vec<Option<i64>>>,
    /// Batch log entries, waiting to be replayed.
    batchlog: Mutex<Vec<Pending>>,
    /// Hints, waiting for their nodes.
    hints: Mutex<Vec<Hint>>,
    events: broadcast::Sender<StatusChange>,
}

impl Replicas {
    /// One per cluster: `infos[i]` is node `i`'s identity (address, DC, rack, tokens).
    pub fn new(infos: &[NodeInfo], engine: Engine, config: ReplicationConfig) -> Arc<Replicas> {
        let places = infos
            .iter()
            .map(|i| ring::Place { data_center: i.data_center.clone(), rack: i.rack.clone(), tokens: i.tokens.clone() })
            .collect();
        // Each node its own copy of the data from now on.
        engine.hold_copies(infos.len());
        Arc::new(Replicas {
            ring: Arc::new(Ring::new(places)),
            addresses: infos.iter().map(|i| SocketAddr::new(i.address, i.native_port)).collect(),
            config,
            engine,
            liveness: Mutex::new(Liveness::new(infos.len(), config.detection_delay)),
            stopped_at: Mutex::new(vec![None; infos.len()]),
            batchlog: Mutex::new(Vec::new()),
            hints: Mutex::new(Vec::new()),
            events: broadcast::channel(64).0,
        })
    }

    pub fn config(&self) -> ReplicationConfig {
        self.config
    }

    pub fn state(&self, node: usize) -> State {
        self.liveness.lock().state(node)
    }

    /// STATUS_CHANGE events, for connections that sent REGISTER STATUS_CHANGE.
    pub fn subscribe(&self) -> broadcast::Receiver<StatusChange> {
        self.events.subscribe()
    }

    fn announce(&self, changes: impl IntoIterator<Item = Change>) {
        for (node, up) in changes {
            tracing::info!(node = %self.addresses[node], up, "node status changed");
            let _ = self.events.send(StatusChange { up, address: self.addresses[node] });
        }
    }

    pub fn stopped_cleanly(&self, node: usize) {
        self.stopped_at.lock()[node].get_or_insert(self.engine.clock().now_micros());
        let change = self.liveness.lock().stop_cleanly(node);
        self.announce(change);
    }

    pub fn stopped_abruptly(&self, node: usize) {
        let now = self.engine.clock().now_micros();
        self.stopped_at.lock()[node].get_or_insert(now);
        self.liveness.lock().stop_abruptly(node, now);
    }

    /// The node serves again: its hints are due `hint_delay` from now (engine clock), and
    /// until then a read it serves alone can miss the writes they carry.
    pub fn started(&self, node: usize) {
        self.stopped_at.lock()[node] = None;
        let change = self.liveness.lock().start(node);
        self.announce(change);
        let delay = i64::try_from(self.config.hint_delay.as_micros()).unwrap_or(i64::MAX);
        let due = self.engine.clock().now_micros().saturating_add(delay);
        for h in self.hints.lock().iter_mut().filter(|h| h.target == node) {
            h.due_micros = Some(due);
        }
    }

    /// Delivers now the hints of every node that is up, whatever their delay: the admin
    /// API's (and tests') way to end the stale window without moving the clock. Returns how
    /// many were delivered.
    pub fn deliver_hints(&self) -> usize {
        let now = self.engine.clock().now_micros();
        for h in self.hints.lock().iter_mut() {
            if h.due_micros.is_some() {
                h.due_micros = Some(now);
            }
        }
        self.deliver_due(now)
    }

    /// Applies the hints due by `now` whose node answers, each to that node's copy only, once.
    fn deliver_due(&self, now: i64) -> usize {
        let due: Vec<Hint> = {
            let l = self.liveness.lock();
            let mut hints = self.hints.lock();
            let is_due = |h: &Hint| h.due_micros.is_some_and(|d| d <= now) && l.state(h.target).answers();
            if !hints.iter().any(is_due) {
                return 0;
            }
            let (due, later) = std::mem::take(&mut *hints).into_iter().partition(is_due);
            *hints = later;
            due
        };
        let count = due.len();
        for h in due {
            let read = move |_: i64| vec![h.target];
            let copies = Copies { write: &[h.target], read: &read, repair: false };
            let ctx = ExecContext { keyspace: h.keyspace.as_deref(), node: &h.node, copies: Some(&copies) };
            let result = match (&h.write, h.commit) {
                (Replay::Batch(b), None) => self.engine.batch(&ctx, b),
                (Replay::Batch(b), Some(ballot)) => self.engine.batch_committed(&ctx, b, ballot),
                (Replay::Statement(s, params), None) => self.engine.execute(&ctx, s, params),
                (Replay::Statement(s, params), Some(ballot)) => self.engine.execute_committed(&ctx, s, params, ballot),
            };
            match result {
                Ok(_) => tracing::info!(node = %self.addresses[h.target], "hinted handoff delivered a missed write"),
                Err(e) => tracing::warn!(error = %e, "hinted handoff failed"),
            }
        }
        count
    }

    /// Marks an unnoticed stopped node down now, as if the delay had passed.
    pub fn convict(&self, node: usize) {
        let change = self.liveness.lock().convict(node);
        self.announce(change);
    }

    /// Catches up with the engine's clock: convicts nodes silent for the detection delay and
    /// replays the batch log entries that are due. Runs before each coordinated request, on a
    /// ticker, and after the clock is moved.
    pub fn refresh(&self) {
        let now = self.engine.clock().now_micros();
        let changes = self.liveness.lock().detect(now);
        self.announce(changes);
        self.deliver_due(now);
        let due: Vec<Pending> = {
            let mut log = self.batchlog.lock();
            let is_due = |p: &Pending| p.due_micros <= now;
            if !log.iter().any(is_due) {
                return;
            }
            let (due, later) = std::mem::take(&mut *log).into_iter().partition(is_due);
            *log = later;
            due
        };
        for p in due {
            self.replay(p);
        }
    }

    /// Replays a batch log entry as its coordinator would write it now: to the replicas that
    /// answer, with hints for the others.
    fn replay(&self, p: Pending) {
        let routing = match &p.write {
            Replay::Batch(b) => self.engine.batch_routing(b),
            Replay::Statement(s, params) => self.engine.routing(s, &params.values),
        };
        let reach = routing.map(|r| self.reach(p.coordinator, &r, Consistency::One, false));
        let read = |t: i64| reach.as_ref().map_or_else(Vec::new, |r| r.read_from(t));
        let copies = reach.as_ref().map(|r| Copies { write: &r.write, read: &read, repair: false });
        let ctx = ExecContext { keyspace: p.keyspace.as_deref(), node: &p.node, copies: copies.as_ref() };
        let result = match &p.write {
            Replay::Batch(b) => self.engine.batch(&ctx, b),
            Replay::Statement(s, params) => self.engine.execute(&ctx, s, params),
        };
        match result {
            Ok(_) => tracing::info!("batch log replay applied a write that had timed out"),
            Err(e) => tracing::warn!(error = %e, "batch log replay failed"),
        }
        if let Some(r) = &reach {
            self.hint(p.keyspace.as_deref(), p.node.clone(), &r.hint, p.write, None);
        }
    }

    /// Keeps a hint for each of `targets`, replicas that did not get `write` (stamped with its
    /// timestamp, so a hint never overwrites a newer write). `commit`: a lightweight
    /// transaction's commit at that ballot. Nodes stopped longer than `max_hint_window` get
    /// none, as in Cassandra (they need a repair).
    pub fn hint(&self, keyspace: Option<&str>, node: Arc<NodeInfo>, targets: &[usize], write: Replay, commit: Option<i64>) {
        if targets.is_empty() {
            return;
        }
        let now = self.engine.clock().now_micros();
        let window = i64::try_from(self.config.max_hint_window.as_micros()).unwrap_or(i64::MAX);
        let write = write.stamped(now);
        let stopped_at = self.stopped_at.lock().clone();
        let mut hints = self.hints.lock();
        for &target in targets {
            if stopped_at[target].is_some_and(|t| now.saturating_sub(t) > window) {
                tracing::info!(node = %self.addresses[target], "no hint: stopped longer than max_hint_window");
                continue;
            }
            let due_micros = None;
            hints.push(Hint { target, due_micros, keyspace: keyspace.map(str::to_string), node: node.clone(), write: write.clone(), commit });
        }
    }

    /// Hints waiting for their nodes.
    pub fn hints_len(&self) -> usize {
        self.hints.lock().len()
    }

    /// Hints waiting for node `node`.
    pub fn hints_for(&self, node: usize) -> usize {
        self.hints.lock().iter().filter(|h| h.target == node).count()
    }

    /// Batch log entries not yet replayed.
    pub fn batchlog_len(&self) -> usize {
        self.batchlog.lock().len()
    }

    /// Keeps a write that timed out on its batch log, to replay later.
    pub fn log_for_replay(&self, coordinator: usize, keyspace: Option<&str>, node: Arc<NodeInfo>, write: Replay) {
        let after = i64::try_from(self.config.batchlog_replay_after().as_micros()).unwrap_or(i64::MAX);
        let now = self.engine.clock().now_micros();
        let due_micros = now.saturating_add(after);
        let write = write.stamped(now);
        self.batchlog.lock().push(Pending { due_micros, coordinator, keyspace: keyspace.map(str::to_string), node, write });
    }

    fn states(&self) -> Vec<State> {
        let l = self.liveness.lock();
        (0..self.ring.len()).map(|i| l.state(i)).collect()
    }

    /// The replicas a request at `cl` reaches from `coordinator`: every touched partition's
    /// replicas for a write (`read_only` false), and how its reads pick replicas.
    fn reach(&self, coordinator: usize, routing: &[Routing], cl: Consistency, read_only: bool) -> Reach {
        let local_dc = self.ring.place(coordinator).data_center.as_str();
        let read = routing.first().map(|r| {
            let strategy = Strategy::from_options(&r.replication);
            let need = need(cl, &strategy, local_dc);
            (strategy, need)
        });
        let mut reach = Reach::new(self.ring.clone(), coordinator, self.states(), read);
        if !read_only {
            for (_, set) in self.replica_sets(coordinator, routing) {
                reach.add_replicas(&set);
            }
        }
        reach
    }

    /// Every replica set the request touches (a range read: every range's).
    fn replica_sets(&self, coordinator: usize, routing: &[Routing]) -> Vec<(Strategy, Vec<usize>)> {
        let mut sets: Vec<(Strategy, Vec<usize>)> = Vec::new();
        for r in routing {
            let strategy = Strategy::from_options(&r.replication);
            let tokens: Vec<i64> = match &r.tokens {
                Some(t) => t.clone(),
                None => self.ring.range_ends().collect(),
            };
            for t in tokens {
                let set = self.ring.replicas(t, &strategy, coordinator);
                if !sets.iter().any(|(s, r)| s == &strategy && r == &set) {
                    sets.push((strategy.clone(), set));
                }
            }
        }
        sets
    }

    /// The coordinator's decision for a request from node `coordinator` touching `routing`.
    pub fn admit(&self, coordinator: usize, routing: &[Routing], shape: Shape) -> Admission {
        self.refresh();
        let states = self.states();
        let local_dc = self.ring.place(coordinator).data_center.as_str();
        let cl = match shape {
            Shape::Read { consistency } | Shape::SerialRead { consistency } | Shape::Write { consistency, .. } => consistency,
            Shape::Cas { serial } => serial.unwrap_or(Consistency::Serial),
        };
        let sets = self.replica_sets(coordinator, routing);
        // A SERIAL read may complete a proposal in progress (Paxos repair): it writes too.
        let read_only = matches!(shape, Shape::Read { .. });
        let dc_of = |set: &[usize]| -> Vec<(usize, String)> {
            set.iter().map(|&n| (n, self.ring.place(n).data_center.clone())).collect()
        };
        // 1. Unavailable, against the replicas believed alive (ANY writes never are).
        if cl != Consistency::Any {
            for (strategy, set) in &sets {
                let reps = dc_of(set);
                let reps: Vec<(usize, &str)> = reps.iter().map(|(n, d)| (*n, d.as_str())).collect();
                let need = need(cl, strategy, local_dc);
                if let Some((required, alive)) = first_short(&need, &reps, |n| states[n].believed_alive()) {
                    return Admission::Refuse(unavailable(cl, required, alive));
                }
            }
        }
        // 2. A multi-partition logged batch writes its batch log first.
        if let Shape::Write { write_type: "BATCH", .. } = shape {
            let chosen = self.batchlog_endpoints(coordinator, &states);
            if chosen.is_empty() {
                return Admission::Refuse(unavailable(Consistency::One, 1, 0));
            }
            let block_for = chosen.len().min(2);
            let answered = chosen.iter().filter(|&&n| states[n].answers()).count();
            if answered < block_for {
                let batchlog_cl = if block_for == 1 { Consistency::One } else { Consistency::Two };
                let error = write_timeout(batchlog_cl, answered, block_for, "BATCH_LOG");
                let apply = if answered > 0 { Apply::Later } else { Apply::Never };
                return Admission::TimeOut { after: self.config.write_timeout, error, apply };
            }
        }
        // 3. Replicas that never answer: a timeout.
        if cl == Consistency::Any {
            return Admission::Proceed(Some(self.reach(coordinator, routing, cl, read_only)));
        }
        for (strategy, set) in &sets {
            let reps = dc_of(set);
            let reps: Vec<(usize, &str)> = reps.iter().map(|(n, d)| (*n, d.as_str())).collect();
            let need = need(cl, strategy, local_dc);
            if first_short(&need, &reps, |n| states[n].answers()).is_none() {
                continue;
            }
            let got = received(&need, &reps, |n| states[n].answers());
            let block_for = need.block_for();
            return match shape {
                Shape::Read { .. } | Shape::SerialRead { .. } => Admission::TimeOut {
                    after: self.config.read_timeout,
                    error: read_timeout(cl, got, block_for),
                    apply: Apply::Never,
                },
                Shape::Cas { .. } => Admission::TimeOut {
                    after: self.config.write_timeout,
                    error: write_timeout(cl, got, block_for, "CAS"),
                    apply: Apply::Never,
                },
                Shape::Write { write_type, .. } => Admission::TimeOut {
                    after: self.config.write_timeout,
                    error: write_timeout(cl, got, block_for, write_type),
                    apply: Apply::Now(self.reach(coordinator, routing, cl, false)),
                },
            };
        }
        Admission::Proceed(Some(self.reach(coordinator, routing, cl, read_only)))
    }

    /// `ReplicaPlans.filterBatchlogEndpoints`: live nodes of the coordinator's DC other than
    /// itself, two at most, from other racks first; the coordinator alone in a one-node DC.
    fn batchlog_endpoints(&self, coordinator: usize, states: &[State]) -> Vec<usize> {
        let me = self.ring.place(coordinator);
        let in_dc: Vec<usize> = (0..self.ring.len()).filter(|&n| self.ring.place(n).data_center == me.data_center).collect();
        if in_dc.len() == 1 {
            return in_dc;
        }
        let candidates: Vec<usize> = in_dc.into_iter().filter(|&n| n != coordinator && states[n].believed_alive()).collect();
        if candidates.len() <= 2 {
            return candidates;
        }
        // Prefer nodes of other racks, then one per rack.
        let mut sorted = candidates;
        sorted.sort_by_key(|&n| self.ring.place(n).rack == me.rack);
        let mut chosen: Vec<usize> = Vec::new();
        for &n in &sorted {
            if chosen.len() < 2 && !chosen.iter().any(|&c| self.ring.place(c).rack == self.ring.place(n).rack) {
                chosen.push(n);
            }
        }
        for &n in &sorted {
            if chosen.len() < 2 && !chosen.contains(&n) {
                chosen.push(n);
            }
        }
        chosen
    }
}

fn unavailable(cl: Consistency, required: usize, alive: usize) -> CqlError {
    CqlError::new(
        ErrorKind::Unavailable { consistency: cl, required: required as i32, alive: alive as i32 },
        format!("Cannot achieve consistency level {}", cl.name()),
    )
}

fn write_timeout(cl: Consistency, received: usize, block_for: usize, write_type: &str) -> CqlError {
    CqlError::new(
        ErrorKind::WriteTimeout { consistency: cl, received: received as i32, block_for: block_for as i32, write_type: write_type.to_string() },
        format!("Operation timed out - received only {received} responses."),
    )
}

fn read_timeout(cl: Consistency, received: usize, block_for: usize) -> CqlError {
    CqlError::new(
        ErrorKind::ReadTimeout { consistency: cl, received: received as i32, block_for: block_for as i32, data_present: received > 0 },
        format!("Operation timed out - received only {received} responses."),
    )
}

/// A STATUS_CHANGE EVENT frame (stream -1): `[string] UP|DOWN`, `[inet]` address and port.
pub fn status_event(out: &mut BytesMut, change: &StatusChange) {
    use bytes::BufMut;
    use crate::protocol::frame::{VERSION, encode_frame, opcode};
    use crate::protocol::wire::put_string;
    encode_frame(out, VERSION, 0, -1, opcode::EVENT, |b| {
        put_string(b, "STATUS_CHANGE");
        put_string(b, if change.up { "UP" } else { "DOWN" });
        match change.address.ip() {
            std::net::IpAddr::V4(v4) => {
                b.put_u8(4);
                b.put_slice(&v4.octets());
            }
            std::net::IpAddr::V6(v6) => {
                b.put_u8(16);
                b.put_slice(&v6.octets());
            }
        }
        b.put_i32(i32::from(change.address.port()));
    });
}
