//! The listing cursor: opaque to clients, it carries the driver's paging state. Layout before
//! base64url (no padding): version byte, 16-byte SHA-256 checksum, paging state. The checksum
//! covers a domain tag, the keyspace and the state, so a cursor that was tampered with,
//! truncated, or minted for another keyspace/API is refused (400) before it reaches the
//! database. It is a checksum, not a secret MAC: the paging state reveals nothing secret and
//! the database validates it again (a state it rejects is also a 400).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const TAG: &[u8] = b"store-manager/products/list/v1";
const CHECK_LEN: usize = 16;
/// Paging states are tens of bytes; anything this long is not ours.
const MAX_ENCODED_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    paging_state: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor: {0}")]
pub struct CursorError(pub &'static str);

impl Cursor {
    pub fn from_paging_state(paging_state: &[u8]) -> Self {
        Cursor {
            paging_state: paging_state.to_vec(),
        }
    }

    pub fn paging_state(&self) -> &[u8] {
        &self.paging_state
    }

    pub fn encode(&self, keyspace: &str) -> String {
        let mut bytes = Vec::with_capacity(1 + CHECK_LEN + self.paging_state.len());
        bytes.push(VERSION);
        bytes.extend_from_slice(&checksum(keyspace, &self.paging_state));
        bytes.extend_from_slice(&self.paging_state);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str, keyspace: &str) -> Result<Self, CursorError> {
        if text.is_empty() || text.len() > MAX_ENCODED_LEN {
            return Err(CursorError("wrong length"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| CursorError("not base64url"))?;
        let (&version, rest) = bytes.split_first().ok_or(CursorError("empty"))?;
        if version != VERSION {
            return Err(CursorError("unknown version"));
        }
        if rest.len() <= CHECK_LEN {
            return Err(CursorError("truncated"));
        }
        let (check, state) = rest.split_at(CHECK_LEN);
        if check != checksum(keyspace, state).as_slice() {
            return Err(CursorError("checksum mismatch"));
        }
        Ok(Cursor {
            paging_state: state.to_vec(),
        })
    }
}

fn checksum(keyspace: &str, state: &[u8]) -> [u8; CHECK_LEN] {
    let mut h = Sha256::new();
    h.update(TAG);
    h.update((keyspace.len() as u64).to_be_bytes());
    h.update(keyspace.as_bytes());
    h.update(state);
    let digest = h.finalize();
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&digest[..CHECK_LEN]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let c = Cursor::from_paging_state(b"\x00\x10some-state");
        let text = c.encode("store");
        assert_eq!(Cursor::decode(&text, "store").unwrap(), c);
    }

    #[test]
    fn refuses_tampered_truncated_foreign_and_garbage() {
        let text = Cursor::from_paging_state(b"paging-state-bytes").encode("store");
        let mut bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(&bytes);
        let truncated = &text[..text.len() - 4];
        for bad in [
            tampered.as_str(),
            truncated,
            "",
            "!!!",
            "AA",
            &"A".repeat(5000),
            "AQ",
        ] {
            assert!(Cursor::decode(bad, "store").is_err(), "{bad}");
        }
        assert!(Cursor::decode(&text, "other_keyspace").is_err());
    }
}
