//! Which replicas a coordinated request reaches, once admitted: a write goes to every replica
//! that answers and leaves hints for the others; a read contacts, per partition, `blockFor`
//! replicas that answer, chosen deterministically (the coordinator first when it is one, then
//! ring order from the partition's token), as Cassandra's `ReplicaPlans.forRead` picks the
//! closest live replicas (here without a snitch's latency ranking).

use std::sync::Arc;

use super::consistency::Need;
use super::liveness::State;
use super::ring::{Ring, Strategy};

#[derive(Clone)]
pub struct Reach {
    ring: Arc<Ring>,
    coordinator: usize,
    states: Vec<State>,
    /// The strategy and consistency requirement a read of the request's keyspace follows.
    read: Option<(Strategy, Need)>,
    /// The replicas a write is applied to now (every touched partition's that answer).
    pub write: Vec<usize>,
    /// The replicas of a write that will not get it now: the coordinator hints them.
    pub hint: Vec<usize>,
    /// Blocking read repair (Cassandra 4: reads above ONE repair the contacted replicas).
    pub repair: bool,
}

impl Reach {
    pub(super) fn new(ring: Arc<Ring>, coordinator: usize, states: Vec<State>, read: Option<(Strategy, Need)>) -> Reach {
        let repair = read.as_ref().is_some_and(|(_, need)| need.block_for() > 1);
        Reach { ring, coordinator, states, read, write: Vec::new(), hint: Vec::new(), repair }
    }

    /// Adds a touched partition's replicas: those that answer get the write, the others hints.
    pub(super) fn add_replicas(&mut self, set: &[usize]) {
        for &n in set {
            let list = if self.states[n].answers() { &mut self.write } else { &mut self.hint };
            if !list.contains(&n) {
                list.push(n);
            }
        }
    }

    /// The replicas a read of the partition at `token` contacts: per group of the consistency
    /// level (all replicas, the local DC's, or each DC's), its first `needed` answering
    /// replicas, the coordinator first. Fewer when not enough answer (admission refused or
    /// timed out such requests already).
    pub fn read_from(&self, token: i64) -> Vec<usize> {
        let Some((strategy, need)) = &self.read else { return Vec::new() };
        let mut replicas = self.ring.replicas(token, strategy, self.coordinator);
        if let Some(i) = replicas.iter().position(|&n| n == self.coordinator) {
            let me = replicas.remove(i);
            replicas.insert(0, me);
        }
        let mut out = Vec::new();
        for (dc, needed) in &need.groups {
            let picked = replicas
                .iter()
                .filter(|&&n| self.states[n].answers())
                .filter(|&&n| dc.as_deref().is_none_or(|d| self.ring.place(n).data_center == d))
                .take(*needed);
            for &n in picked {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::consistency::need;
    use crate::replication::ring::Place;
    use crate::types::Consistency;

    fn ring() -> Arc<Ring> {
        let place = |t: i64| Place { data_center: "dc1".into(), rack: "r1".into(), tokens: vec![t] };
        Arc::new(Ring::new(vec![place(-100), place(0), place(100)]))
    }

    fn reach(coordinator: usize, states: Vec<State>, cl: Consistency) -> Reach {
        let s = Strategy::Simple(3);
        let n = need(cl, &s, "dc1");
        Reach::new(ring(), coordinator, states, Some((s, n)))
    }

    #[test]
    fn a_read_contacts_the_coordinator_first_then_ring_order() {
        let up = vec![State::Up; 3];
        // Token 50's ring order is 2, 0, 1.
        assert_eq!(reach(1, up.clone(), Consistency::One).read_from(50), [1]);
        assert_eq!(reach(1, up.clone(), Consistency::Quorum).read_from(50), [1, 2]);
        assert_eq!(reach(1, up.clone(), Consistency::All).read_from(50), [1, 2, 0]);
        let one_down = vec![State::Up, State::Down, State::Unnoticed { since_micros: 0 }];
        assert_eq!(reach(1, one_down, Consistency::One).read_from(50), [0], "only replicas that answer");
        assert!(reach(1, up.clone(), Consistency::Quorum).repair && !reach(1, up, Consistency::One).repair);
    }

    #[test]
    fn a_write_reaches_the_replicas_that_answer_and_hints_the_others() {
        let mut r = reach(0, vec![State::Up, State::Down, State::Unnoticed { since_micros: 0 }], Consistency::One);
        r.add_replicas(&[2, 0, 1]);
        r.add_replicas(&[0, 1, 2]);
        assert_eq!((r.write, r.hint), (vec![0], vec![2, 1]));
    }
}
