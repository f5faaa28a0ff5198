//! The schema catalog: keyspaces and tables with their columns, kinds, positions and options,
//! in the shape system_schema reports them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::types::ColumnType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    PartitionKey,
    Clustering,
    Regular,
    Static,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::PartitionKey => "partition_key",
            Kind::Clustering => "clustering",
            Kind::Regular => "regular",
            Kind::Static => "static",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    pub frozen: bool,
    pub kind: Kind,
    /// Position within the partition key / clustering key; -1 for other columns (as in
    /// system_schema.columns).
    pub position: i32,
    pub desc: bool,
    /// Index of the cell in a row (regular and static columns); usize::MAX for key columns.
    pub slot: usize,
}

impl Column {
    pub fn is_key(&self) -> bool {
        matches!(self.kind, Kind::PartitionKey | Kind::Clustering)
    }
    pub fn type_text(&self) -> String {
        super::value::type_name(&self.ty, self.frozen)
    }
}

/// Which built-in table a system table is, so its rows can be generated on read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemTable {
    Local,
    Peers,
    PeersV2,
    SchemaKeyspaces,
    SchemaTables,
    SchemaColumns,
    SchemaDroppedColumns,
    SchemaTypes,
    SchemaFunctions,
    SchemaAggregates,
    SchemaViews,
    SchemaIndexes,
    SchemaTriggers,
    /// Rows from a registered `virtual_table::VirtualTable` (its index in registration order).
    Virtual(u16),
}

#[derive(Debug, Clone)]
pub struct TableSchema {
    pub id: Uuid,
    pub keyspace: String,
    pub name: String,
    /// In `SELECT *` order: partition key, clustering, then the others by name.
    pub columns: Vec<Column>,
    pub pk: Vec<usize>,
    pub ck: Vec<usize>,
    /// Number of cell slots (regular + static columns).
    pub slots: usize,
    pub by_name: HashMap<String, usize>,
    pub options: BTreeMap<String, OptionVal>,
    pub is_counter: bool,
    pub has_static: bool,
    pub system: Option<SystemTable>,
}

/// Amazon Keyspaces's table option, a map of maps flattened to `outer.inner` keys.
pub const CUSTOM_PROPERTIES: &str = "custom_properties";
/// Its TTL switch: `'ttl': {'status': 'enabled'}`.
pub const TTL_STATUS: &str = "ttl.status";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OptionVal {
    Text(String),
    Map(Vec<(String, String)>),
}

impl TableSchema {
    pub fn default_ttl(&self) -> i32 {
        match self.options.get("default_time_to_live") {
            Some(OptionVal::Text(s)) => s.parse().unwrap_or(0),
            _ => 0,
        }
    }
    /// Whether rows may carry a TTL on Amazon Keyspaces: its `ttl` custom property is enabled
    /// (a default_time_to_live above 0 enables it too, for good).
    pub fn ttl_enabled(&self) -> bool {
        let custom = match self.options.get(CUSTOM_PROPERTIES) {
            Some(OptionVal::Map(m)) => m.iter().any(|(k, v)| k == TTL_STATUS && v == "enabled"),
            _ => false,
        };
        custom || self.default_ttl() > 0
    }
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.keyspace, self.name)
    }
}

/// A column as declared, for building a table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnDecl {
    pub name: String,
    pub ty: String,
    pub kind: Kind,
    pub desc: bool,
    /// Cell index of a regular/static column; kept stable across ALTER TABLE so stored rows
    /// still line up. None: assigned in name order.
    #[serde(default)]
    pub slot: Option<usize>,
}

/// The persistable description of a table (types as CQL text, re-parsed on load).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableDecl {
    pub id: Uuid,
    pub keyspace: String,
    pub name: String,
    pub columns: Vec<ColumnDecl>,
    pub options: BTreeMap<String, OptionVal>,
}

pub fn parse_type_text(s: &str) -> Option<(ColumnType, bool)> {
    // Reuse the CQL parser on `CREATE TABLE x (c <type> PRIMARY KEY)`.
    let st = super::parser::parse(&format!("CREATE TABLE x (c {s} PRIMARY KEY)")).ok()?;
    match st {
        super::ast::Statement::CreateTable(ct) => ct.columns.into_iter().next().map(|c| (c.ty, c.frozen)),
        _ => None,
    }
}

impl TableSchema {
    pub fn build(decl: &TableDecl, system: Option<SystemTable>) -> Option<TableSchema> {
        let mut pk: Vec<&ColumnDecl> = Vec::new();
        let mut ck: Vec<&ColumnDecl> = Vec::new();
        let mut rest: Vec<&ColumnDecl> = Vec::new();
        for c in &decl.columns {
            match c.kind {
                Kind::PartitionKey => pk.push(c),
                Kind::Clustering => ck.push(c),
                _ => rest.push(c),
            }
        }
        rest.sort_by(|a, b| a.name.cmp(&b.name));
        let mut columns = Vec::new();
        let mut slots = rest.iter().filter_map(|c| c.slot).map(|s| s + 1).max().unwrap_or(0);
        let mut is_counter = false;
        let mut has_static = false;
        for (group, kind) in [(&pk, Kind::PartitionKey), (&ck, Kind::Clustering), (&rest, Kind::Regular)] {
            for (i, c) in group.iter().enumerate() {
                let (ty, frozen) = parse_type_text(&c.ty)?;
                let is_key = kind != Kind::Regular;
                if ty == ColumnType::Counter {
                    is_counter = true;
                }
                if c.kind == Kind::Static {
                    has_static = true;
                }
                columns.push(Column {
                    name: c.name.clone(),
                    ty,
                    frozen,
                    kind: c.kind,
                    position: if is_key { i as i32 } else { -1 },
                    desc: c.desc,
                    slot: if is_key {
                        usize::MAX
                    } else if let Some(s) = c.slot {
                        s
                    } else {
                        slots += 1;
                        slots - 1
                    },
                });
            }
        }
        let by_name = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        Some(TableSchema {
            id: decl.id,
            keyspace: decl.keyspace.clone(),
            name: decl.name.clone(),
            pk: (0..pk.len()).collect(),
            ck: (pk.len()..pk.len() + ck.len()).collect(),
            columns,
            slots,
            by_name,
            options: decl.options.clone(),
            is_counter,
            has_static,
            system,
        })
    }

    pub fn decl(&self) -> TableDecl {
        TableDecl {
            id: self.id,
            keyspace: self.keyspace.clone(),
            name: self.name.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| ColumnDecl {
                    name: c.name.clone(),
                    ty: c.type_text(),
                    kind: c.kind,
                    desc: c.desc,
                    slot: if c.is_key() { None } else { Some(c.slot) },
                })
                .collect(),
            options: self.options.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyspaceDecl {
    pub name: String,
    pub replication: Vec<(String, String)>,
    pub durable_writes: bool,
}

#[derive(Debug, Clone)]
pub struct Keyspace {
    pub decl: KeyspaceDecl,
    pub tables: BTreeMap<String, Arc<TableSchema>>,
    /// Built-in keyspaces cannot be altered or dropped.
    pub system: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub keyspaces: BTreeMap<String, Keyspace>,
    pub version: Uuid,
}

/// Defaults Cassandra 4.1 reports for a table created without options.
pub fn default_table_options() -> BTreeMap<String, OptionVal> {
    let t = |s: &str| OptionVal::Text(s.to_string());
    let m = |v: &[(&str, &str)]| OptionVal::Map(v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect());
    let mut o = BTreeMap::new();
    o.insert("additional_write_policy".into(), t("99p"));
    o.insert("bloom_filter_fp_chance".into(), t("0.01"));
    o.insert("caching".into(), m(&[("keys", "ALL"), ("rows_per_partition", "NONE")]));
    o.insert("cdc".into(), t("false"));
    o.insert("comment".into(), t(""));
    o.insert(
        "compaction".into(),
        m(&[
            ("class", "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"),
            ("max_threshold", "32"),
            ("min_threshold", "4"),
        ]),
    );
    o.insert(
        "compression".into(),
        m(&[
            ("chunk_length_in_kb", "16"),
            ("class", "org.apache.cassandra.io.compress.LZ4Compressor"),
        ]),
    );
    o.insert("crc_check_chance".into(), t("1.0"));
    o.insert("default_time_to_live".into(), t("0"));
    o.insert("extensions".into(), m(&[]));
    o.insert("gc_grace_seconds".into(), t("864000"));
    o.insert("max_index_interval".into(), t("2048"));
    o.insert("memtable".into(), t("default"));
    o.insert("memtable_flush_period_in_ms".into(), t("0"));
    o.insert("min_index_interval".into(), t("128"));
    o.insert("read_repair".into(), t("BLOCKING"));
    o.insert("speculative_retry".into(), t("99p"));
    o
}
