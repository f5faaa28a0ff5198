//! What Amazon Keyspaces refuses that Cassandra accepts: consistency levels outside its
//! supported set, and statements for features it does not have. Checked before execution.
//!
//! Wording: Keyspaces answers these with Invalid (0x2200). The consistency message follows the
//! shape Keyspaces uses ("Consistency level X is not supported for this operation. Supported
//! consistency levels are: ..."); the unsupported-feature wording is ours, as no public source
//! quotes Keyspaces's exact text.

use crate::engine::StatementKind;
use crate::error::CqlError;
use crate::types::Consistency;

const WRITE_LEVELS: &[Consistency] = &[Consistency::LocalQuorum];
const READ_LEVELS: &[Consistency] = &[Consistency::One, Consistency::LocalOne, Consistency::LocalQuorum];

/// Writes only at LOCAL_QUORUM; reads at ONE, LOCAL_ONE or LOCAL_QUORUM; other statements
/// (DDL, USE) at any level, as Keyspaces accepts cqlsh's default ONE for them.
pub fn check_consistency(kind: StatementKind, consistency: Consistency) -> Result<(), CqlError> {
    let allowed = if kind.is_write() {
        WRITE_LEVELS
    } else if kind == StatementKind::Select {
        READ_LEVELS
    } else {
        return Ok(());
    };
    if allowed.contains(&consistency) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|c| c.name()).collect();
    Err(CqlError::invalid(format!(
        "Consistency level {} is not supported for this operation. Supported consistency levels are: {}",
        consistency.name(),
        names.join(", ")
    )))
}

/// Refuses statements for features Keyspaces lacks, recognised from their leading keywords
/// (so the refusal comes first, whatever the engine would have made of the statement).
pub fn check_supported(query: &str) -> Result<(), CqlError> {
    let words = leading_words(query, 4);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let feature = match w.as_slice() {
        ["create", "index", ..] | ["create", "custom", "index", ..] | ["drop", "index", ..] => "Secondary indexes",
        [_, "materialized", "view", ..] => "Materialized views",
        ["truncate", ..] => "TRUNCATE",
        [_, "function", ..] | ["create", "or", "replace", "function"] => "User-defined functions",
        [_, "aggregate", ..] | ["create", "or", "replace", "aggregate"] => "User-defined aggregates",
        [_, "trigger", ..] => "Triggers",
        ["create" | "alter" | "drop", "role" | "user", ..] | ["grant" | "revoke", ..] | ["list", "roles" | "users" | "permissions" | "all", ..] => {
            "Role and permission management (use IAM)"
        }
        _ => return Ok(()),
    };
    Err(CqlError::invalid(format!("{feature} are not supported by Amazon Keyspaces")))
}

/// The first `n` words, lower-cased, skipping comments and punctuation between them.
fn leading_words(query: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = query;
    while out.len() < n {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("--").or_else(|| rest.strip_prefix("//")) {
            rest = r.split_once('\n').map_or("", |(_, r)| r);
            continue;
        }
        if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, r)| r);
            continue;
        }
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        out.push(rest[..end].to_ascii_lowercase());
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn writes_only_at_local_quorum() {
        for kind in [StatementKind::Insert, StatementKind::Update, StatementKind::Delete, StatementKind::Batch] {
            assert!(check_consistency(kind, Consistency::LocalQuorum).is_ok());
            for bad in [Consistency::One, Consistency::Quorum, Consistency::All, Consistency::LocalOne, Consistency::Any, Consistency::EachQuorum] {
                let err = check_consistency(kind, bad).unwrap_err();
                assert_eq!(err.kind, ErrorKind::Invalid);
                assert_eq!(
                    err.message,
                    format!("Consistency level {} is not supported for this operation. Supported consistency levels are: LOCAL_QUORUM", bad.name())
                );
            }
        }
    }

    #[test]
    fn reads_at_one_local_one_local_quorum() {
        for ok in [Consistency::One, Consistency::LocalOne, Consistency::LocalQuorum] {
            assert!(check_consistency(StatementKind::Select, ok).is_ok());
        }
        let err = check_consistency(StatementKind::Select, Consistency::Quorum).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert!(err.message.ends_with("Supported consistency levels are: ONE, LOCAL_ONE, LOCAL_QUORUM"), "{}", err.message);
        assert!(check_consistency(StatementKind::Select, Consistency::All).is_err());
        assert!(check_consistency(StatementKind::Schema, Consistency::One).is_ok());
    }

    #[test]
    fn unsupported_features_are_refused() {
        for q in [
            "CREATE INDEX ON ks.t (v)",
            "create custom index i on t(v) using 'x'",
            "DROP INDEX ks.i",
            "CREATE MATERIALIZED VIEW ks.mv AS SELECT * FROM ks.t",
            "  /* c */ TRUNCATE ks.t",
            "truncate table t",
            "CREATE FUNCTION f() ...",
            "CREATE OR REPLACE FUNCTION f",
            "CREATE AGGREGATE a",
            "CREATE TRIGGER tr ON t USING 'x'",
            "CREATE ROLE bob",
            "GRANT SELECT ON ks.t TO bob",
            "LIST ROLES",
        ] {
            let err = check_supported(q).expect_err(q);
            assert_eq!(err.kind, ErrorKind::Invalid, "{q}");
        }
        for q in ["SELECT * FROM t", "INSERT INTO t (a) VALUES (1)", "CREATE TABLE ks.index (a int PRIMARY KEY)", "CREATE KEYSPACE ks", "-- truncate\nSELECT 1"] {
            assert!(check_supported(q).is_ok(), "{q}");
        }
    }
}
