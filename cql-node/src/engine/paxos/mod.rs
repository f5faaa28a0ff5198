//! Lightweight transactions as Cassandra's coordinator runs them (StorageProxy.cas, Paxos v1):
//! a round takes a ballot, asks for a promise, completes an accepted proposal it finds
//! (Paxos repair), reads and decides, proposes, commits. Rounds on one partition really
//! interleave: nothing holds a lock across a round, only across one step of it. A round whose
//! promise or proposal loses to a newer ballot sleeps a random pause and starts again, until
//! `contention_timeout`; then the client gets WriteTimeout with write type CAS.
//!
//! The node keeps one copy of the data, so "accepted by fewer than a quorum" cannot happen by
//! itself: it is drawn. A proposal accepted while other rounds are active on its partition is,
//! with probability `unknown_rate`, answered "result unknown" (WriteTimeout, CAS, 1 of 2), and
//! a second draw decides whether a replica the next promise hears from kept it (the next round
//! or a SERIAL read completes it) or not (it never applies). Draws come from a seeded RNG, so
//! a run's draws repeat; which round meets which draw depends on the threads' scheduling.
//!
//! `slot.rs` holds the per-partition acceptor state, `round.rs` the coordinator.

mod round;
mod slot;

pub(crate) use round::{CasRef, CasRequest};
pub(crate) use slot::Paxos;

use std::time::Duration;

/// The Paxos model's settings (`cql-node --cas-contention-timeout-ms --paxos-unknown-rate
/// --paxos-seed`).
#[derive(Debug, Clone, PartialEq)]
pub struct PaxosConfig {
    /// How long a round may keep losing to rivals (Cassandra's `cas_contention_timeout`, 1 s).
    pub contention_timeout: Duration,
    /// The chance that a proposal accepted under contention is answered "result unknown".
    pub unknown_rate: f64,
    /// Seeds the draws (pauses and unknown outcomes).
    pub seed: u64,
    /// Draw the unknown outcome for rounds that run alone too: tests that want the unknown
    /// path without racing (and so, sequentially, with draws that repeat exactly).
    pub draw_alone: bool,
}

/// Against Cassandra 4.1 (three nodes, RF 3), twenty concurrent `INSERT ... IF NOT EXISTS` on
/// one partition answered "result unknown" about 3.5% of the time; almost every round of such
/// a run is accepted while rivals are active, so the rate is about the same.
pub const DEFAULT_UNKNOWN_RATE: f64 = 0.035;

impl Default for PaxosConfig {
    fn default() -> Self {
        PaxosConfig { contention_timeout: Duration::from_secs(1), unknown_rate: DEFAULT_UNKNOWN_RATE, seed: 0, draw_alone: false }
    }
}

/// Cassandra's pause after a lost ballot: a uniform random sleep below 100 ms.
const MAX_PAUSE_MS: u64 = 100;

#[cfg(test)]
mod tests;
