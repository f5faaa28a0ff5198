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
//!    answer; a plain write still lands on those, or, when none answered, is kept as hints and
//!    applied when one of its replicas is back.
//!
//! All nodes serve one store (the engine): a write that reaches any replica is visible to
//! reads from all of them, so there are no stale replicas (see SUPPORTED.md).

pub mod admin;
pub mod consistency;
pub mod liveness;
pub mod ring;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::engine::routing::Routing;
use crate::engine::{BatchRequest, Engine, ExecContext, NodeInfo, Prepared, QueryParams};
use crate::error::{CqlError, ErrorKind};
use crate::types::Consistency;
use consistency::{first_short, need, received};
use liveness::{Change, Liveness, State};
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
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        Self {
            detection_delay: liveness::DEFAULT_DETECTION_DELAY,
            write_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(5),
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
#[derive(Debug)]
pub enum Admission {
    /// Enough replicas answer: run it.
    Proceed,
    /// Refused before anything is sent (Unavailable).
    Refuse(CqlError),
    /// Some replicas it needs never answer: wait `after`, then answer `error`.
    TimeOut { after: Duration, error: CqlError, apply: Apply },
}

/// What becomes of a write that timed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Apply {
    /// The replicas that answered applied it.
    Now,
    /// Nothing was applied.
    Never,
    /// Stored in a batch log: replayed once `batchlog_replay_after` has passed.
    Later,
    /// No replica answered: the coordinator keeps hints for these nodes, delivered (the write
    /// applied) when the first of them is back, as Cassandra's hinted handoff does.
    Hinted(Vec<usize>),
}

/// A write the batch log will replay (or hints deliver).
pub enum Replay {
    Batch(BatchRequest),
    Statement(Prepared, QueryParams),
}

impl Replay {
    /// Fixes the write's timestamp to `now` unless the client gave one, so that applied
    /// later it does not overwrite newer writes: Cassandra's batch log and hints keep the
    /// mutation with the timestamp it had when it was coordinated.
    fn stamped(mut self, now_micros: i64) -> Replay {
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

struct Pending {
    /// Batch log: replayed at this engine-clock instant.
    due_micros: i64,
    /// Hints: delivered when one of these nodes starts again (then `due_micros` is unused).
    hinted_for: Vec<usize>,
    keyspace: Option<String>,
    node: Arc<NodeInfo>,
    write: Replay,
}

/// A STATUS_CHANGE to push to registered connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub up: bool,
    pub address: SocketAddr,
}

pub struct Replicas {
    ring: Ring,
    addresses: Vec<SocketAddr>,
    config: ReplicationConfig,
    engine: Engine,
    liveness: Mutex<Liveness>,
    /// Batch log entries and hints, waiting to be applied.
    batchlog: Mutex<Vec<Pending>>,
    events: broadcast::Sender<StatusChange>,
}

impl Replicas {
    /// One per cluster: `infos[i]` is node `i`'s identity (address, DC, rack, tokens).
    pub fn new(infos: &[NodeInfo], engine: Engine, config: ReplicationConfig) -> Arc<Replicas> {
        let places = infos
            .iter()
            .map(|i| ring::Place { data_center: i.data_center.clone(), rack: i.rack.clone(), tokens: i.tokens.clone() })
            .collect();
        Arc::new(Replicas {
            ring: Ring::new(places),
            addresses: infos.iter().map(|i| SocketAddr::new(i.address, i.native_port)).collect(),
            config,
            engine,
            liveness: Mutex::new(Liveness::new(infos.len(), config.detection_delay)),
            batchlog: Mutex::new(Vec::new()),
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
        let change = self.liveness.lock().stop_cleanly(node);
        self.announce(change);
    }

    pub fn stopped_abruptly(&self, node: usize) {
        self.liveness.lock().stop_abruptly(node, self.engine.clock().now_micros());
    }

    pub fn started(&self, node: usize) {
        let change = self.liveness.lock().start(node);
        self.announce(change);
        // Hinted handoff: the writes it missed with no other replica answering.
        let delivered: Vec<Pending> = {
            let mut log = self.batchlog.lock();
            let (mine, rest) = std::mem::take(&mut *log).into_iter().partition(|p| p.hinted_for.contains(&node));
            *log = rest;
            mine
        };
        self.apply(delivered, "hinted handoff");
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
        let due: Vec<Pending> = {
            let mut log = self.batchlog.lock();
            let is_due = |p: &Pending| p.hinted_for.is_empty() && p.due_micros <= now;
            if !log.iter().any(is_due) {
                return;
            }
            let (due, later) = std::mem::take(&mut *log).into_iter().partition(is_due);
            *log = later;
            due
        };
        self.apply(due, "batch log replay");
    }

    fn apply(&self, writes: Vec<Pending>, what: &str) {
        for p in writes {
            let ctx = ExecContext { keyspace: p.keyspace.as_deref(), node: &p.node };
            let result = match &p.write {
                Replay::Batch(b) => self.engine.batch(&ctx, b),
                Replay::Statement(s, params) => self.engine.execute(&ctx, s, params),
            };
            match result {
                Ok(_) => tracing::info!("{what} applied a write that had timed out"),
                Err(e) => tracing::warn!(error = %e, "{what} failed"),
            }
        }
    }

    /// Keeps hints for a write no replica answered, delivered when one of `nodes` is back.
    pub fn hint(&self, keyspace: Option<&str>, node: Arc<NodeInfo>, nodes: Vec<usize>, write: Replay) {
        let write = write.stamped(self.engine.clock().now_micros());
        let pending = Pending { due_micros: i64::MAX, hinted_for: nodes, keyspace: keyspace.map(str::to_string), node, write };
        self.batchlog.lock().push(pending);
    }

    /// Hints waiting for their nodes.
    pub fn hints_len(&self) -> usize {
        self.batchlog.lock().iter().filter(|p| !p.hinted_for.is_empty()).count()
    }

    /// Batch log entries not yet replayed.
    pub fn batchlog_len(&self) -> usize {
        self.batchlog.lock().iter().filter(|p| p.hinted_for.is_empty()).count()
    }

    /// Keeps a write that timed out on its batch log, to replay later.
    pub fn log_for_replay(&self, keyspace: Option<&str>, node: Arc<NodeInfo>, write: Replay) {
        let after = i64::try_from(self.config.batchlog_replay_after().as_micros()).unwrap_or(i64::MAX);
        let now = self.engine.clock().now_micros();
        let due_micros = now.saturating_add(after);
        let write = write.stamped(now);
        self.batchlog.lock().push(Pending { due_micros, hinted_for: Vec::new(), keyspace: keyspace.map(str::to_string), node, write });
    }

    /// The coordinator's decision for a request from node `coordinator` touching `routing`.
    pub fn admit(&self, coordinator: usize, routing: &[Routing], shape: Shape) -> Admission {
        self.refresh();
        let states: Vec<State> = {
            let l = self.liveness.lock();
            (0..self.ring.len()).map(|i| l.state(i)).collect()
        };
        let local_dc = self.ring.place(coordinator).data_center.as_str();
        let cl = match shape {
            Shape::Read { consistency } | Shape::SerialRead { consistency } | Shape::Write { consistency, .. } => consistency,
            Shape::Cas { serial } => serial.unwrap_or(Consistency::Serial),
        };
        // Every replica set the request touches (a range read: every range's).
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
            return Admission::Proceed;
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
                Shape::Write { write_type, .. } => {
                    let any = set.iter().any(|&n| states[n].answers());
                    Admission::TimeOut {
                        after: self.config.write_timeout,
                        error: write_timeout(cl, got, block_for, write_type),
                        apply: if any { Apply::Now } else { Apply::Hinted(set.clone()) },
                    }
                }
            };
        }
        Admission::Proceed
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
