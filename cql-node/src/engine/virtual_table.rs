//! Virtual tables: read-only tables whose rows a component outside the engine computes at each
//! read (e.g. the Keyspaces profile's `system_schema_mcs.*`, whose CREATING/ACTIVE state lives
//! in that profile). Registered with `Engine::add_virtual_table`; served like the built-in
//! system tables (same SELECT machinery, writes refused), listed in `system_schema`.

use std::sync::Arc;

use bytes::Bytes;

use super::schema::{Catalog, ColumnDecl, Kind, TableDecl, TableSchema, default_table_options};
use super::store::{Cell, TableData};
use super::system::name_uuid;
use super::token::{serialize_partition_key, token_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtualColumnKind {
    PartitionKey,
    Clustering,
    Regular,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualColumn {
    pub name: String,
    /// The column's CQL type as written in CREATE TABLE (`text`, `map<text, text>`...).
    pub cql_type: String,
    pub kind: VirtualColumnKind,
}

impl VirtualColumn {
    pub fn new(name: &str, cql_type: &str, kind: VirtualColumnKind) -> Self {
        Self { name: name.into(), cql_type: cql_type.into(), kind }
    }
}

/// The user keyspaces and their tables at the time of a read, for providers that describe them.
#[derive(Debug, Clone, Default)]
pub struct SchemaListing {
    pub keyspaces: Vec<(String, Vec<String>)>,
    /// (keyspace, table) of the tables whose rows may carry a TTL on Keyspaces.
    pub ttl_enabled: std::collections::BTreeSet<(String, String)>,
}

pub trait VirtualTable: Send + Sync + 'static {
    fn keyspace(&self) -> &str;
    fn name(&self) -> &str;
    /// Fixed for the table's life.
    fn columns(&self) -> Vec<VirtualColumn>;
    /// The rows now: one value per column, in `columns()` order, already in protocol encoding
    /// (`None` is null; key columns must not be null).
    fn rows(&self, schema: &SchemaListing) -> Vec<Vec<Option<Bytes>>>;
}

/// The engine-side schema of a provider's table (None when its types do not parse).
pub(crate) fn table_schema(table: &dyn VirtualTable, index: u16) -> Option<TableSchema> {
    let kind = |k: VirtualColumnKind| match k {
        VirtualColumnKind::PartitionKey => Kind::PartitionKey,
        VirtualColumnKind::Clustering => Kind::Clustering,
        VirtualColumnKind::Regular => Kind::Regular,
    };
    let decl = TableDecl {
        id: name_uuid(&format!("{}{}", table.keyspace(), table.name())),
        keyspace: table.keyspace().into(),
        name: table.name().into(),
        columns: table.columns().into_iter().map(|c| ColumnDecl { name: c.name, ty: c.cql_type, kind: kind(c.kind), desc: false, slot: None }).collect(),
        options: default_table_options(),
    };
    TableSchema::build(&decl, Some(super::schema::SystemTable::Virtual(index)))
}

/// Materialises a provider's rows for one read.
pub(crate) fn generate(t: &TableSchema, provider: &Arc<dyn VirtualTable>, catalog: &Catalog) -> TableData {
    let listing = SchemaListing {
        keyspaces: catalog
            .keyspaces
            .values()
            .filter(|k| !k.system)
            .map(|k| (k.decl.name.clone(), k.tables.keys().cloned().collect()))
            .collect(),
        ttl_enabled: catalog
            .keyspaces
            .values()
            .filter(|k| !k.system)
            .flat_map(|k| k.tables.values().filter(|t| t.ttl_enabled()).map(|t| (t.keyspace.clone(), t.name.clone())))
            .collect(),
    };
    let names: Vec<String> = provider.columns().into_iter().map(|c| c.name).collect();
    let mut out = TableData::default();
    for values in provider.rows(&listing) {
        let get = |name: &str| names.iter().position(|n| n == name).and_then(|i| values.get(i).cloned().flatten());
        let pk: Vec<Bytes> = t.pk.iter().map(|i| get(&t.columns[*i].name).unwrap_or_default()).collect();
        let refs: Vec<&[u8]> = pk.iter().map(|b| &b[..]).collect();
        let key = Bytes::from(serialize_partition_key(&refs));
        let token = token_of(&key);
        let ck: Vec<Bytes> = t.ck.iter().map(|i| get(&t.columns[*i].name).unwrap_or_default()).collect();
        let p = out.partitions.entry((token, key)).or_default();
        p.row_mut(t, &ck).update(|row| {
            row.marker = Some(Cell { ts: 0, expire: 0, ttl: 0, value: Some(Bytes::new()) });
            for c in t.columns.iter().filter(|c| !c.is_key()) {
                if let Some(v) = get(&c.name) {
                    row.set(c.slot, Some(Cell { ts: 0, expire: 0, ttl: 0, value: Some(v) }));
                }
            }
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::H;

    /// Lists every user table with a fixed status, as a profile would.
    struct Listing;

    impl VirtualTable for Listing {
        fn keyspace(&self) -> &str {
            "virtual_ks"
        }
        fn name(&self) -> &str {
            "tables"
        }
        fn columns(&self) -> Vec<VirtualColumn> {
            vec![
                VirtualColumn::new("keyspace_name", "text", VirtualColumnKind::PartitionKey),
                VirtualColumn::new("table_name", "text", VirtualColumnKind::Clustering),
                VirtualColumn::new("status", "text", VirtualColumnKind::Regular),
            ]
        }
        fn rows(&self, schema: &SchemaListing) -> Vec<Vec<Option<Bytes>>> {
            let t = |s: &str| Some(Bytes::copy_from_slice(s.as_bytes()));
            schema.keyspaces.iter().flat_map(|(ks, tables)| tables.iter().map(move |tb| vec![t(ks), t(tb), t("ACTIVE")])).collect()
        }
    }

    #[test]
    fn rows_are_computed_at_each_read_and_writes_are_refused() {
        let mut h = H::new();
        h.e.add_virtual_table(Arc::new(Listing)).unwrap();
        h.setup();
        assert_eq!(h.rows("SELECT * FROM virtual_ks.tables").rows.len(), 0);
        h.ok("CREATE TABLE a (k int PRIMARY KEY)");
        h.ok("CREATE TABLE b (k int PRIMARY KEY)");
        let rows = h.rows("SELECT table_name, status FROM virtual_ks.tables WHERE keyspace_name = 'ks' AND table_name = 'b'");
        assert_eq!(rows.rows, vec![vec![Some(Bytes::from_static(b"b")), Some(Bytes::from_static(b"ACTIVE"))]]);
        assert_eq!(h.rows("SELECT * FROM virtual_ks.tables").rows.len(), 2);
        assert!(h.run("INSERT INTO virtual_ks.tables (keyspace_name, table_name, status) VALUES ('x', 'y', 'z')").is_err());
        // Listed in system_schema like any table, and registering again replaces the provider.
        let listed = h.rows("SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'virtual_ks'");
        assert_eq!(listed.rows.len(), 1);
        h.e.add_virtual_table(Arc::new(Listing)).unwrap();
        assert_eq!(h.rows("SELECT * FROM virtual_ks.tables").rows.len(), 2);
    }
}
