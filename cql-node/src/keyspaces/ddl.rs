//! Asynchronous DDL as Keyspaces does it: CREATE KEYSPACE/TABLE returns at once, but the new
//! resource stays CREATING for a while (configurable here) before it turns ACTIVE, and
//! statements on it fail meanwhile as if it did not exist yet. The state lives here, not in the
//! engine: a map of creation instants fed by the engine's schema events and consulted by the
//! profile's request check and by the `system_schema_mcs` rows.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::engine::{ChangeType, SchemaChange, SchemaTarget};
use crate::error::CqlError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceStatus {
    Creating,
    Active,
}

impl ResourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceStatus::Creating => "CREATING",
            ResourceStatus::Active => "ACTIVE",
        }
    }
}

/// (keyspace, table) — table `None` for the keyspace itself. Names as the engine reports them.
type Key = (String, Option<String>);

/// Creation times of keyspaces and tables created since start. Cheap to clone (shared).
#[derive(Clone)]
pub struct DdlTracker {
    creating_for: Duration,
    created: Arc<Mutex<HashMap<Key, Instant>>>,
    /// The engine's schema events, drained before every status question: the engine emits
    /// an event before it answers the DDL, so the next request already sees the new state.
    events: Arc<Mutex<Option<broadcast::Receiver<SchemaChange>>>>,
}

impl DdlTracker {
    pub fn new(creating_for: Duration) -> Self {
        Self { creating_for, created: Arc::default(), events: Arc::default() }
    }

    /// Follows an engine's schema changes from now on.
    pub fn follow(&self, events: broadcast::Receiver<SchemaChange>) {
        *self.events.lock() = Some(events);
    }

    fn sync(&self) {
        // Past their CREATING time, entries say nothing absence would not: forget them.
        self.created.lock().retain(|_, at| at.elapsed() < self.creating_for);
        let mut events = self.events.lock();
        let Some(rx) = events.as_mut() else { return };
        loop {
            match rx.try_recv() {
                Ok(change) => self.record(&change),
                // Missed events only mean fewer resources shown CREATING: keep going.
                Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
    }

    pub fn creating_for(&self) -> Duration {
        self.creating_for
    }

    /// Feeds one schema change from the engine.
    pub fn record(&self, change: &SchemaChange) {
        let key = match &change.target {
            SchemaTarget::Keyspace(ks) => (ks.clone(), None),
            SchemaTarget::Table { keyspace, table } => (keyspace.clone(), Some(table.clone())),
            SchemaTarget::Type { .. } => return,
        };
        let mut created = self.created.lock();
        match change.change {
            ChangeType::Created => {
                created.insert(key, Instant::now());
            }
            ChangeType::Dropped => {
                if key.1.is_none() {
                    created.retain(|(ks, _), _| *ks != key.0);
                } else {
                    created.remove(&key);
                }
            }
            ChangeType::Updated => {}
        }
    }

    fn status_of(&self, key: &Key) -> ResourceStatus {
        self.sync();
        match self.created.lock().get(key) {
            Some(at) if at.elapsed() < self.creating_for => ResourceStatus::Creating,
            _ => ResourceStatus::Active,
        }
    }

    pub fn keyspace_status(&self, keyspace: &str) -> ResourceStatus {
        self.status_of(&(keyspace.to_string(), None))
    }

    pub fn table_status(&self, keyspace: &str, table: &str) -> ResourceStatus {
        self.status_of(&(keyspace.to_string(), Some(table.to_string())))
    }

    /// Refuses a statement that uses a keyspace or table still CREATING, with the errors
    /// Cassandra gives for a keyspace/table that does not exist (what a client sees on
    /// Keyspaces before the resource is ACTIVE).
    pub fn check_statement(&self, query: &str, current_keyspace: Option<&str>) -> Result<(), CqlError> {
        self.sync();
        if self.created.lock().is_empty() && self.events.lock().as_ref().is_none_or(|rx| rx.is_empty()) {
            return Ok(()); // the common case: nothing created recently, no parsing needed
        }
        let Some((keyspace, table)) = target_of(query) else { return Ok(()) };
        let Some(keyspace) = keyspace.or_else(|| current_keyspace.map(str::to_string)) else { return Ok(()) };
        if self.keyspace_status(&keyspace) == ResourceStatus::Creating {
            return Err(CqlError::invalid(format!("Keyspace '{keyspace}' does not exist")));
        }
        if let Some(table) = table
            && self.table_status(&keyspace, &table) == ResourceStatus::Creating
        {
            return Err(CqlError::invalid(format!("unconfigured table {table}")));
        }
        Ok(())
    }
}

/// The keyspace (if qualified) and table a statement works on, from its text:
/// `SELECT .. FROM x`, `INSERT INTO x`, `UPDATE x`, `DELETE .. FROM x`, `USE ks`,
/// `CREATE TABLE [IF NOT EXISTS] x` (its keyspace must be ACTIVE).
fn target_of(query: &str) -> Option<(Option<String>, Option<String>)> {
    let tokens = tokenize(query);
    let lower: Vec<String> = tokens.iter().map(|t| if t.quoted { t.text.clone() } else { t.text.to_ascii_lowercase() }).collect();
    let first = lower.first()?.as_str();
    let name_at = |i: usize| -> Option<(Option<String>, String)> {
        let a = tokens.get(i)?;
        if tokens.get(i + 1).is_some_and(|t| !t.quoted && t.text == ".") {
            let b = tokens.get(i + 2)?;
            Some((Some(a.name()), b.name()))
        } else {
            Some((None, a.name()))
        }
    };
    let after = |word: &str| lower.iter().position(|w| w == word).map(|i| i + 1);
    let (ks, table) = match first {
        "select" | "delete" => name_at(after("from")?)?,
        "insert" => name_at(after("into")?)?,
        "update" => name_at(1)?,
        "use" => return Some((Some(tokens.get(1)?.name()), None)),
        "create" if lower.get(1).map(String::as_str) == Some("table") => {
            let mut i = 2;
            if lower.get(2).map(String::as_str) == Some("if") {
                i = 5;
            }
            let (ks, _) = name_at(i)?;
            return Some((ks, None));
        }
        _ => return None,
    };
    Some((ks, Some(table)))
}

struct Token {
    text: String,
    quoted: bool,
}

impl Token {
    /// Unquoted names are case-insensitive (folded to lower case), quoted ones kept as written.
    fn name(&self) -> String {
        if self.quoted { self.text.clone() } else { self.text.to_ascii_lowercase() }
    }
}

fn tokenize(query: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = query.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut text = String::new();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        text.push('"');
                        continue;
                    }
                    break;
                }
                text.push(c);
            }
            out.push(Token { text, quoted: true });
        } else if c.is_alphanumeric() || c == '_' {
            let mut text = String::new();
            while let Some(&c) = chars.peek() {
                if !(c.is_alphanumeric() || c == '_') {
                    break;
                }
                text.push(c);
                chars.next();
            }
            out.push(Token { text, quoted: false });
        } else {
            chars.next();
            out.push(Token { text: c.to_string(), quoted: false });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(target: SchemaTarget) -> SchemaChange {
        SchemaChange { change: ChangeType::Created, target }
    }

    #[test]
    fn finds_the_target_of_common_statements() {
        assert_eq!(target_of("SELECT a, b FROM ks.t WHERE a = 1"), Some((Some("ks".into()), Some("t".into()))));
        assert_eq!(target_of("insert into T (a) values (1)"), Some((None, Some("t".into()))));
        assert_eq!(target_of("UPDATE \"Ks\".\"Tab\" SET v = 1"), Some((Some("Ks".into()), Some("Tab".into()))));
        assert_eq!(target_of("DELETE FROM t WHERE k = 1"), Some((None, Some("t".into()))));
        assert_eq!(target_of("USE ks"), Some((Some("ks".into()), None)));
        assert_eq!(target_of("CREATE TABLE IF NOT EXISTS ks.t (a int PRIMARY KEY)"), Some((Some("ks".into()), None)));
        assert_eq!(target_of("CREATE KEYSPACE ks WITH replication = {}"), None);
    }

    #[test]
    fn creating_then_active() {
        let ddl = DdlTracker::new(Duration::from_secs(3600));
        ddl.record(&created(SchemaTarget::Table { keyspace: "ks".into(), table: "t".into() }));
        assert_eq!(ddl.table_status("ks", "t"), ResourceStatus::Creating);
        assert_eq!(ddl.keyspace_status("ks"), ResourceStatus::Active);
        let err = ddl.check_statement("SELECT * FROM t", Some("ks")).unwrap_err();
        assert_eq!(err.message, "unconfigured table t");
        assert!(ddl.check_statement("SELECT * FROM other", Some("ks")).is_ok());

        ddl.record(&created(SchemaTarget::Keyspace("new_ks".into())));
        assert_eq!(ddl.check_statement("USE new_ks", None).unwrap_err().message, "Keyspace 'new_ks' does not exist");
        assert!(ddl.check_statement("CREATE TABLE new_ks.x (a int PRIMARY KEY)", None).is_err());

        let immediate = DdlTracker::new(Duration::ZERO);
        immediate.record(&created(SchemaTarget::Table { keyspace: "ks".into(), table: "t".into() }));
        assert_eq!(immediate.table_status("ks", "t"), ResourceStatus::Active);
        assert!(immediate.check_statement("SELECT * FROM ks.t", None).is_ok());
    }

    #[test]
    fn follows_schema_events() {
        let ddl = DdlTracker::new(Duration::from_secs(3600));
        let (tx, rx) = broadcast::channel(8);
        ddl.follow(rx);
        tx.send(created(SchemaTarget::Table { keyspace: "ks".into(), table: "t".into() })).unwrap();
        assert!(ddl.check_statement("SELECT * FROM ks.t", None).is_err());
        assert_eq!(ddl.table_status("ks", "t"), ResourceStatus::Creating);
    }

    #[test]
    fn dropping_a_keyspace_forgets_its_tables() {
        let ddl = DdlTracker::new(Duration::from_secs(3600));
        ddl.record(&created(SchemaTarget::Table { keyspace: "ks".into(), table: "t".into() }));
        ddl.record(&SchemaChange { change: ChangeType::Dropped, target: SchemaTarget::Keyspace("ks".into()) });
        assert_eq!(ddl.table_status("ks", "t"), ResourceStatus::Active);
    }
}
