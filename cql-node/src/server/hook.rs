//! The request hook: one call before each statement runs, so profile rules (which
//! consistency levels or statements a service accepts) and fault injection (errors, latency,
//! dropped connections) can act on real client traffic without touching the engine.

use std::time::Duration;

use crate::engine::{NodeInfo, StatementKind};
use crate::error::CqlError;
use crate::types::Consistency;

/// Which request carried the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Query,
    Prepare,
    Execute,
    Batch,
}

/// What the hook is told about one request.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    pub operation: Operation,
    /// For a batch: `StatementKind::Batch`.
    pub kind: StatementKind,
    /// The statement text; for a batch, its statements' texts joined with "; ".
    pub query: &'a str,
    /// `None` for PREPARE, which runs nothing.
    pub consistency: Option<Consistency>,
    pub serial_consistency: Option<Consistency>,
    /// Whether the statement is a lightweight transaction (IF ...).
    pub is_lwt: bool,
    /// For a write, the write type Cassandra would report if it timed out without a Paxos
    /// round (SIMPLE, COUNTER, BATCH, UNLOGGED_BATCH; see `Engine::write_type`).
    pub write_type: Option<&'static str>,
    /// The connection's keyspace (set by USE), if any.
    pub keyspace: Option<&'a str>,
    /// The node serving the request.
    pub node: &'a NodeInfo,
    /// The user authenticated on this connection, if authentication is on.
    pub user: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HookAction {
    /// Run the statement normally.
    Proceed,
    /// Answer this error instead of running it.
    Fail(CqlError),
    /// Close every client connection of this node (the request gets no answer), as happens
    /// when the network between a frozen Lambda and the cluster drops idle connections.
    DropConnections,
}

/// The hook's answer: an optional delay, then an action; both before the statement runs, or
/// (`after_apply`) once it has run.
#[derive(Debug, Clone, PartialEq)]
pub struct HookDecision {
    pub delay: Option<Duration>,
    pub action: HookAction,
    /// Run the statement first, then wait the delay and act: `Fail` answers the error for a
    /// statement that was applied (a coordinator timing out after the replicas wrote),
    /// `DropConnections` closes without answering it, `Proceed` answers its result late. If
    /// the statement itself fails (e.g. Invalid), that error is answered and the action skipped.
    pub after_apply: bool,
}

impl HookDecision {
    pub fn proceed() -> Self {
        Self { delay: None, action: HookAction::Proceed, after_apply: false }
    }
    pub fn fail(err: CqlError) -> Self {
        Self { delay: None, action: HookAction::Fail(err), after_apply: false }
    }
    pub fn drop_connections() -> Self {
        Self { delay: None, action: HookAction::DropConnections, after_apply: false }
    }
    /// Waits `delay` (without blocking other requests) before the action.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
    /// Delay and action come after the statement has run (see the field).
    pub fn after_apply(mut self) -> Self {
        self.after_apply = true;
        self
    }
}

/// Called before each statement. Keep it fast: it runs on the request's task.
pub trait RequestHook: Send + Sync + 'static {
    fn before(&self, request: &RequestInfo<'_>) -> HookDecision;

    /// Sees the raw text of a QUERY or PREPARE before the engine parses it, so a profile can
    /// refuse first, as its service does, statements the engine would refuse differently
    /// (e.g. Keyspaces's unsupported features). Default: no opinion.
    fn before_parse(&self, _query: &str) -> Option<CqlError> {
        None
    }

    /// Called when the node acts on a `DropConnections` decision (before or after the
    /// statement ran), just before it closes its own client connections; e.g. to close
    /// every other node's too. Default: nothing more.
    fn on_drop_connections(&self) {}
}

/// Closures are hooks too, for tests.
impl<F> RequestHook for F
where
    F: Fn(&RequestInfo<'_>) -> HookDecision + Send + Sync + 'static,
{
    fn before(&self, request: &RequestInfo<'_>) -> HookDecision {
        self(request)
    }
}
