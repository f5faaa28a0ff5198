//! Schema statements: CREATE/ALTER/DROP KEYSPACE, CREATE/DROP TABLE, with Cassandra's
//! validation rules and messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use uuid::Uuid;

use super::ast::{CreateTable, Literal, OptionValue};
use super::schema::{
    CUSTOM_PROPERTIES, ColumnDecl, Keyspace, KeyspaceDecl, Kind, OptionVal, TTL_STATUS, TableDecl, TableSchema, default_table_options,
};
use super::value::{is_collection, type_name};
use super::{ChangeType, SchemaChange, SchemaTarget};
use crate::error::{CqlError, CqlResult, ErrorKind};
use crate::types::ColumnType;

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 48 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn option_text(v: &OptionValue) -> String {
    match v {
        OptionValue::Const(Literal::Str(s)) | OptionValue::Const(Literal::Int(s)) | OptionValue::Const(Literal::Float(s)) => s.clone(),
        OptionValue::Const(Literal::Bool(b)) => b.to_string(),
        OptionValue::Ident(s) => s.clone(),
        OptionValue::Const(other) => format!("{other:?}"),
        OptionValue::Map(_) => String::new(),
    }
}

/// Validates and normalises keyspace options into (replication, durable_writes).
pub fn keyspace_options(opts: &[(String, OptionValue)], existing: Option<&KeyspaceDecl>) -> CqlResult<(Vec<(String, String)>, bool)> {
    let mut replication = existing.map(|k| k.replication.clone());
    let mut durable = existing.map(|k| k.durable_writes).unwrap_or(true);
    for (name, v) in opts {
        match (name.as_str(), v) {
            ("replication", OptionValue::Map(m)) => {
                let class = m
                    .iter()
                    .find(|(k, _)| k == "class")
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| CqlError::new(ErrorKind::ConfigError, "Missing replication strategy class"))?;
                let short = class.rsplit('.').next().unwrap_or(&class).to_string();
                let full = format!("org.apache.cassandra.locator.{short}");
                let mut out = vec![("class".to_string(), full.clone())];
                match short.as_str() {
                    "SimpleStrategy" => {
                        let rf = m.iter().find(|(k, _)| k == "replication_factor").map(|(_, v)| v.clone());
                        let Some(rf) = rf else {
                            return Err(CqlError::new(
                                ErrorKind::ConfigError,
                                "SimpleStrategy requires a replication_factor strategy option.",
                            ));
                        };
                        if rf.parse::<u32>().is_err() {
                            return Err(CqlError::new(
                                ErrorKind::ConfigError,
                                format!("Replication factor must be non-negative integer; found {rf}"),
                            ));
                        }
                        for (k, _) in m {
                            if k != "class" && k != "replication_factor" {
                                return Err(CqlError::new(
                                    ErrorKind::ConfigError,
                                    format!("Unrecognized strategy option {{{k}}} passed to SimpleStrategy for keyspace"),
                                ));
                            }
                        }
                        out.push(("replication_factor".into(), rf));
                    }
                    "NetworkTopologyStrategy" => {
                        for (k, v) in m {
                            if k == "class" {
                                continue;
                            }
                            if v.parse::<u32>().is_err() {
                                return Err(CqlError::new(
                                    ErrorKind::ConfigError,
                                    format!("Replication factor must be non-negative integer; found {v}"),
                                ));
                            }
                            out.push((k.clone(), v.clone()));
                        }
                    }
                    // Amazon Keyspaces' own class (the Keyspaces profile creates keyspaces with
                    // it); no Cassandra class has this name, so Cassandra behaviour is unchanged.
                    "SingleRegionStrategy" => out[0].1 = short.clone(),
                    _ => {
                        return Err(CqlError::new(
                            ErrorKind::ConfigError,
                            format!("Unable to find replication strategy class '{full}'"),
                        ));
                    }
                }
                replication = Some(out);
            }
            ("durable_writes", v) => {
                let t = option_text(v).to_ascii_lowercase();
                durable = match t.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(CqlError::syntax(format!("Invalid boolean value {t}"))),
                };
            }
            (other, _) => return Err(CqlError::syntax(format!("Unknown property '{other}'"))),
        }
    }
    let replication = replication.ok_or_else(|| CqlError::new(ErrorKind::ConfigError, "Missing mandatory option 'replication'"))?;
    Ok((replication, durable))
}

pub fn create_keyspace(
    kss: &mut BTreeMap<String, Keyspace>,
    name: &str,
    if_not_exists: bool,
    opts: &[(String, OptionValue)],
) -> CqlResult<Option<SchemaChange>> {
    if !valid_name(name) {
        return Err(CqlError::invalid(format!(
            "Keyspace name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got \"{name}\")"
        )));
    }
    let (replication, durable_writes) = keyspace_options(opts, None)?;
    if kss.contains_key(name) {
        if if_not_exists {
            return Ok(None);
        }
        return Err(CqlError::new(
            ErrorKind::AlreadyExists {
                keyspace: name.into(),
                table: String::new(),
            },
            format!("Cannot add existing keyspace \"{name}\""),
        ));
    }
    kss.insert(
        name.into(),
        Keyspace {
            decl: KeyspaceDecl {
                name: name.into(),
                replication,
                durable_writes,
            },
            tables: BTreeMap::new(),
            system: false,
        },
    );
    Ok(Some(SchemaChange {
        change: ChangeType::Created,
        target: SchemaTarget::Keyspace(name.into()),
    }))
}

fn not_modifiable(ks: &str) -> CqlError {
    CqlError::new(ErrorKind::Unauthorized, format!("{ks} keyspace is not user-modifiable."))
}

pub fn alter_keyspace(kss: &mut BTreeMap<String, Keyspace>, name: &str, opts: &[(String, OptionValue)]) -> CqlResult<Option<SchemaChange>> {
    let ks = kss
        .get_mut(name)
        .ok_or_else(|| CqlError::new(ErrorKind::ConfigError, format!("Keyspace '{name}' does not exist")))?;
    if ks.system {
        return Err(not_modifiable(name));
    }
    let (replication, durable_writes) = keyspace_options(opts, Some(&ks.decl))?;
    ks.decl.replication = replication;
    ks.decl.durable_writes = durable_writes;
    Ok(Some(SchemaChange {
        change: ChangeType::Updated,
        target: SchemaTarget::Keyspace(name.into()),
    }))
}

/// Drops a keyspace; returns the ids of its tables (their data must go too).
pub fn drop_keyspace(kss: &mut BTreeMap<String, Keyspace>, name: &str, if_exists: bool) -> CqlResult<(Option<SchemaChange>, Vec<Uuid>)> {
    match kss.get(name) {
        None if if_exists => Ok((None, vec![])),
        None => Err(CqlError::new(
            ErrorKind::ConfigError,
            format!("Cannot drop non existing keyspace '{name}'."),
        )),
        Some(ks) if ks.system => Err(not_modifiable(name)),
        Some(_) => {
            let ks = kss
                .remove(name)
                .map(|k| k.tables.values().map(|t| t.id).collect())
                .unwrap_or_default();
            Ok((
                Some(SchemaChange {
                    change: ChangeType::Dropped,
                    target: SchemaTarget::Keyspace(name.into()),
                }),
                ks,
            ))
        }
    }
}

const TABLE_OPTIONS: &[&str] = &[
    "additional_write_policy",
    "bloom_filter_fp_chance",
    "caching",
    "cdc",
    "comment",
    "compaction",
    "compression",
    "crc_check_chance",
    "default_time_to_live",
    "extensions",
    "gc_grace_seconds",
    "max_index_interval",
    "memtable",
    "memtable_flush_period_in_ms",
    "min_index_interval",
    "read_repair",
    "speculative_retry",
];

/// Whose table options apply: Cassandra's, or Amazon Keyspaces's (which adds
/// `CUSTOM_PROPERTIES`; its profile switches the engine to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Cassandra,
    Keyspaces,
}

/// Keyspaces's `CUSTOM_PROPERTIES = {'ttl': {'status': 'enabled'}, ...}`, flattened by the
/// parser to `ttl.status` keys. TTL can only be switched on ("you can't disable it").
fn custom_properties(v: &OptionValue) -> CqlResult<Vec<(String, String)>> {
    let OptionValue::Map(m) = v else {
        return Err(CqlError::syntax("custom_properties must be a map"));
    };
    let mut out = Vec::new();
    for (k, v) in m {
        let v = if k == TTL_STATUS {
            if !v.eq_ignore_ascii_case("enabled") {
                return Err(CqlError::invalid(format!("Invalid value '{v}' for ttl status: TTL can only be enabled")));
            }
            "enabled".to_string()
        } else {
            v.clone()
        };
        out.push((k.clone(), v));
    }
    Ok(out)
}

/// `extra` merged over `base`, key by key (Keyspaces updates the properties it is given).
fn merge_map(base: Option<&OptionVal>, extra: &[(String, String)]) -> OptionVal {
    let mut m = match base {
        Some(OptionVal::Map(m)) => m.clone(),
        _ => Vec::new(),
    };
    for (k, v) in extra {
        match m.iter_mut().find(|(mk, _)| mk == k) {
            Some(entry) => entry.1 = v.clone(),
            None => m.push((k.clone(), v.clone())),
        }
    }
    OptionVal::Map(m)
}

/// On Keyspaces, a default_time_to_live above 0 enables TTL on the table for good.
fn keyspaces_ttl(options: &mut BTreeMap<String, OptionVal>, was_enabled: bool) {
    let default_on = matches!(options.get("default_time_to_live"), Some(OptionVal::Text(s)) if s.parse::<i64>().is_ok_and(|n| n > 0));
    if was_enabled || default_on {
        let merged = merge_map(options.get(CUSTOM_PROPERTIES), &[(TTL_STATUS.to_string(), "enabled".to_string())]);
        options.insert(CUSTOM_PROPERTIES.to_string(), merged);
    }
}

fn table_options(opts: &[(String, OptionValue)], dialect: Dialect) -> CqlResult<BTreeMap<String, OptionVal>> {
    let mut out = default_table_options();
    for (name, v) in opts {
        if name == CUSTOM_PROPERTIES && dialect == Dialect::Keyspaces {
            out.insert(name.clone(), OptionVal::Map(custom_properties(v)?));
            continue;
        }
        if !TABLE_OPTIONS.contains(&name.as_str()) {
            return Err(CqlError::syntax(format!("Unknown property '{name}'")));
        }
        let val = match v {
            OptionValue::Map(m) => {
                let mut m = m.clone();
                if name == "compaction" || name == "compression" {
                    for (k, v) in m.iter_mut() {
                        if k == "class" && !v.contains('.') {
                            let pkg = if name == "compaction" {
                                "org.apache.cassandra.db.compaction"
                            } else {
                                "org.apache.cassandra.io.compress"
                            };
                            *v = format!("{pkg}.{v}");
                        }
                    }
                }
                OptionVal::Map(m)
            }
            other => OptionVal::Text(option_text(other)),
        };
        if name == "default_time_to_live" || name == "gc_grace_seconds" {
            let OptionVal::Text(s) = &val else {
                return Err(CqlError::syntax(format!("Invalid value for {name}")));
            };
            let n: i64 = s
                .parse()
                .map_err(|_| CqlError::syntax(format!("Invalid integer value {s} for {name}")))?;
            if n < 0 {
                return Err(CqlError::new(
                    ErrorKind::ConfigError,
                    format!("{name} must be greater than or equal to 0 (got {n})"),
                ));
            }
            if name == "default_time_to_live" && n > super::modify::MAX_TTL {
                return Err(CqlError::new(
                    ErrorKind::ConfigError,
                    format!(
                        "default_time_to_live must be less than or equal to {} (got {n})",
                        super::modify::MAX_TTL
                    ),
                ));
            }
        }
        out.insert(name.clone(), val);
    }
    Ok(out)
}

pub fn create_table(
    kss: &mut BTreeMap<String, Keyspace>,
    ks_name: &str,
    ct: &CreateTable,
    dialect: Dialect,
) -> CqlResult<Option<Arc<TableSchema>>> {
    let ks = kss
        .get_mut(ks_name)
        .ok_or_else(|| CqlError::invalid(format!("Keyspace '{ks_name}' does not exist")))?;
    if ks.system {
        return Err(not_modifiable(ks_name));
    }
    let name = &ct.name.name;
    if !valid_name(name) {
        return Err(CqlError::invalid(format!(
            "Table name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got \"{name}\")"
        )));
    }
    if ct.compact_storage {
        return Err(CqlError::invalid(
            "Compact tables are not allowed in Cassandra starting with 4.0 version.",
        ));
    }
    // Columns and keys.
    let mut seen = std::collections::HashSet::new();
    for c in &ct.columns {
        if !seen.insert(c.name.clone()) {
            return Err(CqlError::invalid(format!("Multiple definition of identifier {}", c.name)));
        }
    }
    let find = |n: &str| ct.columns.iter().find(|c| c.name == n);
    let mut decls = Vec::new();
    let mut key_names = std::collections::HashSet::new();
    for n in ct.partition_key.iter().chain(ct.clustering.iter()) {
        let c = find(n).ok_or_else(|| CqlError::invalid(format!("Unknown definition {n} referenced in PRIMARY KEY")))?;
        if !key_names.insert(n.clone()) {
            return Err(CqlError::invalid(format!("Duplicate definition for column {n} in PRIMARY KEY")));
        }
        if is_collection(&c.ty) && !c.frozen {
            return Err(CqlError::invalid(format!(
                "Invalid non-frozen collection type {} for PRIMARY KEY component {n}",
                type_name(&c.ty, false)
            )));
        }
        if c.ty == ColumnType::Counter {
            return Err(CqlError::invalid(format!(
                "counter type is not supported for PRIMARY KEY column '{n}'"
            )));
        }
        if c.is_static {
            return Err(CqlError::invalid(format!("Static column {n} cannot be part of the PRIMARY KEY")));
        }
    }
    let mut orders: Vec<bool> = vec![false; ct.clustering.len()];
    if !ct.clustering_order.is_empty() {
        for (i, (n, desc)) in ct.clustering_order.iter().enumerate() {
            if !ct.clustering.contains(n) {
                return Err(CqlError::invalid(format!(
                    "Only clustering key columns can be defined in CLUSTERING ORDER directive: {n} is not a clustering column"
                )));
            }
            if ct.clustering.get(i) != Some(n) {
                return Err(CqlError::invalid(
                    "The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns",
                ));
            }
            orders[i] = *desc;
        }
    }
    let counters = ct.columns.iter().filter(|c| c.ty == ColumnType::Counter).count();
    let non_key = ct.columns.iter().filter(|c| !key_names.contains(&c.name)).count();
    if counters > 0 && counters != non_key {
        return Err(CqlError::invalid("Cannot mix counter and non counter columns in the same table"));
    }
    for c in &ct.columns {
        if c.is_static && ct.clustering.is_empty() {
            return Err(CqlError::invalid(format!(
                "Static column {} cannot be used in a table without clustering columns",
                c.name
            )));
        }
        if matches!(c.ty, ColumnType::Duration | ColumnType::Custom(_)) {
            return Err(CqlError::invalid(format!(
                "Type {} is not supported by this node",
                type_name(&c.ty, false)
            )));
        }
        let kind = if ct.partition_key.contains(&c.name) {
            Kind::PartitionKey
        } else if let Some(i) = ct.clustering.iter().position(|x| *x == c.name) {
            let _ = i;
            Kind::Clustering
        } else if c.is_static {
            Kind::Static
        } else {
            Kind::Regular
        };
        let desc = ct.clustering.iter().position(|x| *x == c.name).map(|i| orders[i]).unwrap_or(false);
        decls.push(ColumnDecl {
            name: c.name.clone(),
            ty: type_name(&c.ty, c.frozen),
            kind,
            desc,
            slot: None,
        });
    }
    // Keep key columns in key order.
    decls.sort_by_key(|d| match d.kind {
        Kind::PartitionKey => (0, ct.partition_key.iter().position(|x| *x == d.name).unwrap_or(0)),
        Kind::Clustering => (1, ct.clustering.iter().position(|x| *x == d.name).unwrap_or(0)),
        _ => (2, 0),
    });
    let mut options = table_options(&ct.options, dialect)?;
    if dialect == Dialect::Keyspaces {
        keyspaces_ttl(&mut options, false);
    }
    if ks.tables.contains_key(name) {
        if ct.if_not_exists {
            return Ok(None);
        }
        return Err(CqlError::new(
            ErrorKind::AlreadyExists {
                keyspace: ks_name.into(),
                table: name.clone(),
            },
            format!("Cannot add already existing table \"{name}\" to keyspace \"{ks_name}\""),
        ));
    }
    let decl = TableDecl {
        id: Uuid::new_v4(),
        keyspace: ks_name.into(),
        name: name.clone(),
        columns: decls,
        options,
    };
    let schema = Arc::new(TableSchema::build(&decl, None).ok_or_else(|| CqlError::invalid("Invalid column type"))?);
    ks.tables.insert(name.clone(), schema.clone());
    Ok(Some(schema))
}

pub fn drop_table(kss: &mut BTreeMap<String, Keyspace>, ks_name: &str, name: &str, if_exists: bool) -> CqlResult<Option<Uuid>> {
    let Some(ks) = kss.get_mut(ks_name) else {
        if if_exists {
            return Ok(None);
        }
        return Err(CqlError::invalid(format!("Keyspace '{ks_name}' does not exist")));
    };
    if ks.system {
        return Err(not_modifiable(ks_name));
    }
    match ks.tables.remove(name) {
        Some(t) => Ok(Some(t.id)),
        None if if_exists => Ok(None),
        None => Err(CqlError::invalid(format!("Table '{ks_name}.{name}' doesn't exist"))),
    }
}

/// ALTER TABLE ADD / DROP / WITH. Returns the new schema (same id: the stored rows stay) and
/// the cell slots of dropped columns, whose data the caller erases.
pub fn alter_table(
    kss: &mut BTreeMap<String, Keyspace>,
    ks_name: &str,
    name: &str,
    change: &super::ast::AlterTable,
    dialect: Dialect,
) -> CqlResult<Option<(Arc<TableSchema>, Vec<usize>)>> {
    use super::ast::AlterTable;
    let ks = kss
        .get_mut(ks_name)
        .ok_or_else(|| CqlError::invalid(format!("Keyspace '{ks_name}' does not exist")))?;
    if ks.system {
        return Err(not_modifiable(ks_name));
    }
    let old = ks
        .tables
        .get(name)
        .cloned()
        .ok_or_else(|| CqlError::invalid(format!("Table '{ks_name}.{name}' doesn't exist")))?;
    let mut decl = old.decl();
    let mut changed = false;
    let mut dropped_slots = Vec::new();
    match change {
        AlterTable::Add { if_not_exists, columns } => {
            let mut next_slot = old.slots;
            for c in columns {
                if decl.columns.iter().any(|d| d.name == c.name) {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(CqlError::invalid(format!("Column with name '{}' already exists", c.name)));
                }
                if c.ty == ColumnType::Counter && !old.is_counter {
                    return Err(CqlError::invalid(format!(
                        "Cannot add a counter column ({}) in a non counter column family",
                        c.name
                    )));
                }
                if c.ty != ColumnType::Counter && old.is_counter {
                    return Err(CqlError::invalid(format!(
                        "Cannot add a non counter column ({}) in a counter column family",
                        c.name
                    )));
                }
                if c.is_static && old.ck.is_empty() {
                    return Err(CqlError::invalid(
                        "Static columns are only useful (and thus allowed) if the table has at least one clustering column",
                    ));
                }
                if matches!(c.ty, ColumnType::Duration | ColumnType::Custom(_)) {
                    return Err(CqlError::invalid(format!(
                        "Type {} is not supported by this node",
                        type_name(&c.ty, false)
                    )));
                }
                decl.columns.push(ColumnDecl {
                    name: c.name.clone(),
                    ty: type_name(&c.ty, c.frozen),
                    kind: if c.is_static { Kind::Static } else { Kind::Regular },
                    desc: false,
                    slot: Some(next_slot),
                });
                next_slot += 1;
                changed = true;
            }
        }
        AlterTable::Drop { if_exists, columns } => {
            for n in columns {
                match decl.columns.iter().position(|d| &d.name == n) {
                    None if *if_exists => {}
                    None => return Err(CqlError::invalid(format!("Column {n} was not found in table {name}"))),
                    Some(i) => {
                        if matches!(decl.columns[i].kind, Kind::PartitionKey | Kind::Clustering) {
                            return Err(CqlError::invalid(format!("Cannot drop PRIMARY KEY column {n}")));
                        }
                        if let Some(slot) = decl.columns[i].slot {
                            dropped_slots.push(slot);
                        }
                        decl.columns.remove(i);
                        changed = true;
                    }
                }
            }
        }
        AlterTable::With(opts) => {
            let merged = table_options(opts, dialect)?;
            for (k, _) in opts {
                match merged.get(k) {
                    Some(OptionVal::Map(m)) if k == CUSTOM_PROPERTIES => {
                        let value = merge_map(decl.options.get(k), m);
                        decl.options.insert(k.clone(), value);
                    }
                    Some(v) => {
                        decl.options.insert(k.clone(), v.clone());
                    }
                    None => {}
                }
            }
            if dialect == Dialect::Keyspaces {
                keyspaces_ttl(&mut decl.options, old.ttl_enabled());
            }
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    let schema = Arc::new(TableSchema::build(&decl, None).ok_or_else(|| CqlError::invalid("Invalid column type"))?);
    ks.tables.insert(name.to_string(), schema.clone());
    Ok(Some((schema, dropped_slots)))
}
