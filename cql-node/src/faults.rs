//! Fault injection: make the node answer the next N matching requests (or those arriving within
//! a time window) with an error a real cluster produces, a delay, or by dropping every client
//! connection, so tests can provoke on purpose what breaks clients in production.
//!
//! ```no_run
//! # use cql_node::faults::*; use cql_node::engine::StatementKind;
//! # fn demo(faults: &FaultRegistry) {
//! faults.inject(Fault::new(FaultKind::WriteTimeout).matching(Match::Kind(StatementKind::Insert)).times(3));
//! faults.clear();
//! # }
//! ```
//! The registry is cheap to clone and shared by every node of a cluster. See FAULTS_AND_PROFILES.md.

pub mod admin;
pub mod hook;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::engine::StatementKind;
use crate::engine::clock::Clock;
use crate::error::{CqlError, ErrorKind};
use crate::types::Consistency;

/// What to do to a matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Unavailable,
    WriteTimeout,
    ReadTimeout,
    Overloaded,
    IsBootstrapping,
    ServerError,
    /// Hold the request this long, then run it normally.
    Latency { millis: u64 },
    /// Close every client connection of the node(s), as when a frozen Lambda's sockets die.
    DropConnections,
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    Any,
    /// In JSON: `{"kind": "insert"}` (select, insert, update, delete, batch, use, truncate, schema, other).
    Kind(#[serde(with = "kind_name")] StatementKind),
    /// Case-insensitive substring of the statement text.
    TextContains(String),
}

impl Match {
    fn matches(&self, kind: StatementKind, query: &str) -> bool {
        match self {
            Match::Any => true,
            Match::Kind(k) => *k == kind,
            Match::TextContains(needle) => query.to_lowercase().contains(&needle.to_lowercase()),
        }
    }
}

/// StatementKind belongs to the engine; its JSON spelling is defined here for the admin API.
mod kind_name {
    use super::StatementKind;
    use serde::{Deserialize, Deserializer, Serializer};

    const NAMES: &[(StatementKind, &str)] = &[
        (StatementKind::Select, "select"),
        (StatementKind::Insert, "insert"),
        (StatementKind::Update, "update"),
        (StatementKind::Delete, "delete"),
        (StatementKind::Batch, "batch"),
        (StatementKind::Use, "use"),
        (StatementKind::Truncate, "truncate"),
        (StatementKind::Schema, "schema"),
        (StatementKind::Other, "other"),
    ];

    pub fn serialize<S: Serializer>(kind: &StatementKind, s: S) -> Result<S::Ok, S::Error> {
        let name = NAMES.iter().find(|(k, _)| k == kind).map_or("other", |(_, n)| n);
        s.serialize_str(name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<StatementKind, D::Error> {
        let name = String::deserialize(d)?;
        NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(&name))
            .map(|(k, _)| *k)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown statement kind {name:?}")))
    }
}

/// A fault to inject. By default it applies to every request until cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub kind: FaultKind,
    #[serde(default = "any")]
    pub matching: Match,
    /// Fire for this many matching requests, then retire.
    #[serde(default)]
    pub times: Option<u32>,
    /// Stay active this long after injection, then retire.
    #[serde(default)]
    pub for_millis: Option<u64>,
    /// Run the statement first (applied, journaled, visible to later reads), then act: a
    /// WriteTimeout answers the timeout for a write that happened (outcome unknown to the
    /// client), a Latency holds the answer, DropConnections closes without answering. Only
    /// those three kinds take it; false (the default) acts before anything runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_apply: bool,
}

fn any() -> Match {
    Match::Any
}

impl Fault {
    pub fn new(kind: FaultKind) -> Self {
        Self { kind, matching: Match::Any, times: None, for_millis: None, after_apply: false }
    }
    pub fn latency(delay: Duration) -> Self {
        Self::new(FaultKind::Latency { millis: delay.as_millis() as u64 })
    }
    pub fn matching(mut self, m: Match) -> Self {
        self.matching = m;
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
    pub fn for_duration(mut self, d: Duration) -> Self {
        self.for_millis = Some(d.as_millis() as u64);
        self
    }
    /// Act once the statement has run (see `after_apply`); for WriteTimeout, Latency and
    /// DropConnections only.
    pub fn after_apply(mut self) -> Self {
        self.after_apply = true;
        self
    }

    /// Why this fault cannot be injected, if it cannot.
    pub fn validate(&self) -> Result<(), InvalidFault> {
        let after_apply_ok = matches!(self.kind, FaultKind::WriteTimeout | FaultKind::Latency { .. } | FaultKind::DropConnections);
        if self.after_apply && !after_apply_ok {
            // A coordinator decides Unavailable/Overloaded/... before sending anything, so
            // none of them can follow an applied write.
            return Err(InvalidFault(format!(
                "after_apply is only valid with write_timeout, latency or drop_connections, not {:?}",
                self.kind
            )));
        }
        Ok(())
    }
}

/// A fault `FaultRegistry::try_inject` refuses, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault: {0}")]
pub struct InvalidFault(pub String);

/// What the registry is told about one request.
#[derive(Debug, Clone, Copy)]
pub struct FaultRequest<'a> {
    pub kind: StatementKind,
    pub query: &'a str,
    pub consistency: Consistency,
    /// The serial consistency the request carried (conditional statements use it; `None`
    /// means SERIAL, as in Cassandra).
    pub serial_consistency: Option<Consistency>,
    /// A conditional statement (IF NOT EXISTS / IF ...), or a batch holding one.
    pub is_lwt: bool,
    /// For a non-conditional write, Cassandra's write type were it to time out (SIMPLE,
    /// COUNTER, BATCH, UNLOGGED_BATCH); `None`: SIMPLE, or BATCH for a batch.
    pub write_type: Option<&'a str>,
}

impl<'a> FaultRequest<'a> {
    /// A plain (non-conditional) request.
    pub fn new(kind: StatementKind, query: &'a str, consistency: Consistency) -> Self {
        Self { kind, query, consistency, serial_consistency: None, is_lwt: false, write_type: None }
    }
    /// A conditional request with this serial consistency.
    pub fn lwt(mut self, serial_consistency: Option<Consistency>) -> Self {
        self.is_lwt = true;
        self.serial_consistency = serial_consistency;
        self
    }
}

/// What the node must do with the request in hand.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    Fail(CqlError),
    Delay(Duration),
    DropConnections,
}

/// A matching fault's verdict: the action, and whether it comes before the statement runs
/// or after it has been applied.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultDecision {
    pub action: FaultAction,
    pub after_apply: bool,
}

/// Identifies one injected fault, to remove it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FaultId(pub u64);

struct Active {
    id: FaultId,
    fault: Fault,
    remaining: Option<u32>,
    deadline: Option<Instant>,
    fired: u64,
}

#[derive(Default)]
struct Inner {
    active: Mutex<Vec<Active>>,
    next_id: AtomicU64,
    fired_total: AtomicU64,
    /// The engine clock the admin API's `/clock` moves (a cluster attaches its engine's).
    clock: Mutex<Option<Clock>>,
}

/// The set of active faults. Clones share it.
#[derive(Clone, Default)]
pub struct FaultRegistry {
    inner: Arc<Inner>,
}

impl FaultRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Injects a fault. Panics on an invalid one (see `Fault::validate`); `try_inject` returns
    /// the reason instead.
    pub fn inject(&self, fault: Fault) -> FaultId {
        self.try_inject(fault).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_inject(&self, fault: Fault) -> Result<FaultId, InvalidFault> {
        fault.validate()?;
        let id = FaultId(self.inner.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let deadline = fault.for_millis.map(|ms| Instant::now() + Duration::from_millis(ms));
        let remaining = fault.times;
        self.inner.active.lock().push(Active { id, fault, remaining, deadline, fired: 0 });
        Ok(id)
    }

    /// Removes one fault; false when it had already retired.
    pub fn remove(&self, id: FaultId) -> bool {
        let mut active = self.inner.active.lock();
        let before = active.len();
        active.retain(|a| a.id != id);
        active.len() != before
    }

    pub fn clear(&self) {
        self.inner.active.lock().clear();
    }

    /// Faults still active, in injection order, with how often each fired.
    pub fn list(&self) -> Vec<(FaultId, Fault, u64)> {
        let now = Instant::now();
        let mut active = self.inner.active.lock();
        active.retain(|a| a.deadline.is_none_or(|d| d > now));
        active.iter().map(|a| (a.id, a.fault.clone(), a.fired)).collect()
    }

    /// Lets whoever holds this registry (the admin HTTP API) also move `clock`; a `Cluster`
    /// attaches its engine's clock at start.
    pub fn attach_clock(&self, clock: Clock) {
        *self.inner.clock.lock() = Some(clock);
    }

    /// The attached engine clock, if any.
    pub fn clock(&self) -> Option<Clock> {
        self.inner.clock.lock().clone()
    }

    /// How many requests any fault has acted on since the node started.
    pub fn fired_total(&self) -> u64 {
        self.inner.fired_total.load(Ordering::Relaxed)
    }

    /// Called by the node before running each request: the first active fault that matches
    /// decides, and is consumed by one if it was injected for N requests.
    pub fn on_request(&self, request: &FaultRequest<'_>) -> Option<FaultDecision> {
        let now = Instant::now();
        let mut active = self.inner.active.lock();
        active.retain(|a| a.deadline.is_none_or(|d| d > now) && a.remaining != Some(0));
        let index = active.iter().position(|a| a.fault.matching.matches(request.kind, request.query))?;
        let hit = &mut active[index];
        hit.fired += 1;
        if let Some(n) = hit.remaining.as_mut() {
            *n -= 1;
        }
        let decision = FaultDecision { action: action_for(&hit.fault.kind, request), after_apply: hit.fault.after_apply };
        if hit.remaining == Some(0) {
            active.remove(index);
        }
        self.inner.fired_total.fetch_add(1, Ordering::Relaxed);
        Some(decision)
    }
}

/// Replicas a level waits for with RF=3, as the error bodies report them.
fn block_for(consistency: Consistency) -> i32 {
    use Consistency::*;
    match consistency {
        Any | One | LocalOne => 1,
        Two => 2,
        Three | All => 3,
        Quorum | LocalQuorum | EachQuorum | Serial | LocalSerial => 2,
    }
}

/// The error a real coordinator would send, with Cassandra 4.1's wording.
fn action_for(fault: &FaultKind, request: &FaultRequest<'_>) -> FaultAction {
    let (kind, consistency) = (request.kind, request.consistency);
    let required = block_for(consistency);
    let error = match fault {
        FaultKind::Latency { millis } => return FaultAction::Delay(Duration::from_millis(*millis)),
        FaultKind::DropConnections => return FaultAction::DropConnections,
        FaultKind::Unavailable => CqlError::new(
            ErrorKind::Unavailable { consistency, required, alive: required - 1 },
            format!("Cannot achieve consistency level {}", consistency.name()),
        ),
        FaultKind::WriteTimeout if request.is_lwt && kind.is_write() => cas_write_timeout(request.serial_consistency),
        FaultKind::WriteTimeout => CqlError::new(
            ErrorKind::WriteTimeout {
                consistency,
                received: required - 1,
                block_for: required,
                write_type: request.write_type.unwrap_or(if kind == StatementKind::Batch { "BATCH" } else { "SIMPLE" }).to_string(),
            },
            format!("Operation timed out - received only {} responses.", required - 1),
        ),
        FaultKind::ReadTimeout => CqlError::new(
            ErrorKind::ReadTimeout { consistency, received: required - 1, block_for: required, data_present: false },
            format!("Operation timed out - received only {} responses.", required - 1),
        ),
        FaultKind::Overloaded => CqlError::new(ErrorKind::Overloaded, "Server is in overloaded state. Cannot accept more requests at this point"),
        FaultKind::IsBootstrapping => CqlError::new(ErrorKind::IsBootstrapping, "Cannot read from a bootstrapping node"),
        FaultKind::ServerError => CqlError::server("java.lang.RuntimeException: injected fault (cql-node)"),
    };
    FaultAction::Fail(error)
}

/// A Paxos round that ran out of time: StorageProxy.cas throws
/// `CasWriteTimeoutException(WriteType.CAS, consistencyForPaxos, 0, consistencyForPaxos.blockFor(..), contentions)`,
/// i.e. the serial consistency (SERIAL when the client sent none), nothing received, a
/// quorum required. Protocol v4 carries no contention count (v5 does).
fn cas_write_timeout(serial: Option<Consistency>) -> CqlError {
    let consistency = serial.unwrap_or(Consistency::Serial);
    CqlError::new(
        ErrorKind::WriteTimeout { consistency, received: 0, block_for: block_for(consistency), write_type: "CAS".to_string() },
        "CAS operation timed out - encountered contentions: 0",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "INSERT INTO ks.t (a) VALUES (1)";

    /// The action for a plain request (the tests below never set after_apply).
    fn ask(faults: &FaultRegistry, kind: StatementKind, query: &str, consistency: Consistency) -> Option<FaultAction> {
        let decision = faults.on_request(&FaultRequest::new(kind, query, consistency))?;
        assert!(!decision.after_apply);
        Some(decision.action)
    }

    #[test]
    fn fires_n_times_then_retires() {
        let faults = FaultRegistry::new();
        faults.inject(Fault::new(FaultKind::WriteTimeout).matching(Match::Kind(StatementKind::Insert)).times(2));
        assert_eq!(ask(&faults, StatementKind::Select, "SELECT * FROM t", Consistency::One), None);
        for _ in 0..2 {
            let Some(FaultAction::Fail(e)) = ask(&faults, StatementKind::Insert, Q, Consistency::LocalQuorum) else {
                panic!("expected a failure")
            };
            assert_eq!(
                e.kind,
                ErrorKind::WriteTimeout { consistency: Consistency::LocalQuorum, received: 1, block_for: 2, write_type: "SIMPLE".into() }
            );
        }
        assert_eq!(ask(&faults, StatementKind::Insert, Q, Consistency::LocalQuorum), None);
        assert!(faults.list().is_empty());
        assert_eq!(faults.fired_total(), 2);
    }

    #[test]
    fn text_match_is_case_insensitive_and_clear_removes_all() {
        let faults = FaultRegistry::new();
        faults.inject(Fault::new(FaultKind::Overloaded).matching(Match::TextContains("ks.T".into())));
        assert!(matches!(ask(&faults, StatementKind::Insert, Q, Consistency::One), Some(FaultAction::Fail(_))));
        assert!(matches!(ask(&faults, StatementKind::Insert, Q, Consistency::One), Some(FaultAction::Fail(_))));
        faults.clear();
        assert_eq!(ask(&faults, StatementKind::Insert, Q, Consistency::One), None);
    }

    #[test]
    fn a_zero_duration_fault_never_fires_and_remove_works() {
        let faults = FaultRegistry::new();
        faults.inject(Fault::new(FaultKind::ServerError).for_duration(Duration::ZERO));
        assert_eq!(ask(&faults, StatementKind::Select, "x", Consistency::One), None);
        let id = faults.inject(Fault::latency(Duration::from_millis(5)));
        assert_eq!(ask(&faults, StatementKind::Select, "x", Consistency::One), Some(FaultAction::Delay(Duration::from_millis(5))));
        assert!(faults.remove(id));
        assert!(!faults.remove(id));
    }

    #[test]
    fn unavailable_reports_the_level_and_counts() {
        let faults = FaultRegistry::new();
        faults.inject(Fault::new(FaultKind::Unavailable).times(1));
        let Some(FaultAction::Fail(e)) = ask(&faults, StatementKind::Select, "x", Consistency::One) else { panic!() };
        assert_eq!(e.kind, ErrorKind::Unavailable { consistency: Consistency::One, required: 1, alive: 0 });
        assert_eq!(e.message, "Cannot achieve consistency level ONE");
    }

    #[test]
    fn a_conditional_write_times_out_as_cas_at_its_serial_consistency() {
        let faults = FaultRegistry::new();
        faults.inject(Fault::new(FaultKind::WriteTimeout).after_apply());
        let lwt = FaultRequest::new(StatementKind::Insert, Q, Consistency::LocalQuorum).lwt(Some(Consistency::LocalSerial));
        let decision = faults.on_request(&lwt).expect("fires");
        assert!(decision.after_apply);
        let FaultAction::Fail(e) = decision.action else { panic!("{decision:?}") };
        assert_eq!(
            e.kind,
            ErrorKind::WriteTimeout { consistency: Consistency::LocalSerial, received: 0, block_for: 2, write_type: "CAS".into() }
        );
        assert_eq!(e.message, "CAS operation timed out - encountered contentions: 0");
        // No serial consistency sent: Cassandra's default, SERIAL.
        let Some(FaultDecision { action: FaultAction::Fail(e), .. }) = faults.on_request(&lwt.lwt(None)) else { panic!() };
        assert!(matches!(e.kind, ErrorKind::WriteTimeout { consistency: Consistency::Serial, .. }));
        // A plain write reports the write type the engine worked out.
        let unlogged = FaultRequest { write_type: Some("UNLOGGED_BATCH"), ..FaultRequest::new(StatementKind::Batch, Q, Consistency::One) };
        let Some(FaultDecision { action: FaultAction::Fail(e), .. }) = faults.on_request(&unlogged) else { panic!() };
        assert!(matches!(e.kind, ErrorKind::WriteTimeout { ref write_type, .. } if write_type == "UNLOGGED_BATCH"));
    }

    #[test]
    fn after_apply_is_refused_where_no_coordinator_could_act_after_the_write() {
        let faults = FaultRegistry::new();
        for kind in [FaultKind::WriteTimeout, FaultKind::Latency { millis: 1 }, FaultKind::DropConnections] {
            assert!(faults.try_inject(Fault::new(kind).after_apply()).is_ok());
        }
        for kind in
            [FaultKind::Unavailable, FaultKind::ReadTimeout, FaultKind::Overloaded, FaultKind::IsBootstrapping, FaultKind::ServerError]
        {
            assert!(faults.try_inject(Fault::new(kind.clone()).after_apply()).is_err(), "{kind:?}");
        }
        assert_eq!(faults.list().len(), 3);
    }

    #[test]
    fn faults_round_trip_as_json() {
        let f = Fault::new(FaultKind::Latency { millis: 10 }).matching(Match::Kind(StatementKind::Select)).times(1);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Fault>(&json).unwrap(), f);
        let minimal: Fault = serde_json::from_str(r#"{"kind":"overloaded"}"#).unwrap();
        assert_eq!(minimal, Fault::new(FaultKind::Overloaded));
    }

    #[test]
    fn the_documented_json_forms_parse() {
        let latency: Fault =
            serde_json::from_str(r#"{"kind":{"latency":{"millis":2000}},"matching":{"text_contains":"products"},"for_millis":10000}"#).unwrap();
        assert_eq!(
            latency,
            Fault::latency(Duration::from_secs(2)).matching(Match::TextContains("products".into())).for_duration(Duration::from_secs(10))
        );
        let by_kind: Fault = serde_json::from_str(r#"{"kind":"write_timeout","matching":{"kind":"insert"},"times":3}"#).unwrap();
        assert_eq!(by_kind, Fault::new(FaultKind::WriteTimeout).matching(Match::Kind(StatementKind::Insert)).times(3));
        let any: Fault = serde_json::from_str(r#"{"kind":"drop_connections","matching":"any","times":1}"#).unwrap();
        assert_eq!(any, Fault::new(FaultKind::DropConnections).times(1));
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"write_timeout","matching":{"kind":"upsert"}}"#).is_err());
        let after: Fault =
            serde_json::from_str(r#"{"kind":"write_timeout","matching":{"kind":"insert"},"times":1,"after_apply":true}"#).unwrap();
        assert_eq!(after, Fault::new(FaultKind::WriteTimeout).matching(Match::Kind(StatementKind::Insert)).times(1).after_apply());
        assert_eq!(serde_json::to_value(&after).unwrap()["after_apply"], true);
        // Unset, it stays out of the JSON: GET /faults shows what it showed before.
        assert!(serde_json::to_value(Fault::new(FaultKind::WriteTimeout)).unwrap().get("after_apply").is_none());
    }
}
