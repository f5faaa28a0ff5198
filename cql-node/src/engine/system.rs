//! The system tables drivers and cqlsh read: `system.local`, `system.peers(_v2)` from the
//! answering node's `NodeInfo`, and `system_schema.*` from the catalog, shaped as in
//! Cassandra 4.1 (SystemKeyspace.java / SchemaKeyspace.java). Rows are generated per read.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use md5::{Digest, Md5};
use uuid::Uuid;

use super::NodeInfo;
use super::schema::{
    Catalog, ColumnDecl, Keyspace, KeyspaceDecl, Kind, OptionVal, SystemTable, TableDecl, TableSchema, default_table_options,
};
use super::store::{Cell, TableData};
use super::token::{serialize_partition_key, token_of};
use super::value::{encode_collection, encode_map};

/// Cassandra's `UUID.nameUUIDFromBytes`: an MD5 (version 3) UUID, stable across restarts.
pub fn name_uuid(s: &str) -> Uuid {
    let d = Md5::digest(s.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d);
    b[6] = (b[6] & 0x0f) | 0x30;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

type Def = (&'static str, SystemTable, &'static [(&'static str, &'static str, Kind)]);

use Kind::{Clustering as C, PartitionKey as P, Regular as R};

const SYSTEM_TABLES: &[Def] = &[
    (
        "local",
        SystemTable::Local,
        &[
            ("key", "text", P),
            ("bootstrapped", "text", R),
            ("broadcast_address", "inet", R),
            ("broadcast_port", "int", R),
            ("cluster_name", "text", R),
            ("cql_version", "text", R),
            ("data_center", "text", R),
            ("gossip_generation", "int", R),
            ("host_id", "uuid", R),
            ("listen_address", "inet", R),
            ("listen_port", "int", R),
            ("native_protocol_version", "text", R),
            ("partitioner", "text", R),
            ("rack", "text", R),
            ("release_version", "text", R),
            ("rpc_address", "inet", R),
            ("rpc_port", "int", R),
            ("schema_version", "uuid", R),
            ("tokens", "set<text>", R),
            ("truncated_at", "map<uuid, blob>", R),
        ],
    ),
    (
        "peers",
        SystemTable::Peers,
        &[
            ("peer", "inet", P),
            ("data_center", "text", R),
            ("host_id", "uuid", R),
            ("preferred_ip", "inet", R),
            ("rack", "text", R),
            ("release_version", "text", R),
            ("rpc_address", "inet", R),
            ("schema_version", "uuid", R),
            ("tokens", "set<text>", R),
        ],
    ),
    (
        "peers_v2",
        SystemTable::PeersV2,
        &[
            ("peer", "inet", P),
            ("peer_port", "int", C),
            ("data_center", "text", R),
            ("host_id", "uuid", R),
            ("native_address", "inet", R),
            ("native_port", "int", R),
            ("preferred_ip", "inet", R),
            ("preferred_port", "int", R),
            ("rack", "text", R),
            ("release_version", "text", R),
            ("schema_version", "uuid", R),
            ("tokens", "set<text>", R),
        ],
    ),
];

const TABLE_OPTION_COLUMNS: &[(&str, &str, Kind)] = &[
    ("additional_write_policy", "text", R),
    ("bloom_filter_fp_chance", "double", R),
    ("caching", "frozen<map<text, text>>", R),
    ("cdc", "boolean", R),
    ("comment", "text", R),
    ("compaction", "frozen<map<text, text>>", R),
    ("compression", "frozen<map<text, text>>", R),
    ("crc_check_chance", "double", R),
    ("dclocal_read_repair_chance", "double", R),
    ("default_time_to_live", "int", R),
    ("extensions", "frozen<map<text, blob>>", R),
    ("gc_grace_seconds", "int", R),
    ("id", "uuid", R),
    ("max_index_interval", "int", R),
    ("memtable", "text", R),
    ("memtable_flush_period_in_ms", "int", R),
    ("min_index_interval", "int", R),
    ("read_repair", "text", R),
    ("read_repair_chance", "double", R),
    ("speculative_retry", "text", R),
];

/// A system_schema table: its name, its handle and its columns (name, CQL type, kind).
type SchemaTable = (&'static str, SystemTable, Vec<(&'static str, &'static str, Kind)>);

fn schema_tables() -> Vec<SchemaTable> {
    let mut tables = vec![
        ("keyspace_name", "text", P),
        ("table_name", "text", C),
        ("flags", "frozen<set<text>>", R),
    ];
    tables.extend_from_slice(TABLE_OPTION_COLUMNS);
    let mut views = vec![
        ("keyspace_name", "text", P),
        ("view_name", "text", C),
        ("base_table_id", "uuid", R),
        ("base_table_name", "text", R),
        ("include_all_columns", "boolean", R),
        ("where_clause", "text", R),
    ];
    views.extend_from_slice(TABLE_OPTION_COLUMNS);
    vec![
        (
            "keyspaces",
            SystemTable::SchemaKeyspaces,
            vec![
                ("keyspace_name", "text", P),
                ("durable_writes", "boolean", R),
                ("replication", "frozen<map<text, text>>", R),
            ],
        ),
        ("tables", SystemTable::SchemaTables, tables),
        (
            "columns",
            SystemTable::SchemaColumns,
            vec![
                ("keyspace_name", "text", P),
                ("table_name", "text", C),
                ("column_name", "text", C),
                ("clustering_order", "text", R),
                ("column_name_bytes", "blob", R),
                ("kind", "text", R),
                ("position", "int", R),
                ("type", "text", R),
            ],
        ),
        (
            "dropped_columns",
            SystemTable::SchemaDroppedColumns,
            vec![
                ("keyspace_name", "text", P),
                ("table_name", "text", C),
                ("column_name", "text", C),
                ("dropped_time", "timestamp", R),
                ("kind", "text", R),
                ("type", "text", R),
            ],
        ),
        (
            "triggers",
            SystemTable::SchemaTriggers,
            vec![
                ("keyspace_name", "text", P),
                ("table_name", "text", C),
                ("trigger_name", "text", C),
                ("options", "frozen<map<text, text>>", R),
            ],
        ),
        ("views", SystemTable::SchemaViews, views),
        (
            "types",
            SystemTable::SchemaTypes,
            vec![
                ("keyspace_name", "text", P),
                ("type_name", "text", C),
                ("field_names", "frozen<list<text>>", R),
                ("field_types", "frozen<list<text>>", R),
            ],
        ),
        (
            "functions",
            SystemTable::SchemaFunctions,
            vec![
                ("keyspace_name", "text", P),
                ("function_name", "text", C),
                ("argument_types", "frozen<list<text>>", C),
                ("argument_names", "frozen<list<text>>", R),
                ("body", "text", R),
                ("called_on_null_input", "boolean", R),
                ("language", "text", R),
                ("return_type", "text", R),
            ],
        ),
        (
            "aggregates",
            SystemTable::SchemaAggregates,
            vec![
                ("keyspace_name", "text", P),
                ("aggregate_name", "text", C),
                ("argument_types", "frozen<list<text>>", C),
                ("final_func", "text", R),
                ("initcond", "text", R),
                ("return_type", "text", R),
                ("state_func", "text", R),
                ("state_type", "text", R),
            ],
        ),
        (
            "indexes",
            SystemTable::SchemaIndexes,
            vec![
                ("keyspace_name", "text", P),
                ("table_name", "text", C),
                ("index_name", "text", C),
                ("kind", "text", R),
                ("options", "frozen<map<text, text>>", R),
            ],
        ),
    ]
}

fn build_table(ks: &str, name: &str, st: SystemTable, cols: &[(&str, &str, Kind)], comment: &str) -> Arc<TableSchema> {
    let mut options = default_table_options();
    options.insert("comment".into(), OptionVal::Text(comment.into()));
    options.insert("gc_grace_seconds".into(), OptionVal::Text("0".into()));
    let decl = TableDecl {
        id: name_uuid(&format!("{ks}{name}")),
        keyspace: ks.into(),
        name: name.into(),
        columns: cols
            .iter()
            .map(|(n, t, k)| ColumnDecl {
                name: (*n).into(),
                ty: (*t).into(),
                kind: *k,
                desc: false,
                slot: None,
            })
            .collect(),
        options,
    };
    // The definitions above are fixed and valid; a failure here is a bug caught by tests.
    Arc::new(TableSchema::build(&decl, Some(st)).unwrap_or_else(|| panic!("invalid system table {ks}.{name}")))
}

/// The built-in keyspaces, with the replication Cassandra 4.1 reports for them.
pub fn system_keyspaces() -> Vec<Keyspace> {
    let ks = |name: &str, repl: &[(&str, &str)], tables: BTreeMap<String, Arc<TableSchema>>| Keyspace {
        decl: KeyspaceDecl {
            name: name.into(),
            replication: repl.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect(),
            durable_writes: true,
        },
        tables,
        system: true,
    };
    let local = [("class", "org.apache.cassandra.locator.LocalStrategy")];
    let mut system = BTreeMap::new();
    for (name, st, cols) in SYSTEM_TABLES {
        let comment = match st {
            SystemTable::Local => "information about the local node",
            SystemTable::Peers => "information about known peers in the cluster",
            _ => "information about known peers in the cluster",
        };
        system.insert((*name).to_string(), build_table("system", name, *st, cols, comment));
    }
    let mut schema = BTreeMap::new();
    for (name, st, cols) in schema_tables() {
        schema.insert(
            name.to_string(),
            build_table("system_schema", name, st, &cols, &format!("{name} definitions")),
        );
    }
    vec![
        ks("system", &local, system),
        ks(
            "system_auth",
            &[
                ("class", "org.apache.cassandra.locator.SimpleStrategy"),
                ("replication_factor", "1"),
            ],
            BTreeMap::new(),
        ),
        ks(
            "system_distributed",
            &[
                ("class", "org.apache.cassandra.locator.SimpleStrategy"),
                ("replication_factor", "3"),
            ],
            BTreeMap::new(),
        ),
        ks("system_schema", &local, schema),
        ks(
            "system_traces",
            &[
                ("class", "org.apache.cassandra.locator.SimpleStrategy"),
                ("replication_factor", "2"),
            ],
            BTreeMap::new(),
        ),
    ]
}

fn text(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}
fn int(v: i32) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(&v.to_be_bytes()))
}
fn boolean(v: bool) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(&[v as u8]))
}
fn uuid(u: &Uuid) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(u.as_bytes()))
}
fn inet(a: &IpAddr) -> Option<Bytes> {
    Some(match a {
        IpAddr::V4(v) => Bytes::copy_from_slice(&v.octets()),
        IpAddr::V6(v) => Bytes::copy_from_slice(&v.octets()),
    })
}
fn double(s: &str) -> Option<Bytes> {
    s.parse::<f64>().ok().map(|f| Bytes::copy_from_slice(&f.to_be_bytes()))
}
fn text_set(items: &[String]) -> Option<Bytes> {
    let mut v: Vec<Bytes> = items.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect();
    v.sort();
    v.dedup();
    Some(encode_collection(v.iter()))
}
fn text_map(items: &[(String, String)]) -> Option<Bytes> {
    let mut v: Vec<(Bytes, Bytes)> = items
        .iter()
        .map(|(a, b)| (Bytes::copy_from_slice(a.as_bytes()), Bytes::copy_from_slice(b.as_bytes())))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    Some(encode_map(v.iter().map(|(a, b)| (a, b))))
}

type RowVals = HashMap<&'static str, Option<Bytes>>;

fn insert(t: &TableSchema, data: &mut TableData, vals: &RowVals) {
    let get = |name: &str| vals.get(name).cloned().flatten().unwrap_or_default();
    let pk: Vec<Bytes> = t.pk.iter().map(|i| get(&t.columns[*i].name)).collect();
    let refs: Vec<&[u8]> = pk.iter().map(|b| &b[..]).collect();
    let key = Bytes::from(serialize_partition_key(&refs));
    let token = token_of(&key);
    let ck: Vec<Bytes> = t.ck.iter().map(|i| get(&t.columns[*i].name)).collect();
    let p = data
        .partitions
        .entry((token, key.clone()))
        .or_default();
    p.row_mut(t, &ck).update(|row| {
        row.marker = Some(Cell {
            ts: 0,
            expire: 0,
            ttl: 0,
            value: Some(Bytes::new()),
        });
        for c in t.columns.iter().filter(|c| !c.is_key()) {
            if let Some(Some(v)) = vals.get(c.name.as_str()) {
                let cell = Cell {
                    ts: 0,
                    expire: 0,
                    ttl: 0,
                    value: Some(v.clone()),
                };
                row.set(c.slot, Some(cell));
            }
        }
    });
}

fn table_rows(target: &TableSchema, t: &TableSchema, out: &mut TableData) {
    let opt_text = |k: &str| match t.options.get(k) {
        Some(OptionVal::Text(s)) => s.clone(),
        _ => String::new(),
    };
    let opt_map = |k: &str| match t.options.get(k) {
        Some(OptionVal::Map(m)) => m.clone(),
        _ => vec![],
    };
    let int_opt = |k: &str| opt_text(k).parse::<i32>().ok().and_then(int);
    let mut flags = vec!["compound".to_string()];
    if t.is_counter {
        flags.push("counter".into());
    }
    let mut r: RowVals = HashMap::new();
    r.insert("keyspace_name", text(&t.keyspace));
    r.insert("table_name", text(&t.name));
    r.insert("additional_write_policy", text(&opt_text("additional_write_policy")));
    r.insert("bloom_filter_fp_chance", double(&opt_text("bloom_filter_fp_chance")));
    r.insert("caching", text_map(&opt_map("caching")));
    // Cassandra writes `cdc` only for tables with CDC enabled; otherwise it reads as null.
    if opt_text("cdc") == "true" {
        r.insert("cdc", boolean(true));
    }
    r.insert("comment", text(&opt_text("comment")));
    r.insert("compaction", text_map(&opt_map("compaction")));
    r.insert("compression", text_map(&opt_map("compression")));
    r.insert("crc_check_chance", double(&opt_text("crc_check_chance")));
    r.insert("dclocal_read_repair_chance", double("0.0"));
    r.insert("default_time_to_live", int_opt("default_time_to_live"));
    r.insert("extensions", text_map(&opt_map("extensions")));
    r.insert("flags", text_set(&flags));
    r.insert("gc_grace_seconds", int_opt("gc_grace_seconds"));
    r.insert("id", uuid(&t.id));
    r.insert("max_index_interval", int_opt("max_index_interval"));
    r.insert("memtable", text(&opt_text("memtable")));
    r.insert("memtable_flush_period_in_ms", int_opt("memtable_flush_period_in_ms"));
    r.insert("min_index_interval", int_opt("min_index_interval"));
    r.insert("read_repair", text(&opt_text("read_repair")));
    r.insert("read_repair_chance", double("0.0"));
    r.insert("speculative_retry", text(&opt_text("speculative_retry")));
    insert(target, out, &r);
}

/// Materialises the rows of system table `t` as seen by `node`.
pub fn generate(t: &Arc<TableSchema>, st: SystemTable, catalog: &Catalog, node: &NodeInfo) -> TableData {
    let mut out = TableData::default();
    let version = catalog.version;
    match st {
        SystemTable::Local => {
            let mut r: RowVals = HashMap::new();
            r.insert("key", text("local"));
            r.insert("bootstrapped", text("COMPLETED"));
            r.insert("broadcast_address", inet(&node.address));
            r.insert("broadcast_port", int(7000));
            r.insert("cluster_name", text(&node.cluster_name));
            r.insert("cql_version", text("3.4.6"));
            r.insert("data_center", text(&node.data_center));
            r.insert("gossip_generation", int(1));
            r.insert("host_id", uuid(&node.host_id));
            r.insert("listen_address", inet(&node.address));
            r.insert("listen_port", int(7000));
            r.insert("native_protocol_version", text("4"));
            r.insert("partitioner", text(&node.partitioner));
            r.insert("rack", text(&node.rack));
            r.insert("release_version", text(&node.release_version));
            r.insert("rpc_address", inet(&node.address));
            r.insert("rpc_port", int(node.native_port as i32));
            r.insert("schema_version", uuid(&version));
            r.insert("tokens", text_set(&node.tokens.iter().map(|t| t.to_string()).collect::<Vec<_>>()));
            insert(t, &mut out, &r);
        }
        SystemTable::Peers | SystemTable::PeersV2 => {
            for p in &node.peers {
                let mut r: RowVals = HashMap::new();
                r.insert("peer", inet(&p.address));
                r.insert("peer_port", int(7000));
                r.insert("data_center", text(&p.data_center));
                r.insert("host_id", uuid(&p.host_id));
                r.insert("rack", text(&p.rack));
                r.insert("release_version", text(&p.release_version));
                r.insert("rpc_address", inet(&p.address));
                r.insert("native_address", inet(&p.address));
                r.insert("native_port", int(p.native_port as i32));
                r.insert("schema_version", uuid(&version));
                r.insert("tokens", text_set(&p.tokens.iter().map(|t| t.to_string()).collect::<Vec<_>>()));
                insert(t, &mut out, &r);
            }
        }
        SystemTable::SchemaKeyspaces => {
            for ks in catalog.keyspaces.values() {
                let mut r: RowVals = HashMap::new();
                r.insert("keyspace_name", text(&ks.decl.name));
                r.insert("durable_writes", boolean(ks.decl.durable_writes));
                r.insert("replication", text_map(&ks.decl.replication));
                insert(t, &mut out, &r);
            }
        }
        SystemTable::SchemaTables => {
            for ks in catalog.keyspaces.values() {
                for tb in ks.tables.values() {
                    table_rows(t, tb, &mut out);
                }
            }
        }
        SystemTable::SchemaColumns => {
            for ks in catalog.keyspaces.values() {
                for tb in ks.tables.values() {
                    for c in &tb.columns {
                        let mut r: RowVals = HashMap::new();
                        r.insert("keyspace_name", text(&tb.keyspace));
                        r.insert("table_name", text(&tb.name));
                        r.insert("column_name", text(&c.name));
                        r.insert(
                            "clustering_order",
                            text(match c.kind {
                                Kind::Clustering if c.desc => "desc",
                                Kind::Clustering => "asc",
                                _ => "none",
                            }),
                        );
                        r.insert("column_name_bytes", Some(Bytes::copy_from_slice(c.name.as_bytes())));
                        r.insert("kind", text(c.kind.name()));
                        r.insert("position", int(c.position));
                        r.insert("type", text(&c.type_text()));
                        insert(t, &mut out, &r);
                    }
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_tables_build() {
        let kss = system_keyspaces();
        let names: Vec<&str> = kss.iter().map(|k| k.decl.name.as_str()).collect();
        assert_eq!(
            names,
            ["system", "system_auth", "system_distributed", "system_schema", "system_traces"]
        );
        let schema = &kss[3];
        for t in [
            "keyspaces",
            "tables",
            "columns",
            "types",
            "functions",
            "aggregates",
            "views",
            "indexes",
            "triggers",
        ] {
            assert!(schema.tables.contains_key(t), "{t}");
        }
        let cols = &schema.tables["columns"];
        let names: Vec<&str> = cols.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "keyspace_name",
                "table_name",
                "column_name",
                "clustering_order",
                "column_name_bytes",
                "kind",
                "position",
                "type"
            ]
        );
    }
}
