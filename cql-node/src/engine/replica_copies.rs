//! Reading per-node copies of a table (multi-node mode): the copies a read contacts are merged
//! partition by partition, last write wins on cell timestamps and tombstones shadow what they
//! cover, as Cassandra's coordinator resolves replica answers (`DataResolver`); then, for
//! blocking read repair, the merge goes back to the contacted copies that differ.
//!
//! Only the store's own methods write (`Partition::delete`, `RowCells::delete`, `write_marker`,
//! `write_cell`), so the merge follows the store's last-write-wins rules wherever they live.

use std::collections::HashMap;
use std::ops::Bound;

use bytes::Bytes;
use uuid::Uuid;

use super::schema::TableSchema;
use super::store::{Partition, Row, TableData};

/// Merges `from` into `into` (both the same partition).
pub(crate) fn merge_partition(schema: &TableSchema, into: &mut Partition, from: &Partition) {
    if from.deleted_at > into.deleted_at {
        into.delete(from.deleted_at);
    }
    let pdel = into.deleted_at;
    if let Some(statics) = &from.statics {
        merge_row(into.statics_mut(), statics, pdel);
    }
    for r in &from.rows {
        // A row wholly shadowed by the partition's deletion adds nothing.
        if r.deleted_at() <= pdel && r.marker().is_none_or(|m| m.ts <= pdel) && r.cells().all(|(_, c)| c.ts <= pdel) {
            continue;
        }
        merge_row(into.row_mut(schema, &r.ck.to_vec()), r, pdel);
    }
}

fn merge_row(into: &mut Row, from: &Row, pdel: i64) {
    let from = from.contents();
    into.update(|cells| {
        if from.deleted_at > cells.deleted_at {
            cells.delete(from.deleted_at);
        }
        if let Some(m) = from.marker {
            cells.write_marker(m, pdel);
        }
        for (slot, c) in from.cells.into_iter().enumerate().filter_map(|(slot, c)| Some((slot, c?))) {
            cells.write_cell(slot, c, pdel);
        }
    });
}

fn merge_in(schema: &TableSchema, out: &mut TableData, slot: &(i64, Bytes), p: &Partition) {
    match out.partitions.get_mut(slot) {
        Some(existing) => merge_partition(schema, existing, p),
        None => {
            out.partitions.insert(slot.clone(), p.clone());
        }
    }
}

/// The partitions at `token` in one table's data.
fn at_token(td: &TableData, token: i64) -> impl Iterator<Item = (&(i64, Bytes), &Partition)> {
    td.partitions.range((Bound::Included((token, Bytes::new())), Bound::Unbounded)).take_while(move |((t, _), _)| *t == token)
}

/// The merged view of `schema`'s table over the copies `read` names for each partition:
/// only the partitions at `tokens` when given (reads with a partition key), else every
/// partition of every copy that `read` names for its token (range reads).
pub(crate) fn gather(copies: &[HashMap<Uuid, TableData>], schema: &TableSchema, tokens: Option<&[i64]>, read: &dyn Fn(i64) -> Vec<usize>) -> TableData {
    let mut out = TableData::default();
    let table = |c: usize| copies.get(c).and_then(|m| m.get(&schema.id));
    match tokens {
        Some(tokens) => {
            let mut seen: Vec<i64> = Vec::with_capacity(tokens.len());
            for &t in tokens {
                if seen.contains(&t) {
                    continue;
                }
                seen.push(t);
                for c in read(t) {
                    let Some(td) = table(c) else { continue };
                    for (slot, p) in at_token(td, t) {
                        merge_in(schema, &mut out, slot, p);
                    }
                }
            }
        }
        None => {
            // Which copies a token's partitions come from, asked once per token.
            let mut asked: HashMap<i64, Vec<usize>> = HashMap::new();
            for (c, store) in copies.iter().enumerate() {
                let Some(td) = store.get(&schema.id) else { continue };
                for (slot, p) in &td.partitions {
                    if asked.entry(slot.0).or_insert_with(|| read(slot.0)).contains(&c) {
                        merge_in(schema, &mut out, slot, p);
                    }
                }
            }
        }
    }
    out
}

/// Blocking read repair: every contacted copy whose partition differs from the merged one
/// gets the merge. Returns how many partition copies were repaired.
pub(crate) fn repair(copies: &mut [HashMap<Uuid, TableData>], schema: &TableSchema, merged: &TableData, read: &dyn Fn(i64) -> Vec<usize>) -> usize {
    let mut repaired = 0;
    for (slot, p) in &merged.partitions {
        for c in read(slot.0) {
            let Some(td) = copies.get_mut(c).and_then(|m| m.get_mut(&schema.id)) else { continue };
            match td.partitions.get_mut(slot) {
                Some(mine) if mine == p => {}
                Some(mine) => {
                    merge_partition(schema, mine, p);
                    repaired += 1;
                }
                None => {
                    td.partitions.insert(slot.clone(), p.clone());
                    repaired += 1;
                }
            }
        }
    }
    repaired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::store::{Cell, Ck, NO_DELETION, RowCells};

    fn cell(ts: i64, v: &str) -> Option<Cell> {
        Some(Cell { ts, expire: 0, ttl: 0, value: Some(Bytes::from(v.to_string())) })
    }

    fn partition(cells: Vec<Option<Cell>>, deleted_at: i64) -> Partition {
        let mut p = Partition::new();
        p.deleted_at = deleted_at;
        p.rows.push(Row::from_cells(Ck::default(), &RowCells { marker: None, deleted_at: NO_DELETION, cells }));
        p
    }

    #[test]
    fn the_newest_cell_wins_and_a_partition_tombstone_shadows_older_cells() {
        use crate::engine::schema::{ColumnDecl, Kind, TableDecl, TableSchema};
        let column = |name: &str, kind| ColumnDecl { name: name.into(), ty: "text".into(), kind, desc: false, slot: None };
        let decl = TableDecl {
            id: Uuid::nil(),
            keyspace: "ks".into(),
            name: "kv".into(),
            columns: vec![column("k", Kind::PartitionKey), column("v", Kind::Regular)],
            options: Default::default(),
        };
        let schema = TableSchema::build(&decl, None).expect("a key-value table");
        let mut a = partition(vec![cell(10, "old")], NO_DELETION);
        merge_partition(&schema, &mut a, &partition(vec![cell(20, "new")], NO_DELETION));
        assert_eq!(a.rows[0].contents().cells[0], cell(20, "new"));
        merge_partition(&schema, &mut a, &partition(vec![cell(15, "older")], NO_DELETION));
        assert_eq!(a.rows[0].contents().cells[0], cell(20, "new"), "an older copy changes nothing");
        let mut deleted = Partition::new();
        deleted.delete(30);
        merge_partition(&schema, &mut a, &deleted);
        assert!(a.rows.iter().all(|r| r.cells().next().is_none()), "shadowed by the tombstone");
    }
}
