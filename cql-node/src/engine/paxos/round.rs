//! The coordinator: one Paxos round after another until one is chosen, answers "unknown",
//! or the contention timeout runs out. What the client sees follows StorageProxy.cas:
//! `[applied]` rows when chosen, WriteTimeout (write type CAS, the serial consistency, 0 of 2,
//! "CAS operation timed out - encountered contentions: N") when contention outlasts the
//! timeout, and WriteTimeout (CAS, 1 of 2, "CAS operation result is unknown - proposal
//! accepted by 1 but not a quorum.") when the proposal's fate is unknown, which is what
//! Cassandra 4.1 sends a protocol v4 client for its CasWriteUnknownResultException.

use std::sync::Arc;

use tokio::time::Instant;

use super::slot::{Accept, Promise, Proposal};
use crate::engine::core::{CasMode, Inner};
use crate::engine::{BatchRequest, ExecContext, Outcome, Prepared, QueryParams};
use crate::error::{CqlError, CqlResult, ErrorKind};
use crate::types::Consistency;

/// A conditional write, owned so that a later round (or a SERIAL read) can complete it.
pub(crate) enum CasRequest {
    One { stmt: Prepared, params: QueryParams },
    Batch(BatchRequest),
}

/// The same, borrowed: a round owns it only once it proposes.
#[derive(Clone, Copy)]
pub(crate) enum CasRef<'a> {
    One(&'a Prepared, &'a QueryParams),
    Batch(&'a BatchRequest),
}

impl CasRequest {
    fn borrowed(&self) -> CasRef<'_> {
        match self {
            CasRequest::One { stmt, params } => CasRef::One(stmt, params),
            CasRequest::Batch(b) => CasRef::Batch(b),
        }
    }
}

impl CasRef<'_> {
    fn serial(self) -> Consistency {
        let serial = match self {
            CasRef::One(_, params) => params.serial_consistency,
            CasRef::Batch(b) => b.serial_consistency,
        };
        serial.unwrap_or(Consistency::Serial)
    }

    fn to_owned(self) -> CasRequest {
        match self {
            CasRef::One(stmt, params) => CasRequest::One { stmt: stmt.clone(), params: params.clone() },
            CasRef::Batch(b) => CasRequest::Batch(b.clone()),
        }
    }
}

type Payload = Arc<CasRequest>;

fn contention_timeout(serial: Consistency, contentions: u32) -> CqlError {
    CqlError::new(
        ErrorKind::WriteTimeout { consistency: serial, received: 0, block_for: 2, write_type: "CAS".to_string() },
        format!("CAS operation timed out - encountered contentions: {contentions}"),
    )
}

fn unknown_result(serial: Consistency) -> CqlError {
    CqlError::new(
        ErrorKind::WriteTimeout { consistency: serial, received: 1, block_for: 2, write_type: "CAS".to_string() },
        "CAS operation result is unknown - proposal accepted by 1 but not a quorum.",
    )
}

impl Inner {
    fn cas_step(&self, ctx: &ExecContext<'_>, request: CasRef<'_>, mode: CasMode) -> CqlResult<Outcome> {
        match request {
            CasRef::One(stmt, params) => self.execute_as(ctx, stmt, params, mode),
            CasRef::Batch(batch) => self.batch_as(ctx, batch, mode),
        }
    }

    fn commit(&self, ctx: &ExecContext<'_>, p: &Proposal<Payload>) -> CqlResult<Outcome> {
        self.cas_step(ctx, p.request.borrowed(), CasMode::Commit { ballot: p.ballot })
    }

    /// Runs a conditional write as Paxos rounds.
    pub(crate) async fn cas(&self, ctx: &ExecContext<'_>, request: CasRef<'_>) -> CqlResult<Outcome> {
        // Not one partition (or values that do not bind): the engine refuses it with
        // Cassandra's message, no round needed.
        let Some(key) = self.cas_partition(request) else { return self.cas_step(ctx, request, CasMode::Whole) };
        let paxos = self.paxos();
        let serial = request.serial();
        let _active = paxos.enter(key.clone());
        // In a cluster a round takes milliseconds, so requests sent together overlap: let the
        // others of a burst arrive on the partition before this one goes on. (Requeued at
        // once, not deferred past the I/O driver as `yield_now` is: a round alone pays a few
        // microseconds, not tens.)
        requeue().await;
        let mut owned: Option<Payload> = None;
        let start = Instant::now();
        let timeout = paxos.config().contention_timeout;
        let mut contentions = 0u32;
        loop {
            if start.elapsed() >= timeout {
                return Err(contention_timeout(serial, contentions));
            }
            let ballot = self.next_ts();
            // No rival on the partition: the whole round in one step, as fast as before the
            // model (nobody can see it half done, so it cannot lose or be in doubt).
            if let Some(outcome) = paxos.solo(&key, ballot, || self.cas_step(ctx, request, CasMode::Whole)) {
                return outcome;
            }
            match paxos.prepare(&key, ballot, |p| self.commit(ctx, p).map(drop))? {
                Promise::Granted => {}
                // As Cassandra does after a repair: a fresh ballot, no pause.
                Promise::Repaired => continue,
                Promise::Rejected => {
                    contentions += 1;
                    self.pause(start, timeout).await;
                    continue;
                }
            }
            // A network round trip in a cluster: let rivals move.
            tokio::task::yield_now().await;
            let read = self.cas_step(ctx, request, CasMode::Read)?;
            let refused = match read {
                Outcome::Void => None,
                other => Some(other),
            };
            tokio::task::yield_now().await;
            let payload = owned.get_or_insert_with(|| Arc::new(request.to_owned())).clone();
            let proposal = Proposal { ballot, request: payload, applies: refused.is_none() };
            let mut committed = None;
            let accepted = paxos.propose(&key, proposal, |p| {
                committed = Some(self.commit(ctx, p)?);
                Ok(())
            })?;
            match accepted {
                Accept::Chosen => {
                    return refused.or(committed).ok_or_else(|| CqlError::server("a chosen proposal without an answer"));
                }
                Accept::Unknown => return Err(unknown_result(serial)),
                Accept::Rejected => {
                    contentions += 1;
                    self.pause(start, timeout).await;
                }
            }
        }
    }

    /// A SERIAL read first completes what is in progress on its table.
    pub(crate) fn serial_read_repair(&self, ctx: &ExecContext<'_>, table: uuid::Uuid) -> CqlResult<()> {
        let ballot = self.next_ts();
        self.paxos().repair_table(table, ballot, |p| self.commit(ctx, p).map(drop))
    }

    async fn pause(&self, start: Instant, timeout: std::time::Duration) {
        let left = timeout.saturating_sub(start.elapsed());
        tokio::time::sleep(self.paxos().pause().min(left)).await;
    }
}

/// Pending once with an immediate wake-up: the task goes back in its worker's run queue,
/// behind the requests already spawned there.
async fn requeue() {
    let mut first = true;
    std::future::poll_fn(|cx| {
        if std::mem::take(&mut first) {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await
}
