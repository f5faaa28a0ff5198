//! `system.local` / `system.peers` as a Keyspaces endpoint shows them: the region as data
//! center, release_version 3.11.2, Keyspaces's partitioner name, and every other endpoint
//! address as a peer on the same port (a public endpoint lists nine; any of them serves any
//! key).

use std::net::IpAddr;

use uuid::Uuid;

use crate::engine::{NodeInfo, PeerInfo};

pub const KEYSPACES_RELEASE_VERSION: &str = "3.11.2";
/// Keyspaces's default partitioner (token-compatible with Murmur3 for drivers' routing).
pub const KEYSPACES_PARTITIONER: &str = "com.amazonaws.cassandra.DefaultPartitioner";
pub const KEYSPACES_CLUSTER_NAME: &str = "Amazon Keyspaces (cql-node test double)";
/// A client of a public Keyspaces endpoint finds nine entries in `system.peers` (the
/// Keyspaces developer guide, "System keyspaces" and "Populating system.peers table entries
/// with interface VPC endpoint information"): with the endpoint it reached, ten hosts. A
/// FIPS endpoint shows three, a VPC endpoint one per availability zone: `nodes(n)` for those.
pub const PUBLIC_ENDPOINT_HOSTS: usize = 10;

/// Tokens spread evenly: node `i` of `n` owns `i * 2^64 / n - 2^63`.
pub fn even_token(index: usize, count: usize) -> i64 {
    let step = (u64::MAX / count.max(1) as u64) as i128 + 1;
    (index as i128 * step + i64::MIN as i128) as i64
}

/// Host ids stay the same for an address across restarts, as a real node's do.
pub fn host_id_for(address: IpAddr, port: u16) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("cql-node/{address}/{port}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The view each of `addresses` has of the set, shaped by the given identity.
pub fn node_infos(
    addresses: &[IpAddr],
    port: u16,
    cluster_name: &str,
    data_center: &str,
    rack: &str,
    release_version: &str,
    partitioner: &str,
) -> Vec<NodeInfo> {
    let n = addresses.len();
    let peer = |i: usize| PeerInfo {
        address: addresses[i],
        native_port: port,
        data_center: data_center.to_string(),
        rack: rack.to_string(),
        host_id: host_id_for(addresses[i], port),
        release_version: release_version.to_string(),
        tokens: vec![even_token(i, n)],
    };
    (0..n)
        .map(|i| NodeInfo {
            cluster_name: cluster_name.to_string(),
            data_center: data_center.to_string(),
            rack: rack.to_string(),
            release_version: release_version.to_string(),
            partitioner: partitioner.to_string(),
            host_id: host_id_for(addresses[i], port),
            address: addresses[i],
            native_port: port,
            tokens: vec![even_token(i, n)],
            peers: (0..n).filter(|&j| j != i).map(peer).collect(),
        })
        .collect()
}

/// Keyspaces-shaped views for an endpoint served from `addresses` in `region`.
pub fn keyspaces_node_infos(addresses: &[IpAddr], port: u16, region: &str) -> Vec<NodeInfo> {
    node_infos(addresses, port, KEYSPACES_CLUSTER_NAME, region, &format!("{region}a"), KEYSPACES_RELEASE_VERSION, KEYSPACES_PARTITIONER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_spread_evenly_from_min() {
        assert_eq!(even_token(0, 3), i64::MIN);
        assert_eq!(even_token(0, 1), i64::MIN);
        let t: Vec<i64> = (0..4).map(|i| even_token(i, 4)).collect();
        assert_eq!(t, vec![i64::MIN, i64::MIN / 2, 0, i64::MAX / 2 + 1]);
    }

    #[test]
    fn each_node_lists_the_others() {
        let addrs: Vec<IpAddr> = ["127.0.0.1", "127.0.0.2", "127.0.0.3"].iter().map(|a| a.parse().unwrap()).collect();
        let infos = keyspaces_node_infos(&addrs, 9142, "eu-west-3");
        assert_eq!(infos.len(), 3);
        for (i, info) in infos.iter().enumerate() {
            assert_eq!(info.address, addrs[i]);
            assert_eq!(info.data_center, "eu-west-3");
            assert_eq!(info.release_version, "3.11.2");
            assert_eq!(info.peers.len(), 2);
            assert!(info.peers.iter().all(|p| p.address != addrs[i] && p.native_port == 9142));
        }
        assert_ne!(infos[0].host_id, infos[1].host_id);
        assert_eq!(infos[0].host_id, host_id_for(addrs[0], 9142));
    }
}
