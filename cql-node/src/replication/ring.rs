//! The token ring and replica placement, as Cassandra's `TokenMetadata` and
//! `locator/SimpleStrategy` / `locator/NetworkTopologyStrategy` compute them: a node owns the
//! ranges ending at its tokens; a key's replicas are found by walking the ring clockwise from
//! the first token at or after the key's token.

use std::collections::{BTreeMap, BTreeSet};

/// Where one node sits: its data center, rack and tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub data_center: String,
    pub rack: String,
    pub tokens: Vec<i64>,
}

/// A keyspace's replication, parsed from its `replication` map.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// `LocalStrategy` (system keyspaces) and anything we cannot read: the coordinator only.
    Local,
    /// `SimpleStrategy`: the next `factor` distinct nodes on the ring.
    Simple(usize),
    /// `NetworkTopologyStrategy`: a factor per data center.
    Nts(BTreeMap<String, usize>),
}

impl Strategy {
    pub fn from_options(options: &[(String, String)]) -> Strategy {
        let class = options.iter().find(|(k, _)| k == "class").map(|(_, v)| v.as_str()).unwrap_or("");
        let short = class.rsplit('.').next().unwrap_or(class);
        let factor = |v: &str| v.trim().parse::<usize>().ok();
        match short {
            "SimpleStrategy" => options
                .iter()
                .find(|(k, _)| k == "replication_factor")
                .and_then(|(_, v)| factor(v))
                .map_or(Strategy::Local, Strategy::Simple),
            "NetworkTopologyStrategy" => Strategy::Nts(
                options.iter().filter(|(k, _)| k != "class").filter_map(|(k, v)| Some((k.clone(), factor(v)?))).collect(),
            ),
            _ => Strategy::Local,
        }
    }

    /// The total replication factor (Cassandra's `getReplicationFactor().allReplicas`).
    pub fn total(&self) -> usize {
        match self {
            Strategy::Local => 1,
            Strategy::Simple(rf) => *rf,
            Strategy::Nts(dcs) => dcs.values().sum(),
        }
    }
}

pub struct Ring {
    places: Vec<Place>,
    /// Every token with its node, sorted by token.
    sorted: Vec<(i64, usize)>,
}

impl Ring {
    pub fn new(places: Vec<Place>) -> Ring {
        let mut sorted: Vec<(i64, usize)> = places.iter().enumerate().flat_map(|(i, p)| p.tokens.iter().map(move |&t| (t, i))).collect();
        sorted.sort_unstable();
        Ring { places, sorted }
    }

    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    pub fn place(&self, node: usize) -> &Place {
        &self.places[node]
    }

    /// One token per range (the range's end): enough to visit every replica set a range read
    /// crosses.
    pub fn range_ends(&self) -> impl Iterator<Item = i64> + '_ {
        self.sorted.iter().map(|(t, _)| *t)
    }

    /// Index of the first ring token >= `token`, wrapping past the last to the first.
    fn first_index(&self, token: i64) -> usize {
        let i = self.sorted.partition_point(|(t, _)| *t < token);
        if i == self.sorted.len() { 0 } else { i }
    }

    /// Nodes in ring order from `token` (each token once, so a node may repeat).
    fn walk(&self, token: i64) -> impl Iterator<Item = usize> + '_ {
        let start = self.first_index(token);
        let n = self.sorted.len();
        (0..n).map(move |k| self.sorted[(start + k) % n].1)
    }

    /// The replicas of `token` under `strategy`, in ring order. `coordinator` answers for
    /// `Local` keyspaces.
    pub fn replicas(&self, token: i64, strategy: &Strategy, coordinator: usize) -> Vec<usize> {
        match strategy {
            Strategy::Local => vec![coordinator],
            Strategy::Simple(rf) => {
                let mut out = Vec::with_capacity(*rf);
                for node in self.walk(token) {
                    if out.len() >= *rf {
                        break;
                    }
                    if !out.contains(&node) {
                        out.push(node);
                    }
                }
                out
            }
            Strategy::Nts(factors) => self.nts_replicas(token, factors),
        }
    }

    /// NetworkTopologyStrategy.calculateNaturalReplicas: per data center, take nodes in ring
    /// order, one per rack first; a rack is repeated only as often as the factor exceeds the
    /// DC's rack count (nodes skipped for their rack are not taken back later).
    fn nts_replicas(&self, token: i64, factors: &BTreeMap<String, usize>) -> Vec<usize> {
        struct Dc {
            rf_left: usize,
            rack_repeats: isize,
            racks: BTreeSet<String>,
        }
        let mut dcs: BTreeMap<&str, Dc> = BTreeMap::new();
        for (dc, &rf) in factors {
            let nodes = self.places.iter().filter(|p| &p.data_center == dc).count();
            let racks: BTreeSet<&str> = self.places.iter().filter(|p| &p.data_center == dc).map(|p| p.rack.as_str()).collect();
            if nodes == 0 || rf == 0 {
                continue;
            }
            dcs.insert(dc.as_str(), Dc { rf_left: rf.min(nodes), rack_repeats: rf as isize - racks.len() as isize, racks: BTreeSet::new() });
        }
        let mut out = Vec::new();
        for node in self.walk(token) {
            if dcs.values().all(|d| d.rf_left == 0) {
                break;
            }
            let place = &self.places[node];
            let Some(dc) = dcs.get_mut(place.data_center.as_str()) else { continue };
            if dc.rf_left == 0 || out.contains(&node) {
                continue;
            }
            if dc.racks.insert(place.rack.clone()) {
                dc.rf_left -= 1;
                out.push(node);
            } else if dc.rack_repeats > 0 {
                dc.rack_repeats -= 1;
                dc.rf_left -= 1;
                out.push(node);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(dc: &str, rack: &str, token: i64) -> Place {
        Place { data_center: dc.into(), rack: rack.into(), tokens: vec![token] }
    }

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_key_belongs_to_the_first_token_at_or_after_it_wrapping_around() {
        let ring = Ring::new(vec![place("dc1", "r1", -100), place("dc1", "r1", 0), place("dc1", "r1", 100)]);
        let one = Strategy::Simple(1);
        assert_eq!(ring.replicas(-100, &one, 0), [0]);
        assert_eq!(ring.replicas(-99, &one, 0), [1]);
        assert_eq!(ring.replicas(0, &one, 0), [1]);
        assert_eq!(ring.replicas(100, &one, 0), [2]);
        assert_eq!(ring.replicas(101, &one, 0), [0], "past the last token wraps to the first");
        assert_eq!(ring.replicas(101, &Strategy::Simple(2), 0), [0, 1]);
        assert_eq!(ring.replicas(50, &Strategy::Simple(5), 0), [2, 0, 1], "no more replicas than nodes");
    }

    #[test]
    fn network_topology_takes_each_dc_factor_and_spreads_over_racks_first() {
        // Ring order: 0(dc1,r1) 1(dc1,r1) 2(dc2,r1) 3(dc1,r2) 4(dc2,r2).
        let ring = Ring::new(vec![
            place("dc1", "r1", 10),
            place("dc1", "r1", 20),
            place("dc2", "r1", 30),
            place("dc1", "r2", 40),
            place("dc2", "r2", 50),
        ]);
        let nts = Strategy::from_options(&opts(&[("class", "org.apache.cassandra.locator.NetworkTopologyStrategy"), ("dc1", "2"), ("dc2", "1")]));
        assert_eq!(nts.total(), 3);
        // From token 5: node 0 (dc1 r1), node 1 skipped (r1 again, two racks for rf 2),
        // node 2 (dc2), node 3 (dc1 r2).
        assert_eq!(ring.replicas(5, &nts, 0), [0, 2, 3]);
        // A factor above the rack count repeats racks.
        let three = Strategy::Nts([("dc1".to_string(), 3)].into());
        assert_eq!(ring.replicas(5, &three, 0), [0, 1, 3]);
    }

    #[test]
    fn strategies_parse_from_the_replication_map() {
        assert_eq!(Strategy::from_options(&opts(&[("class", "SimpleStrategy"), ("replication_factor", "3")])), Strategy::Simple(3));
        assert_eq!(Strategy::from_options(&opts(&[("class", "org.apache.cassandra.locator.LocalStrategy")])), Strategy::Local);
    }
}
