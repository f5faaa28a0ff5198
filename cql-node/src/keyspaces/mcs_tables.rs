//! `system_schema_mcs.keyspaces` and `system_schema_mcs.tables`: where Keyspaces clients poll a
//! new resource's `status` until it turns from CREATING to ACTIVE, and read a table's
//! `custom_properties` (whether TTL is enabled). Served as engine virtual tables, with
//! statuses from the profile's `DdlTracker`.

use std::sync::Arc;

use bytes::Bytes;

use super::ddl::DdlTracker;
use crate::engine::Engine;
use crate::engine::virtual_table::{SchemaListing, VirtualColumn, VirtualColumnKind, VirtualTable};
use crate::error::CqlResult;

pub const MCS_KEYSPACE: &str = "system_schema_mcs";

fn text(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}

/// A protocol-v4 map of (already encoded) keys and values.
fn map(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = (entries.len() as i32).to_be_bytes().to_vec();
    for (k, v) in entries {
        for part in [k, v] {
            out.extend_from_slice(&(part.len() as i32).to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

/// `custom_properties`, as Keyspaces shows it: `{'ttl': {'status': 'enabled' | 'disabled'}}`
/// (only the property the profile models).
fn custom_properties(ttl_enabled: bool) -> Option<Bytes> {
    let status = if ttl_enabled { "enabled" } else { "disabled" };
    let ttl = map(&[(b"status", status.as_bytes())]);
    Some(Bytes::from(map(&[(b"ttl", &ttl)])))
}

struct KeyspacesTable(DdlTracker);
struct TablesTable(DdlTracker);

impl VirtualTable for KeyspacesTable {
    fn keyspace(&self) -> &str {
        MCS_KEYSPACE
    }
    fn name(&self) -> &str {
        "keyspaces"
    }
    fn columns(&self) -> Vec<VirtualColumn> {
        vec![
            VirtualColumn::new("keyspace_name", "text", VirtualColumnKind::PartitionKey),
            VirtualColumn::new("status", "text", VirtualColumnKind::Regular),
        ]
    }
    fn rows(&self, schema: &SchemaListing) -> Vec<Vec<Option<Bytes>>> {
        schema.keyspaces.iter().map(|(ks, _)| vec![text(ks), text(self.0.keyspace_status(ks).as_str())]).collect()
    }
}

impl VirtualTable for TablesTable {
    fn keyspace(&self) -> &str {
        MCS_KEYSPACE
    }
    fn name(&self) -> &str {
        "tables"
    }
    fn columns(&self) -> Vec<VirtualColumn> {
        vec![
            VirtualColumn::new("keyspace_name", "text", VirtualColumnKind::PartitionKey),
            VirtualColumn::new("table_name", "text", VirtualColumnKind::Clustering),
            VirtualColumn::new("status", "text", VirtualColumnKind::Regular),
            VirtualColumn::new("custom_properties", "map<text, frozen<map<text, text>>>", VirtualColumnKind::Regular),
        ]
    }
    fn rows(&self, schema: &SchemaListing) -> Vec<Vec<Option<Bytes>>> {
        let mut rows = Vec::new();
        for (ks, tables) in &schema.keyspaces {
            for t in tables {
                let ttl = schema.ttl_enabled.contains(&(ks.clone(), t.clone()));
                rows.push(vec![text(ks), text(t), text(self.0.table_status(ks, t).as_str()), custom_properties(ttl)]);
            }
        }
        rows
    }
}

/// Adds both tables to `engine`, answering from `ddl`.
pub fn register(engine: &Engine, ddl: &DdlTracker) -> CqlResult<()> {
    engine.add_virtual_table(Arc::new(KeyspacesTable(ddl.clone())))?;
    engine.add_virtual_table(Arc::new(TablesTable(ddl.clone())))
}
