//! The request hook a node runs with: the Keyspaces profile's rules first (a request Keyspaces
//! would refuse is refused whatever the network does), then injected faults.

use std::sync::Arc;

use crate::error::CqlError;
use crate::faults::{FaultAction, FaultRegistry};
use crate::keyspaces::KeyspacesProfile;
use crate::server::{HookDecision, Operation, RequestHook, RequestInfo};

#[derive(Clone)]
pub struct NodeHook {
    faults: FaultRegistry,
    keyspaces: Option<KeyspacesProfile>,
}

impl NodeHook {
    pub fn new(faults: FaultRegistry, keyspaces: Option<KeyspacesProfile>) -> Self {
        Self { faults, keyspaces }
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
        match self.faults.on_request(request.kind, request.query, consistency) {
            None => HookDecision::proceed(),
            Some(FaultAction::Fail(e)) => HookDecision::fail(e),
            Some(FaultAction::Delay(d)) => HookDecision::proceed().with_delay(d),
            Some(FaultAction::DropConnections) => HookDecision::drop_connections(),
        }
    }
}
