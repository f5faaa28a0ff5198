//! The listing cursors: opaque to clients. The token-order listing's carries the driver's
//! paging state; the newest-first listing's its own position. Each kind is signed under its
//! own domain tag, so a cursor of one order cannot be replayed as the other's. Layout before
//! base64url (no padding): version byte, 32-byte HMAC-SHA256 tag, paging state. The tag is
//! keyed with `STORE_CURSOR_KEY` and covers a domain tag, the keyspace and the state, so a
//! cursor that was tampered with, truncated, minted by anyone without the key, or issued for
//! another keyspace/API is refused (400) before it reaches the database.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::cursor_key::CursorKey;

/// 2: keyed HMAC tag (1 was an unkeyed checksum, which anyone could compute).
const VERSION: u8 = 2;
const TAG: &[u8] = b"store-manager/products/list/v2";
const NEWEST_TAG: &[u8] = b"store-manager/products/newest/v1";
const TAG_LEN: usize = 32;
/// Paging states are tens of bytes; anything this long is not ours.
const MAX_ENCODED_LEN: usize = 2048;

type HmacSha256 = Hmac<Sha256>;

/// Which listing issued a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorKind {
    /// `GET /products`: token order, the driver's paging state.
    Token,
    /// `GET /products?order=newest`: a position in `products_by_newest`.
    Newest,
}

impl CursorKind {
    fn tag(self) -> &'static [u8] {
        match self {
            CursorKind::Token => TAG,
            CursorKind::Newest => NEWEST_TAG,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    paging_state: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor: {0}")]
pub struct CursorError(pub &'static str);

impl Cursor {
    pub fn from_paging_state(paging_state: &[u8]) -> Self {
        Cursor { paging_state: paging_state.to_vec() }
    }

    pub fn paging_state(&self) -> &[u8] {
        &self.paging_state
    }

    pub fn encode(&self, key: &CursorKey, keyspace: &str) -> String {
        self.encode_as(CursorKind::Token, key, keyspace)
    }

    pub fn decode(text: &str, key: &CursorKey, keyspace: &str) -> Result<Self, CursorError> {
        Self::decode_as(CursorKind::Token, text, key, keyspace)
    }

    pub fn encode_as(&self, kind: CursorKind, key: &CursorKey, keyspace: &str) -> String {
        let mut bytes = Vec::with_capacity(1 + TAG_LEN + self.paging_state.len());
        bytes.push(VERSION);
        bytes.extend_from_slice(&mac(kind, key, keyspace, &self.paging_state).finalize().into_bytes());
        bytes.extend_from_slice(&self.paging_state);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A cursor of `kind`; one of the other kind (validly signed) is refused with a reason
    /// saying so, since a client sending it merely mixed up two listings.
    pub fn decode_as(kind: CursorKind, text: &str, key: &CursorKey, keyspace: &str) -> Result<Self, CursorError> {
        let other = match kind {
            CursorKind::Token => CursorKind::Newest,
            CursorKind::Newest => CursorKind::Token,
        };
        match Self::verify(kind, text, key, keyspace) {
            Err(CursorError("signature mismatch")) if Self::verify(other, text, key, keyspace).is_ok() => {
                Err(CursorError("issued by a listing in another order"))
            }
            result => result,
        }
    }

    fn verify(kind: CursorKind, text: &str, key: &CursorKey, keyspace: &str) -> Result<Self, CursorError> {
        if text.is_empty() || text.len() > MAX_ENCODED_LEN {
            return Err(CursorError("wrong length"));
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| CursorError("not base64url"))?;
        let (&version, rest) = bytes.split_first().ok_or(CursorError("empty"))?;
        if version != VERSION {
            return Err(CursorError("unknown version"));
        }
        if rest.len() <= TAG_LEN {
            return Err(CursorError("truncated"));
        }
        let (tag, state) = rest.split_at(TAG_LEN);
        // verify_slice compares in constant time.
        mac(kind, key, keyspace, state).verify_slice(tag).map_err(|_| CursorError("signature mismatch"))?;
        Ok(Cursor { paging_state: state.to_vec() })
    }
}

fn mac(kind: CursorKind, key: &CursorKey, keyspace: &str, state: &[u8]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key.bytes()).expect("HMAC takes keys of any length");
    m.update(kind.tag());
    m.update(&(keyspace.len() as u64).to_be_bytes());
    m.update(keyspace.as_bytes());
    m.update(state);
    m
}

#[cfg(test)]
mod tests {
    use sha2::Digest;

    use super::*;

    fn key(byte: u8) -> CursorKey {
        CursorKey::parse(&hex::encode([byte; 32])).unwrap()
    }

    #[test]
    fn round_trips() {
        let c = Cursor::from_paging_state(b"\x00\x10some-state");
        let text = c.encode(&key(1), "store");
        assert_eq!(Cursor::decode(&text, &key(1), "store").unwrap(), c);
    }

    #[test]
    fn refuses_tampered_truncated_foreign_and_garbage() {
        let text = Cursor::from_paging_state(b"paging-state-bytes").encode(&key(1), "store");
        let mut bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(&bytes);
        let truncated = &text[..text.len() - 4];
        for bad in [tampered.as_str(), truncated, "", "!!!", "AA", &"A".repeat(5000), "Ag"] {
            assert!(Cursor::decode(bad, &key(1), "store").is_err(), "{bad}");
        }
        assert!(Cursor::decode(&text, &key(1), "other_keyspace").is_err());
    }

    #[test]
    fn a_cursor_of_one_order_is_refused_by_the_other() {
        let c = Cursor::from_paging_state(b"position");
        let token = c.encode(&key(1), "store");
        let newest = c.encode_as(CursorKind::Newest, &key(1), "store");
        assert_ne!(token, newest);
        assert_eq!(Cursor::decode_as(CursorKind::Newest, &newest, &key(1), "store").unwrap(), c);
        let mixed = Err(CursorError("issued by a listing in another order"));
        assert_eq!(Cursor::decode_as(CursorKind::Newest, &token, &key(1), "store"), mixed);
        assert_eq!(Cursor::decode(&newest, &key(1), "store"), mixed);
        // Under another key it is just not ours.
        assert_eq!(Cursor::decode_as(CursorKind::Newest, &token, &key(2), "store"), Err(CursorError("signature mismatch")));
    }

    #[test]
    fn another_key_or_an_unkeyed_checksum_is_refused() {
        let state = b"paging-state-bytes";
        let text = Cursor::from_paging_state(state).encode(&key(1), "store");
        assert_eq!(Cursor::decode(&text, &key(2), "store"), Err(CursorError("signature mismatch")));
        // What anyone could compute without the key: SHA-256 over the same input.
        let mut h = Sha256::new();
        h.update(TAG);
        h.update((5u64).to_be_bytes());
        h.update(b"store");
        h.update(state);
        let mut minted = vec![VERSION];
        minted.extend_from_slice(&h.finalize());
        minted.extend_from_slice(state);
        let minted = URL_SAFE_NO_PAD.encode(minted);
        assert_eq!(Cursor::decode(&minted, &key(1), "store"), Err(CursorError("signature mismatch")));
    }
}
