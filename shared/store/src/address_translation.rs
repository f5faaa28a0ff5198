//! `STORE_ADDRESS_TRANSLATION`: where to reach each node when the address it advertises (its
//! `rpc_address` in `system.local`/`system.peers`, which the driver connects to after the
//! contact point) is not reachable from here. The case: the compose cluster run from the host
//! on Docker Desktop (macOS, Windows), whose nodes advertise container addresses (172.x) the
//! host cannot route to, and whose CQL ports are published on 127.0.0.1:9042/9043/9044.
//! scylla 1.6 dropped the fallback that used to hide this, so the driver needs the mapping.
//!
//! Format: `ADVERTISED=REACHABLE[,...]`. REACHABLE is an `ip:port`; ADVERTISED an `ip` (any
//! port) or an `ip:port` (IPv6 as `[addr]:port`), e.g.
//! `172.20.0.2=127.0.0.1:9042,172.20.0.3=127.0.0.1:9043,172.20.0.4=127.0.0.1:9044`.
//! Prefer the bare ip: the driver reads only `rpc_address` and pairs it with the port of the
//! contact point it happened to use, so `172.20.0.3:9042` stops matching when it connected
//! through 127.0.0.1:9043. Every node must be listed, the contact point's own too (the driver
//! then reaches it by its advertised address); a node without a rule is left out (the driver
//! logs "No rule for address"). Contact points themselves are never translated.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use scylla::errors::TranslationError;
use scylla::policies::address_translator::{AddressTranslator, UntranslatedPeer};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddressTranslation {
    /// `ip:port` rules: matched first.
    exact: HashMap<SocketAddr, SocketAddr>,
    /// `ip` rules: whatever port the driver paired the address with.
    by_ip: HashMap<IpAddr, SocketAddr>,
}

impl AddressTranslation {
    /// Parses the variable's value; the error says which rule is wrong and how.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut t = AddressTranslation::default();
        for rule in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let (from, to) = rule
                .split_once('=')
                .ok_or_else(|| format!("{rule:?} is not ADVERTISED=REACHABLE (e.g. 172.20.0.2=127.0.0.1:9042)"))?;
            let (from, to) = (from.trim(), to.trim());
            let to: SocketAddr = to
                .parse()
                .map_err(|_| format!("{to:?} in {rule:?} is not an ip:port (names are not resolved; IPv6 as [addr]:port)"))?;
            let twice = if let Ok(ip) = from.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
                t.by_ip.insert(ip, to).is_some()
            } else if let Ok(addr) = from.parse::<SocketAddr>() {
                t.exact.insert(addr, to).is_some()
            } else {
                return Err(format!("{from:?} in {rule:?} is not an ip or ip:port"));
            };
            if twice {
                return Err(format!("{from} is translated twice"));
            }
        }
        if t.exact.is_empty() && t.by_ip.is_empty() {
            return Err("no rule given".into());
        }
        Ok(t)
    }

    /// Where the driver connects for a node it knows as `advertised`, if a rule says.
    pub fn get(&self, advertised: SocketAddr) -> Option<SocketAddr> {
        self.exact.get(&advertised).or_else(|| self.by_ip.get(&advertised.ip())).copied()
    }

    /// For `SessionBuilder::address_translator`.
    pub fn translator(&self) -> Arc<dyn AddressTranslator> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl AddressTranslator for AddressTranslation {
    async fn translate_address(&self, peer: &UntranslatedPeer) -> Result<SocketAddr, TranslationError> {
        let advertised = peer.untranslated_address();
        self.get(advertised).ok_or(TranslationError::NoRuleForAddress(advertised))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn rules_map_advertised_to_reachable_addresses() {
        let t = AddressTranslation::parse(
            " 172.20.0.2=127.0.0.1:9042, 172.20.0.3:9042=127.0.0.1:9043,172.20.0.3=127.0.0.1:19043,[fd00::4]=[::1]:9044 ",
        )
        .unwrap();
        assert_eq!(t.get(addr("172.20.0.2:9042")), Some(addr("127.0.0.1:9042")));
        assert_eq!(t.get(addr("172.20.0.2:9043")), Some(addr("127.0.0.1:9042")), "an ip rule takes any port");
        assert_eq!(t.get(addr("172.20.0.3:9042")), Some(addr("127.0.0.1:9043")), "ip:port first");
        assert_eq!(t.get(addr("172.20.0.3:9044")), Some(addr("127.0.0.1:19043")));
        assert_eq!(t.get(addr("[fd00::4]:9042")), Some(addr("[::1]:9044")));
        assert_eq!(t.get(addr("172.20.0.9:9042")), None);
    }

    #[test]
    fn a_bad_rule_is_named() {
        for (text, says) in [
            ("172.20.0.2:9042", "is not ADVERTISED=REACHABLE"),
            ("172.20.0.2=127.0.0.1", "\"127.0.0.1\" in"),
            ("172.20.0.2=localhost:9042", "\"localhost:9042\" in"),
            ("db-1=127.0.0.1:9042", "\"db-1\" in"),
            ("1.2.3.4=127.0.0.1:1,1.2.3.4=127.0.0.1:2", "translated twice"),
            (" , ", "no rule given"),
        ] {
            let err = AddressTranslation::parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
