//! The acceptor side: per partition, the newest ballot promised, the proposal accepted and not
//! yet committed, and how many rounds are running on it. Each step takes the partition's
//! stripe lock for itself only, so rounds interleave between steps as they do in a cluster.
//! Generic over the proposal's payload so the tests can drive it without an engine.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::{MAX_PAUSE_MS, PaxosConfig};
use crate::error::CqlResult;

/// A partition: its table and its serialized partition key.
pub(crate) type Key = (Uuid, Bytes);

#[derive(Debug, Clone)]
pub(crate) struct Proposal<R> {
    pub ballot: i64,
    pub request: R,
    /// False when the round's conditions failed: an empty update, proposed all the same
    /// (as Cassandra does since CASSANDRA-12126) so a failed condition is linearizable too.
    pub applies: bool,
}

struct Slot<R> {
    promised: i64,
    accepted: Option<Proposal<R>>,
    committed: i64,
    active: u32,
}

impl<R> Default for Slot<R> {
    fn default() -> Self {
        Slot { promised: i64::MIN, accepted: None, committed: i64::MIN, active: 0 }
    }
}

impl<R> Slot<R> {
    /// An accepted proposal newer than the last commit: the next promise must complete it.
    fn in_progress(&self) -> Option<&Proposal<R>> {
        self.accepted.as_ref().filter(|p| p.ballot > self.committed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Promise {
    /// A newer ballot was promised already.
    Rejected,
    /// Promised; nothing was in progress.
    Granted,
    /// Promised, and an accepted proposal was found and completed: start a new round.
    Repaired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accept {
    /// A newer ballot was promised since our promise.
    Rejected,
    /// Accepted and committed.
    Chosen,
    /// Accepted by "fewer than a quorum": the client cannot know whether it will apply.
    Unknown,
}

const STRIPES: usize = 64;

pub(crate) struct Paxos<R> {
    config: PaxosConfig,
    stripes: Vec<Mutex<HashMap<Key, Slot<R>>>>,
    rng: Mutex<StdRng>,
}

/// A round in progress on a partition (counted for contention); forgets the partition's state
/// when the last round leaves and nothing is left to complete.
pub(crate) struct Active<'a, R> {
    paxos: &'a Paxos<R>,
    key: Key,
}

impl<R> Drop for Active<'_, R> {
    fn drop(&mut self) {
        let mut stripe = self.paxos.stripe(&self.key).lock();
        if let Some(slot) = stripe.get_mut(&self.key) {
            slot.active = slot.active.saturating_sub(1);
            if slot.active == 0 && slot.accepted.is_none() {
                stripe.remove(&self.key);
            }
        }
    }
}

impl<R> Paxos<R> {
    fn stripe(&self, key: &Key) -> &Mutex<HashMap<Key, Slot<R>>> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        &self.stripes[h.finish() as usize % STRIPES]
    }
}

impl<R: Clone> Paxos<R> {
    pub fn new(config: PaxosConfig) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        Paxos { config, stripes: (0..STRIPES).map(|_| Mutex::new(HashMap::new())).collect(), rng }
    }

    pub fn config(&self) -> &PaxosConfig {
        &self.config
    }

    pub fn enter(&self, key: Key) -> Active<'_, R> {
        self.stripe(&key).lock().entry(key.clone()).or_default().active += 1;
        Active { paxos: self, key }
    }

    /// The whole round at once (`run` checks and applies) when it is alone on the partition
    /// and nothing is in progress there; `None` when a rival is about or something must be
    /// completed first, so the round must go step by step.
    pub fn solo<T>(&self, key: &Key, ballot: i64, run: impl FnOnce() -> T) -> Option<T> {
        let mut stripe = self.stripe(key).lock();
        let slot = stripe.get_mut(key)?;
        if slot.active != 1 || self.config.draw_alone || ballot <= slot.promised || slot.in_progress().is_some() {
            return None;
        }
        slot.promised = ballot;
        let outcome = run();
        slot.committed = ballot;
        Some(outcome)
    }

    /// Prepare/promise. A proposal found in progress is completed (committed) at once.
    pub fn prepare(&self, key: &Key, ballot: i64, commit: impl FnOnce(&Proposal<R>) -> CqlResult<()>) -> CqlResult<Promise> {
        let mut stripe = self.stripe(key).lock();
        let slot = stripe.entry(key.clone()).or_default();
        if ballot <= slot.promised {
            return Ok(Promise::Rejected);
        }
        slot.promised = ballot;
        let Some(found) = slot.in_progress().cloned() else { return Ok(Promise::Granted) };
        if found.applies {
            commit(&found)?;
        }
        slot.committed = ballot;
        slot.accepted = None;
        Ok(Promise::Repaired)
    }

    /// Propose/accept, then commit when chosen.
    pub fn propose(&self, key: &Key, proposal: Proposal<R>, commit: impl FnOnce(&Proposal<R>) -> CqlResult<()>) -> CqlResult<Accept> {
        let mut stripe = self.stripe(key).lock();
        let slot = stripe.entry(key.clone()).or_default();
        if slot.promised != proposal.ballot {
            return Ok(Accept::Rejected);
        }
        if (slot.active > 1 || self.config.draw_alone) && self.draw(self.config.unknown_rate) {
            // Whether a replica the next promise hears from accepted it: a coin.
            if self.draw(0.5) {
                slot.accepted = Some(proposal);
            }
            return Ok(Accept::Unknown);
        }
        if proposal.applies {
            commit(&proposal)?;
        }
        slot.committed = proposal.ballot;
        slot.accepted = None;
        Ok(Accept::Chosen)
    }

    /// A SERIAL read of `table` completes what is in progress there first, as its Paxos
    /// prepare would, and outbids the rounds in flight.
    pub fn repair_table(&self, table: Uuid, ballot: i64, mut commit: impl FnMut(&Proposal<R>) -> CqlResult<()>) -> CqlResult<()> {
        for stripe in &self.stripes {
            let mut stripe = stripe.lock();
            for slot in stripe.iter_mut().filter(|(k, _)| k.0 == table).map(|(_, s)| s) {
                if let Some(found) = slot.in_progress().cloned() {
                    if found.applies {
                        commit(&found)?;
                    }
                    slot.committed = ballot;
                    slot.accepted = None;
                }
                slot.promised = slot.promised.max(ballot);
            }
            stripe.retain(|_, s| s.active > 0 || s.accepted.is_some());
        }
        Ok(())
    }

    /// The pause after a lost ballot.
    pub fn pause(&self) -> Duration {
        Duration::from_millis(self.rng.lock().random_range(0..MAX_PAUSE_MS))
    }

    fn draw(&self, p: f64) -> bool {
        p > 0.0 && self.rng.lock().random_bool(p.min(1.0))
    }

    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.stripes.iter().map(|s| s.lock().len()).sum()
    }
}
