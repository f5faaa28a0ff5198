//! Murmur3Partitioner tokens, as Cassandra computes them: MurmurHash3 x64_128 (seed 0), h1 is
//! the token. Cassandra's Java reads the tail bytes as *signed* bytes, so they are sign-extended
//! here too; without that, keys whose length is not a multiple of 16 would land elsewhere.

fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    k
}

fn block(data: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&data[i..i + 8]);
    u64::from_le_bytes(b)
}

/// h1 of Cassandra's `MurmurHash.hash3_x64_128(key, 0, len, 0)`.
fn hash3_x64_128_h1(data: &[u8]) -> i64 {
    const C1: u64 = 0x87c37b91114253d5;
    const C2: u64 = 0x4cf5ad432745937f;
    let len = data.len();
    let nblocks = len / 16;
    let mut h1: u64 = 0;
    let mut h2: u64 = 0;
    for i in 0..nblocks {
        let mut k1 = block(data, i * 16);
        let mut k2 = block(data, i * 16 + 8);
        k1 = k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 ^= k1;
        h1 = h1.rotate_left(27).wrapping_add(h2).wrapping_mul(5).wrapping_add(0x52dce729);
        k2 = k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 ^= k2;
        h2 = h2.rotate_left(31).wrapping_add(h1).wrapping_mul(5).wrapping_add(0x38495ab5);
    }
    let tail = &data[nblocks * 16..];
    // Sign-extended like Java's `(long) key.get(offset + i)`.
    let t = |i: usize| tail[i] as i8 as i64 as u64;
    let mut k1: u64 = 0;
    let mut k2: u64 = 0;
    let rem = len & 15;
    if rem >= 9 {
        for i in (8..rem).rev() {
            k2 ^= t(i) << ((i - 8) * 8);
        }
        k2 = k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 ^= k2;
    }
    if rem >= 1 {
        for i in (0..rem.min(8)).rev() {
            k1 ^= t(i) << (i * 8);
        }
        k1 = k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 ^= k1;
    }
    h1 ^= len as u64;
    h2 ^= len as u64;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h1 as i64
}

/// The token of a serialized partition key (Long.MIN_VALUE is reserved, as in Cassandra).
pub fn token_of(key: &[u8]) -> i64 {
    let h = hash3_x64_128_h1(key);
    if h == i64::MIN { i64::MAX } else { h }
}

/// The partition key as Cassandra serializes it: the single component's bytes, or for a
/// composite key, per component a 2-byte length, the bytes and a 0x00 end-of-component byte.
pub fn serialize_partition_key(components: &[&[u8]]) -> Vec<u8> {
    if components.len() == 1 {
        return components[0].to_vec();
    }
    let mut out = Vec::with_capacity(components.iter().map(|c| c.len() + 3).sum());
    for c in components {
        out.extend_from_slice(&(c.len() as u16).to_be_bytes());
        out.extend_from_slice(c);
        out.push(0);
    }
    out
}

/// Splits a composite partition key back into its components (None if malformed).
pub fn split_partition_key(key: &[u8], n: usize) -> Option<Vec<&[u8]>> {
    if n == 1 {
        return Some(vec![key]);
    }
    let mut out = Vec::with_capacity(n);
    let mut rest = key;
    for _ in 0..n {
        if rest.len() < 2 {
            return None;
        }
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        if rest.len() < 2 + len + 1 {
            return None;
        }
        out.push(&rest[2..2 + len]);
        rest = &rest[2 + len + 1..];
    }
    if rest.is_empty() { Some(out) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_the_scylla_driver_partitioner() {
        use scylla::routing::partitioner::{Murmur3Partitioner, Partitioner, PartitionerHasher};
        let keys: Vec<Vec<u8>> = vec![
            vec![],
            b"a".to_vec(),
            b"hello".to_vec(),
            0i32.to_be_bytes().to_vec(),
            42i32.to_be_bytes().to_vec(),
            (-1i64).to_be_bytes().to_vec(),
            vec![0xff, 0x80, 0x7f, 0x90, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf0, 0xf1],
            b"a key that is longer than sixteen bytes, with a tail".to_vec(),
            serialize_partition_key(&[b"abc", &7i32.to_be_bytes()]),
        ];
        for k in keys {
            let mut hasher = Murmur3Partitioner.build_hasher();
            hasher.write(&k);
            let expected = hasher.finish().value();
            assert_eq!(token_of(&k), expected, "key {k:?}");
        }
    }

    #[test]
    fn known_cassandra_token_for_int_key() {
        // `SELECT token(k) FROM t WHERE k = 1` on Cassandra (k int) answers -4069959284402364209.
        assert_eq!(token_of(&1i32.to_be_bytes()), -4069959284402364209);
    }

    #[test]
    fn composite_keys_round_trip() {
        let k = serialize_partition_key(&[b"x", b"", b"yz"]);
        assert_eq!(split_partition_key(&k, 3).unwrap(), vec![&b"x"[..], &b""[..], &b"yz"[..]]);
        assert!(split_partition_key(&k, 2).is_none());
        assert!(split_partition_key(&k[..k.len() - 1], 3).is_none());
    }
}
