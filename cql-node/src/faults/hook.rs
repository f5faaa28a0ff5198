//! The request hook a node runs with: the Keyspaces profile's rules first (a request Keyspaces
//! would refuse is refused whatever the network does), then injected faults.

use std::sync::Arc;

use crate::error::CqlError;
use crate::faults::{FaultAction, FaultDecision, FaultRegistry, FaultRequest};
use crate::keyspaces::KeyspacesProfile;
use crate::server::{HookDecision, Operation, RequestHook, RequestInfo};

/// Closes the client connections of every node of a set.
pub type DropAll = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone)]
pub struct NodeHook {
    faults: FaultRegistry,
    keyspaces: Option<KeyspacesProfile>,
    drop_all: Option<DropAll>,
}

impl NodeHook {
    pub fn new(faults: FaultRegistry, keyspaces: Option<KeyspacesProfile>) -> Self {
        Self { faults, keyspaces, drop_all: None }
    }

    /// A DropConnections fault then closes every node's client connections, not only those
    /// of the node that received the request (as when a frozen Lambda's sockets all die).
    pub fn with_drop_all(mut self, drop_all: DropAll) -> Self {
        self.drop_all = Some(drop_all);
        self
    }

    pub fn into_arc(self) -> Arc<dyn RequestHook> {
        Arc::new(self)
    }
}

impl RequestHook for NodeHook {
    fn before_parse(&self, query: &str) -> Option<CqlError> {
        self.keyspaces.as_ref()?;
        crate::keyspaces::rules::check_supported(query).err()
    }

    fn before(&self, request: &RequestInfo<'_>) -> HookDecision {
        if let Some(profile) = &self.keyspaces
            && let Err(e) = profile.check_request(request.kind, request.query, request.consistency, request.keyspace)
        {
            return HookDecision::fail(e);
        }
        // PREPARE runs nothing: faults act on what executes, as a coordinator's would.
        let Some(consistency) = request.consistency.filter(|_| request.operation != Operation::Prepare) else {
            return HookDecision::proceed();
        };
        let seen = FaultRequest {
            kind: request.kind,
            query: request.query,
            consistency,
            serial_consistency: request.serial_consistency,
            is_lwt: request.is_lwt,
            write_type: request.write_type,
        };
        let Some(FaultDecision { action, after_apply }) = self.faults.on_request(&seen) else {
            return HookDecision::proceed();
        };
        let decision = match action {
            FaultAction::Fail(e) => HookDecision::fail(e),
            FaultAction::Delay(d) => HookDecision::proceed().with_delay(d),
            FaultAction::DropConnections => HookDecision::drop_connections(),
        };
        if after_apply { decision.after_apply() } else { decision }
    }

    fn on_drop_connections(&self) {
        if let Some(drop_all) = &self.drop_all {
            drop_all();
        }
    }
}
