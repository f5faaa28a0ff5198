//! The secret that signs listing cursors (`STORE_CURSOR_KEY`). Whoever holds it can mint
//! cursors carrying any paging state; the database still validates those, and a listing shows
//! nothing a first page does not, so a leak exposes no data, but the key is still kept out of
//! every log (its Debug prints a placeholder). Unset, each process draws a random key: cursors
//! then only work within the process that issued them (fine locally and in tests; a deployment
//! with several containers sets the variable).

use std::fmt;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// HMAC-SHA256 keys shorter than its output weaken it; RFC 2104 recommends at least this.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Clone, PartialEq, Eq)]
pub struct CursorKey {
    bytes: Arc<[u8]>,
    /// `id()`, derived once: the cached list names the key on every request.
    id: Arc<str>,
}

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorKey(***)")
    }
}

impl CursorKey {
    /// `text` as hex (an even number of hex digits) or else base64 (standard or URL-safe,
    /// padded or not), at least `MIN_KEY_BYTES` once decoded. The error never echoes `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = if text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| "not valid hex".to_owned())?
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
                .ok_or_else(|| "neither hex nor base64".to_owned())?
        };
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!("decodes to {} bytes; at least {MIN_KEY_BYTES} are needed", bytes.len()));
        }
        Ok(CursorKey::new(bytes))
    }

    /// This process's random key, the same for every `Db` of the process (so the create and
    /// list handles of one test, or one `make run` function, agree).
    pub fn per_process() -> Self {
        static KEY: OnceLock<CursorKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let mut bytes = [0u8; MIN_KEY_BYTES];
            getrandom::fill(&mut bytes).expect("the operating system's random source");
            CursorKey::new(bytes.to_vec())
        })
        .clone()
    }

    /// `per_process`, saying once per process what that costs.
    pub fn per_process_with_warning(variable: &str) -> Self {
        static WARNED: OnceLock<()> = OnceLock::new();
        WARNED.get_or_init(|| {
            tracing::warn!(
                "{variable} is unset: listing cursors are signed with a random per-process key and only work \
                 within this process; set {variable} when more than one process serves the API"
            );
        });
        Self::per_process()
    }

    /// A name for the key that reveals nothing of it (a digest): what is cached with cursors
    /// in it is kept apart per key, since only this key verifies those cursors.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn new(bytes: Vec<u8>) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new().chain_update(b"store-manager cursor key id\0").chain_update(&bytes).finalize();
        CursorKey { id: hex::encode(&digest[..8]).into(), bytes: bytes.into() }
    }

    /// The raw key, for the MAC only.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_names_the_key_without_showing_it() {
        let a = CursorKey::parse(&"ab".repeat(32)).unwrap();
        let b = CursorKey::parse(&"cd".repeat(32)).unwrap();
        assert_eq!(a.id(), a.clone().id());
        assert_ne!(a.id(), b.id());
        assert!(!"ab".repeat(32).contains(&a.id()));
    }

    #[test]
    fn hex_and_base64_of_32_bytes_are_accepted_and_agree() {
        let bytes: Vec<u8> = (0u8..32).collect();
        let from_hex = CursorKey::parse(&hex::encode(&bytes)).unwrap();
        let from_b64 = CursorKey::parse(&STANDARD.encode(&bytes)).unwrap();
        let from_url = CursorKey::parse(&URL_SAFE_NO_PAD.encode(&bytes)).unwrap();
        assert_eq!(from_hex.bytes(), bytes.as_slice());
        assert_eq!(from_hex, from_b64);
        assert_eq!(from_hex, from_url);
    }

    #[test]
    fn short_or_garbled_keys_are_refused_without_echoing_them() {
        let short = hex::encode([7u8; 31]);
        for bad in [short.as_str(), "not a key!", "zz", &STANDARD.encode([1u8; 16])] {
            let err = CursorKey::parse(bad).unwrap_err();
            assert!(!err.contains(bad), "{err}");
        }
    }

    #[test]
    fn the_per_process_key_is_stable_and_never_printed() {
        let key = CursorKey::per_process();
        assert_eq!(key, CursorKey::per_process());
        assert_eq!(key.bytes().len(), MIN_KEY_BYTES);
        assert_eq!(format!("{key:?}"), "CursorKey(***)");
    }
}
