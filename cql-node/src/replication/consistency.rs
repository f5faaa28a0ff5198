//! Consistency-level arithmetic as Cassandra 4.1's `db/ConsistencyLevel.java` does it: how
//! many replicas a request blocks for, which of them count (the local data center's only for
//! LOCAL_*, each data center's for EACH_QUORUM), and the Unavailable check against the
//! replicas the failure detector believes alive.

use super::ring::Strategy;
use crate::types::Consistency;

/// What a request needs from one replica set: per group of replicas (all of them, the local
/// DC's, or one group per DC for EACH_QUORUM), how many must answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    /// (data center the group is limited to, replicas needed); `None`: any data center.
    pub groups: Vec<(Option<String>, usize)>,
}

fn quorum(rf: usize) -> usize {
    rf / 2 + 1
}

/// `localQuorumFor`: the local DC's factor under NTS, the whole factor otherwise.
fn local_quorum(strategy: &Strategy, local_dc: &str) -> usize {
    match strategy {
        Strategy::Nts(dcs) => quorum(dcs.get(local_dc).copied().unwrap_or(0)),
        other => quorum(other.total()),
    }
}

/// `blockFor` and the replicas it counts, for `cl` on a keyspace replicated by `strategy`,
/// coordinated from `local_dc`.
pub fn need(cl: Consistency, strategy: &Strategy, local_dc: &str) -> Need {
    let local = || Some(local_dc.to_string());
    let groups = match cl {
        Consistency::Any | Consistency::One => vec![(None, 1)],
        Consistency::Two => vec![(None, 2)],
        Consistency::Three => vec![(None, 3)],
        Consistency::Quorum | Consistency::Serial => vec![(None, quorum(strategy.total()))],
        Consistency::All => vec![(None, strategy.total())],
        Consistency::LocalOne => vec![(local(), 1)],
        Consistency::LocalQuorum | Consistency::LocalSerial => vec![(local(), local_quorum(strategy, local_dc))],
        Consistency::EachQuorum => match strategy {
            Strategy::Nts(dcs) => dcs.iter().filter(|(_, rf)| **rf > 0).map(|(dc, rf)| (Some(dc.clone()), quorum(*rf))).collect(),
            other => vec![(None, quorum(other.total()))],
        },
    };
    Need { groups }
}

impl Need {
    /// The total a timeout reports as `block_for`.
    pub fn block_for(&self) -> usize {
        self.groups.iter().map(|(_, n)| n).sum()
    }
}

/// How each group of `need` fares given the replicas' data centers and a predicate: the
/// first group short of replicas, as (needed, counted), or `None` when all are satisfied.
pub fn first_short(need: &Need, replicas: &[(usize, &str)], ok: impl Fn(usize) -> bool) -> Option<(usize, usize)> {
    for (dc, needed) in &need.groups {
        let counted = replicas.iter().filter(|(node, rdc)| dc.as_deref().is_none_or(|d| d == *rdc) && ok(*node)).count();
        if counted < *needed {
            return Some((*needed, counted));
        }
    }
    None
}

/// Replicas counted by `need` that satisfy `ok`, summed over its groups (capped per group):
/// the `received` a timeout reports.
pub fn received(need: &Need, replicas: &[(usize, &str)], ok: impl Fn(usize) -> bool) -> usize {
    need.groups
        .iter()
        .map(|(dc, needed)| replicas.iter().filter(|(node, rdc)| dc.as_deref().is_none_or(|d| d == *rdc) && ok(*node)).count().min(*needed))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nts() -> Strategy {
        Strategy::Nts([("dc1".to_string(), 3), ("dc2".to_string(), 2)].into())
    }

    #[test]
    fn block_for_follows_cassandras_arithmetic() {
        let s3 = Strategy::Simple(3);
        assert_eq!(need(Consistency::One, &s3, "dc1").block_for(), 1);
        assert_eq!(need(Consistency::Quorum, &s3, "dc1").block_for(), 2);
        assert_eq!(need(Consistency::LocalQuorum, &s3, "dc1").block_for(), 2);
        assert_eq!(need(Consistency::All, &s3, "dc1").block_for(), 3);
        assert_eq!(need(Consistency::Serial, &Strategy::Simple(2), "dc1").block_for(), 2, "a quorum of 2 is 2");
        assert_eq!(need(Consistency::Quorum, &Strategy::Simple(1), "dc1").block_for(), 1);
        // NTS: QUORUM over all 5 replicas, LOCAL_QUORUM over the local DC's, EACH_QUORUM per DC.
        assert_eq!(need(Consistency::Quorum, &nts(), "dc1").block_for(), 3);
        assert_eq!(need(Consistency::LocalQuorum, &nts(), "dc2").groups, [(Some("dc2".to_string()), 2)]);
        assert_eq!(need(Consistency::LocalSerial, &nts(), "dc1").groups, [(Some("dc1".to_string()), 2)]);
        assert_eq!(need(Consistency::EachQuorum, &nts(), "dc1").groups, [(Some("dc1".to_string()), 2), (Some("dc2".to_string()), 2)]);
        assert_eq!(need(Consistency::EachQuorum, &s3, "dc1").groups, [(None, 2)], "EACH_QUORUM is QUORUM outside NTS");
    }

    #[test]
    fn only_the_counted_data_centers_replicas_count() {
        let replicas = [(0, "dc1"), (1, "dc1"), (2, "dc1"), (3, "dc2"), (4, "dc2")];
        let alive = |n: usize| n != 3 && n != 4;
        assert_eq!(first_short(&need(Consistency::LocalQuorum, &nts(), "dc1"), &replicas, alive), None);
        assert_eq!(first_short(&need(Consistency::Quorum, &nts(), "dc1"), &replicas, alive), None);
        assert_eq!(first_short(&need(Consistency::EachQuorum, &nts(), "dc1"), &replicas, alive), Some((2, 0)));
        assert_eq!(first_short(&need(Consistency::LocalOne, &nts(), "dc2"), &replicas, alive), Some((1, 0)));
        assert_eq!(received(&need(Consistency::All, &nts(), "dc1"), &replicas, alive), 3);
    }
}
