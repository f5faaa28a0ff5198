//! Key names. All share one hash tag, so the scripts may touch the version and a page in one
//! call on a Redis cluster too (ElastiCache Serverless is one).

use sha2::{Digest, Sha256};

pub struct Keys {
    /// `{store:<namespace>}`
    tag: String,
}

impl Keys {
    pub fn new(namespace: &str) -> Keys {
        Keys { tag: format!("{{store:{namespace}}}") }
    }

    pub fn version(&self) -> String {
        format!("{}:version", self.tag)
    }

    /// The page key is `<prefix><version>:<digest>`; the scripts join the three.
    pub fn page_prefix(&self) -> String {
        format!("{}:page:", self.tag)
    }

    /// A digest of the request, so that a cursor (long, client-supplied) never becomes a key
    /// by itself.
    pub fn page_digest(request: &str) -> String {
        hex::encode(&Sha256::digest(request.as_bytes())[..16])
    }

    pub fn page(&self, version: u64, request: &str) -> String {
        format!("{}{version}:{}", self.page_prefix(), Self::page_digest(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_same_hash_tag() {
        let k = Keys::new("store");
        assert!(k.version().starts_with("{store:store}:"));
        assert!(k.page(7, "limit=50").starts_with("{store:store}:page:7:"));
        assert_ne!(k.page(7, "limit=50"), k.page(8, "limit=50"));
        assert_ne!(k.page(7, "limit=50"), k.page(7, "limit=51"));
    }
}
