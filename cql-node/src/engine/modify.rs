//! INSERT / UPDATE / DELETE execution: cells with timestamps and TTLs, tombstones, counters,
//! collection operations, and lightweight-transaction conditions checked and applied under
//! the caller's write lock (so they are linearizable per partition).

use std::cmp::Ordering;

use bytes::Bytes;

use super::ast::Op;
use super::eval::{Env, Val, eval, eval_restr, eval_restr_nullable};
use super::plan::{ColOp, CondPlan, KeyRestr, ModifyPlan};
use super::schema::{Kind, TableSchema};
use super::select::{column_value, value_matches};
use super::store::{Cell, Partition, Row, TableData, compare_prefix};
use super::token::{serialize_partition_key, split_partition_key, token_of};
use super::value::{compare, decode_collection, decode_map, encode_collection, encode_map, normalize_map, normalize_set};
use super::{ColumnSpec, Rows};
use crate::error::{CqlError, CqlResult};
use crate::types::ColumnType;

pub const MAX_TTL: i64 = 630_720_000;

/// A row or partition header a write touched, for the journal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Touched {
    pub table: uuid::Uuid,
    pub token: i64,
    pub key: Bytes,
    /// None: the partition header (deletion time and static cells).
    pub ck: Option<Vec<Bytes>>,
}

/// One write target: a partition key and the clustering prefix it addresses.
pub struct Target {
    pub token: i64,
    pub key: Bytes,
    pub ck: Vec<Bytes>,
}

/// A list cell after an element was set or removed: an emptied list is no cell at all, as in
/// Cassandra.
fn list_cell(items: &[Bytes]) -> Option<Bytes> {
    if items.is_empty() { None } else { Some(encode_collection(items.iter())) }
}

/// Every combination of one value per key component (`IN` on several components), in order.
pub(crate) fn cartesian(parts: Vec<Vec<Bytes>>) -> Vec<Vec<Bytes>> {
    let mut acc: Vec<Vec<Bytes>> = vec![vec![]];
    for c in parts {
        let mut next = Vec::with_capacity(acc.len() * c.len());
        for prefix in &acc {
            for v in &c {
                let mut p = prefix.clone();
                p.push(v.clone());
                next.push(p);
            }
        }
        acc = next;
    }
    acc
}

pub fn targets(plan: &ModifyPlan, env: &Env<'_>) -> CqlResult<Vec<Target>> {
    let t = &*plan.table;
    let mut pk_parts = Vec::new();
    for (i, r) in plan.pk.iter().enumerate() {
        let vals = eval_restr(r, env, &t.columns[t.pk[i]].name)?;
        // Cassandra refuses an empty partition key (a single empty component).
        if t.pk.len() == 1 && vals.iter().any(|v| v.is_empty()) {
            return Err(CqlError::invalid("Key may not be empty"));
        }
        if vals.iter().map(|v| v.len()).sum::<usize>() > 65535 {
            return Err(CqlError::invalid("Key length of 65536 is longer than maximum of 65535"));
        }
        pk_parts.push(vals);
    }
    let mut ck_parts = Vec::new();
    for (i, r) in plan.ck.iter().enumerate() {
        ck_parts.push(eval_restr(r, env, &t.columns[t.ck[i]].name)?);
    }
    let keys = cartesian(pk_parts);
    let cks = cartesian(ck_parts);
    let mut out = Vec::with_capacity(keys.len() * cks.len());
    for k in keys {
        let refs: Vec<&[u8]> = k.iter().map(|b| &b[..]).collect();
        let key = Bytes::from(serialize_partition_key(&refs));
        let token = token_of(&key);
        for ck in &cks {
            out.push(Target {
                token,
                key: key.clone(),
                ck: ck.clone(),
            });
        }
    }
    Ok(out)
}

pub fn eval_ttl(plan: &ModifyPlan, env: &Env<'_>) -> CqlResult<i32> {
    match &plan.ttl {
        None => Ok(plan.table.default_ttl()),
        Some(e) => match eval(e, env)? {
            Val::V(b) if b.len() == 4 => {
                let v = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                if v < 0 {
                    return Err(CqlError::invalid(format!("A TTL must be greater or equal to 0, but was {v}")));
                }
                if v as i64 > MAX_TTL {
                    return Err(CqlError::invalid(format!("ttl is too large. requested ({v}) maximum ({MAX_TTL})")));
                }
                Ok(v)
            }
            Val::Unset => Ok(plan.table.default_ttl()),
            Val::Null => Ok(0),
            _ => Err(CqlError::invalid("Invalid TTL value")),
        },
    }
}

pub fn eval_timestamp(plan: &ModifyPlan, env: &Env<'_>) -> CqlResult<Option<i64>> {
    match &plan.timestamp {
        None => Ok(None),
        Some(e) => match eval(e, env)? {
            Val::V(b) if b.len() == 8 => {
                let v = i64::from_be_bytes(b[..].try_into().unwrap_or([0; 8]));
                if v == i64::MIN {
                    return Err(CqlError::invalid("Invalid timestamp value"));
                }
                Ok(Some(v))
            }
            Val::Unset => Ok(None),
            _ => Err(CqlError::invalid("Invalid null value of timestamp")),
        },
    }
}

/// Everything a write needs besides the plan and the store.
pub struct WriteCtx<'a> {
    pub env: &'a Env<'a>,
    pub ts: i64,
    pub ttl: i32,
    pub now_secs: i64,
}

fn live_value(row: &Row, slot: usize, now: i64) -> Option<Bytes> {
    row.cells.get(slot)?.as_ref()?.live_value(now).cloned()
}

fn list_items(v: Option<Bytes>) -> Vec<Bytes> {
    v.and_then(|b| decode_collection(&b))
        .map(|x| x.into_iter().flatten().collect())
        .unwrap_or_default()
}

fn map_items(v: Option<Bytes>) -> Vec<(Bytes, Bytes)> {
    v.and_then(|b| decode_map(&b))
        .map(|x| x.into_iter().filter_map(|(k, v)| Some((k, v?))).collect())
        .unwrap_or_default()
}

/// Applies the column operations to one row (or the partition's static row).
fn apply_ops(t: &TableSchema, plan: &ModifyPlan, row: &mut Row, pdel: i64, statics: bool, w: &WriteCtx<'_>) -> CqlResult<()> {
    let expire = if w.ttl > 0 { w.now_secs + w.ttl as i64 } else { 0 };
    let cell = |v: Option<Bytes>, ttl_applies: bool| Cell {
        ts: w.ts,
        expire: if ttl_applies && v.is_some() { expire } else { 0 },
        ttl: if ttl_applies && v.is_some() { w.ttl } else { 0 },
        value: v,
    };
    for op in &plan.ops {
        let slot = match op {
            ColOp::Set(s, _)
            | ColOp::Add(s, _)
            | ColOp::Sub(s, _)
            | ColOp::Prepend(s, _)
            | ColOp::SetElem(s, _, _)
            | ColOp::Delete(s)
            | ColOp::DeleteElem(s, _) => *s,
        };
        let col = match t.columns.iter().find(|c| c.slot == slot && !c.is_key()) {
            Some(c) => c,
            None => continue,
        };
        if (col.kind == Kind::Static) != statics {
            continue;
        }
        let ty = &col.ty;
        let current = || live_value(row, slot, w.now_secs);
        let new_value: Option<Option<Bytes>> = match op {
            ColOp::Set(_, e) => match eval(e, w.env)? {
                Val::Unset => None,
                Val::Null => Some(None),
                Val::V(b) => {
                    // An empty non-frozen collection is a deletion, as in Cassandra.
                    if super::value::is_collection(ty) && !col.frozen && decode_collection(&b).is_some_and(|x| x.is_empty()) {
                        Some(None)
                    } else {
                        Some(Some(b))
                    }
                }
            },
            ColOp::Add(_, e) | ColOp::Sub(_, e) => {
                let plus = matches!(op, ColOp::Add(..));
                let v = match eval(e, w.env)? {
                    Val::V(b) => b,
                    Val::Unset => continue,
                    Val::Null if *ty == ColumnType::Counter => {
                        return Err(CqlError::invalid(format!("Invalid null value for counter increment")));
                    }
                    Val::Null => continue,
                };
                match ty {
                    ColumnType::Counter => {
                        let delta = i64::from_be_bytes(v[..].try_into().map_err(|_| CqlError::invalid("Invalid counter delta"))?);
                        let old = current().and_then(|b| b[..].try_into().ok().map(i64::from_be_bytes)).unwrap_or(0);
                        let newv = if plus { old.wrapping_add(delta) } else { old.wrapping_sub(delta) };
                        Some(Some(Bytes::copy_from_slice(&newv.to_be_bytes())))
                    }
                    ColumnType::List(e) => {
                        let mut items = list_items(current());
                        let add = list_items(Some(v));
                        if plus {
                            items.extend(add);
                        } else {
                            items.retain(|x| !add.iter().any(|y| compare(e, x, y) == Ordering::Equal));
                        }
                        Some(list_cell(&items))
                    }
                    ColumnType::Set(e) => {
                        let mut items = list_items(current());
                        let add = list_items(Some(v));
                        if plus {
                            items.extend(add);
                        } else {
                            items.retain(|x| !add.iter().any(|y| compare(e, x, y) == Ordering::Equal));
                        }
                        let items = normalize_set(e, items);
                        Some(list_cell(&items))
                    }
                    ColumnType::Map(k, _) => {
                        let mut items = map_items(current());
                        if plus {
                            items.extend(map_items(Some(v)));
                        } else {
                            let keys = list_items(Some(v));
                            items.retain(|(x, _)| !keys.iter().any(|y| compare(k, x, y) == Ordering::Equal));
                        }
                        let items = normalize_map(k, items);
                        Some(if items.is_empty() {
                            None
                        } else {
                            Some(encode_map(items.iter().map(|(a, b)| (a, b))))
                        })
                    }
                    _ => return Err(CqlError::invalid(format!("Invalid operation for column {}", col.name))),
                }
            }
            ColOp::Prepend(_, e) => match eval(e, w.env)? {
                Val::V(b) => {
                    let mut items = list_items(Some(b));
                    items.extend(list_items(current()));
                    Some(Some(encode_collection(items.iter())))
                }
                _ => continue,
            },
            ColOp::SetElem(_, k, v) => {
                let key = match eval(k, w.env)? {
                    Val::V(b) => b,
                    _ => return Err(CqlError::invalid(format!("Invalid null value for {} key", col.name))),
                };
                let val = eval(v, w.env)?;
                match ty {
                    ColumnType::Map(kt, _) => {
                        let mut items = map_items(current());
                        items.retain(|(x, _)| compare(kt, x, &key) != Ordering::Equal);
                        if let Val::V(b) = val {
                            items.push((key, b));
                        }
                        let items = normalize_map(kt, items);
                        Some(if items.is_empty() {
                            None
                        } else {
                            Some(encode_map(items.iter().map(|(a, b)| (a, b))))
                        })
                    }
                    ColumnType::List(_) => {
                        let mut items = list_items(current());
                        let idx = i32::from_be_bytes(key[..].try_into().map_err(|_| CqlError::invalid("Invalid list index"))?);
                        if idx < 0 || idx as usize >= items.len() {
                            return Err(CqlError::invalid(format!(
                                "List index {idx} out of bound, list has size {}",
                                items.len()
                            )));
                        }
                        match val {
                            Val::V(b) => items[idx as usize] = b,
                            _ => {
                                items.remove(idx as usize);
                            }
                        }
                        Some(list_cell(&items))
                    }
                    _ => continue,
                }
            }
            ColOp::Delete(_) => Some(None),
            ColOp::DeleteElem(_, k) => {
                let key = match eval(k, w.env)? {
                    Val::V(b) => b,
                    _ => return Err(CqlError::invalid(format!("Invalid null value for {} element", col.name))),
                };
                match ty {
                    ColumnType::Map(kt, _) => {
                        let mut items = map_items(current());
                        items.retain(|(x, _)| compare(kt, x, &key) != Ordering::Equal);
                        Some(if items.is_empty() {
                            None
                        } else {
                            Some(encode_map(items.iter().map(|(a, b)| (a, b))))
                        })
                    }
                    ColumnType::Set(e) => {
                        let mut items = list_items(current());
                        items.retain(|x| compare(e, x, &key) != Ordering::Equal);
                        Some(list_cell(&items))
                    }
                    ColumnType::List(_) => {
                        let mut items = list_items(current());
                        let idx = i32::from_be_bytes(key[..].try_into().map_err(|_| CqlError::invalid("Invalid list index"))?);
                        if idx < 0 || idx as usize >= items.len() {
                            return Err(CqlError::invalid(format!(
                                "List index {idx} out of bound, list has size {}",
                                items.len()
                            )));
                        }
                        items.remove(idx as usize);
                        Some(list_cell(&items))
                    }
                    _ => continue,
                }
            }
        };
        if let Some(v) = new_value {
            let counter = *ty == ColumnType::Counter;
            row.write_cell(slot, cell(v, !counter), pdel);
        }
    }
    Ok(())
}

/// Applies a (non-conditional part of a) write to the store; records what it touched.
pub fn apply(data: &mut TableData, plan: &ModifyPlan, w: &WriteCtx<'_>, touched: &mut Vec<Touched>) -> CqlResult<()> {
    let t = &*plan.table;
    let targets = targets(plan, w.env)?;
    let slices: Vec<(usize, Op, Bytes)> = plan
        .ck_slice
        .iter()
        .map(|(pos, op, e)| {
            Ok((
                *pos,
                *op,
                eval(e, w.env)?
                    .bytes()
                    .ok_or_else(|| CqlError::invalid("Invalid null value in condition for a clustering column"))?,
            ))
        })
        .collect::<CqlResult<_>>()?;
    let full_ck = plan.ck.len() == t.ck.len();
    for tg in targets {
        let p = data
            .partitions
            .entry((tg.token, tg.key.clone()))
            .or_insert_with(|| Partition::new(tg.key.clone(), t.slots));
        let pdel = p.deleted_at;
        let header = || Touched {
            table: t.id,
            token: tg.token,
            key: tg.key.clone(),
            ck: None,
        };
        let row_t = |ck: &[Bytes]| Touched {
            table: t.id,
            token: tg.token,
            key: tg.key.clone(),
            ck: Some(ck.to_vec()),
        };
        if plan.delete_row {
            if t.ck.is_empty() || (tg.ck.is_empty() && slices.is_empty()) {
                if t.ck.is_empty() {
                    let r = p.row_mut(t, &[]);
                    r.delete(w.ts);
                    touched.push(row_t(&[]));
                } else {
                    p.delete(w.ts);
                    touched.push(header());
                    for r in &p.rows {
                        touched.push(row_t(&r.ck));
                    }
                }
            } else if full_ck && slices.is_empty() {
                p.row_mut(t, &tg.ck).delete(w.ts);
                touched.push(row_t(&tg.ck));
            } else {
                // Range deletion: every existing row under the prefix within the slice bounds.
                for r in p.rows.iter_mut() {
                    if compare_prefix(t, &r.ck, &tg.ck) != Ordering::Equal {
                        continue;
                    }
                    let in_slice = slices.iter().all(|(pos, op, v)| {
                        let col = &t.columns[t.ck[*pos]];
                        let o = compare(&col.ty, &r.ck[*pos], v);
                        match op {
                            Op::Lt => o == Ordering::Less,
                            Op::Le => o != Ordering::Greater,
                            Op::Gt => o == Ordering::Greater,
                            Op::Ge => o != Ordering::Less,
                            _ => o == Ordering::Equal,
                        }
                    });
                    if in_slice {
                        r.delete(w.ts);
                        touched.push(row_t(&r.ck));
                    }
                }
            }
            continue;
        }
        let has_static_ops = plan.ops.iter().any(|op| {
            let slot = match op {
                ColOp::Set(s, _)
                | ColOp::Add(s, _)
                | ColOp::Sub(s, _)
                | ColOp::Prepend(s, _)
                | ColOp::SetElem(s, _, _)
                | ColOp::Delete(s)
                | ColOp::DeleteElem(s, _) => *s,
            };
            t.columns.iter().any(|c| c.slot == slot && c.kind == Kind::Static)
        });
        if has_static_ops {
            let mut statics = std::mem::replace(&mut p.statics, Row::new(Box::new([]), 0));
            let r = apply_ops(t, plan, &mut statics, pdel, true, w);
            p.statics = statics;
            r?;
            touched.push(header());
        }
        if full_ck {
            let row = p.row_mut(t, &tg.ck);
            if plan.marker {
                let expire = if w.ttl > 0 { w.now_secs + w.ttl as i64 } else { 0 };
                row.write_marker(
                    Cell {
                        ts: w.ts,
                        expire,
                        ttl: w.ttl,
                        value: Some(Bytes::new()),
                    },
                    pdel,
                );
            }
            apply_ops(t, plan, row, pdel, false, w)?;
            touched.push(row_t(&tg.ck));
        }
    }
    Ok(())
}

pub fn applied_spec(t: &TableSchema) -> ColumnSpec {
    ColumnSpec {
        keyspace: t.keyspace.clone(),
        table: t.name.clone(),
        name: "[applied]".into(),
        ty: ColumnType::Boolean,
    }
}

fn bool_cell(b: bool) -> Option<Bytes> {
    Some(Bytes::from_static(if b { &[1] } else { &[0] }))
}

/// Checks an LWT condition against the current state. Returns None when it holds, or the
/// result row to send back (`[applied]` false plus current values) when it does not.
pub fn check_condition(data: &TableData, plan: &ModifyPlan, env: &Env<'_>, now: i64) -> CqlResult<Option<Rows>> {
    let t = &*plan.table;
    if plan.pk.iter().any(|r| !matches!(r, KeyRestr::Eq(_))) {
        return Err(CqlError::invalid(
            "IN on the partition key is not supported with conditional updates",
        ));
    }
    if plan.ck.iter().any(|r| !matches!(r, KeyRestr::Eq(_))) {
        return Err(CqlError::invalid(
            "IN on the clustering key columns is not supported with conditional updates",
        ));
    }
    let tg = targets(plan, env)?
        .into_iter()
        .next()
        .ok_or_else(|| CqlError::invalid("Missing primary key"))?;
    let p = data.partitions.get(&(tg.token, tg.key.clone()));
    let row = p.and_then(|p| {
        if t.ck.is_empty() {
            p.find(t, &[]).ok().map(|i| &p.rows[i])
        } else {
            p.find(t, &tg.ck).ok().map(|i| &p.rows[i])
        }
    });
    let row = row.filter(|r| r.is_live(now));
    let statics_live = p.is_some_and(|p| p.has_live_statics(now));
    let exists = row.is_some() || (plan.ck.is_empty() && !t.ck.is_empty() && statics_live);
    let pk_parts: Vec<&[u8]> = split_partition_key(&tg.key, t.pk.len()).unwrap_or_default();
    let full_row = |row: Option<&super::store::Row>, p: &Partition| -> Vec<Option<Bytes>> {
        let mut out = vec![bool_cell(false)];
        for (i, c) in t.columns.iter().enumerate() {
            out.push(match c.kind {
                Kind::PartitionKey => pk_parts.get(c.position as usize).map(|b| Bytes::copy_from_slice(b)),
                Kind::Clustering => row.and_then(|r| r.ck.get(c.position as usize).cloned()),
                _ => column_value(t, i, &pk_parts, p, row, now).map(Bytes::copy_from_slice),
            });
        }
        out
    };
    let all_specs = || {
        let mut v = vec![applied_spec(t)];
        v.extend(t.columns.iter().map(|c| ColumnSpec {
            keyspace: t.keyspace.clone(),
            table: t.name.clone(),
            name: c.name.clone(),
            ty: c.ty.clone(),
        }));
        v
    };
    match &plan.cond {
        CondPlan::None => Ok(None),
        CondPlan::IfNotExists => {
            if exists && let Some(p) = p {
                return Ok(Some(Rows {
                    columns: all_specs(),
                    rows: vec![full_row(row, p)],
                    paging_state: None,
                }));
            }
            Ok(None)
        }
        CondPlan::IfExists => {
            if exists {
                Ok(None)
            } else {
                Ok(Some(Rows {
                    columns: vec![applied_spec(t)],
                    rows: vec![vec![bool_cell(false)]],
                    paging_state: None,
                }))
            }
        }
        CondPlan::Conds(conds) => {
            let mut ok = true;
            for c in conds {
                let col = &t.columns[c.col];
                let vals = eval_restr_nullable(&c.rhs, env)?;
                let cur: Option<Bytes> = match p {
                    Some(p) => column_value(t, c.col, &pk_parts, p, row, now).map(Bytes::copy_from_slice),
                    None => None,
                };
                let holds = match &c.elem {
                    None => value_matches(&col.ty, cur.as_deref(), c.op, &vals),
                    Some(k) => {
                        let key = eval(k, env)?.bytes();
                        let (elem, vty) = match (&col.ty, key) {
                            (ColumnType::Map(kt, vt), Some(key)) => (
                                cur.as_ref().and_then(|b| decode_map(b)).and_then(|m| {
                                    m.into_iter()
                                        .find(|(x, _)| compare(kt, x, &key) == Ordering::Equal)
                                        .and_then(|(_, v)| v)
                                }),
                                (**vt).clone(),
                            ),
                            (ColumnType::List(vt), Some(key)) => {
                                let idx = key[..].try_into().ok().map(i32::from_be_bytes).unwrap_or(-1);
                                (
                                    cur.as_ref().and_then(|b| decode_collection(b)).and_then(|l| {
                                        if idx >= 0 {
                                            l.into_iter().nth(idx as usize).flatten()
                                        } else {
                                            None
                                        }
                                    }),
                                    (**vt).clone(),
                                )
                            }
                            _ => (None, col.ty.clone()),
                        };
                        value_matches(&vty, elem.as_deref(), c.op, &vals)
                    }
                };
                if !holds {
                    ok = false;
                }
            }
            if ok {
                return Ok(None);
            }
            // Not applied: `[applied]` then the current values of the condition columns.
            let mut specs = vec![applied_spec(t)];
            let mut vals = vec![bool_cell(false)];
            if row.is_some() || statics_live {
                let mut seen = Vec::new();
                for c in conds {
                    if seen.contains(&c.col) {
                        continue;
                    }
                    seen.push(c.col);
                    let col = &t.columns[c.col];
                    specs.push(ColumnSpec {
                        keyspace: t.keyspace.clone(),
                        table: t.name.clone(),
                        name: col.name.clone(),
                        ty: col.ty.clone(),
                    });
                    vals.push(
                        p.and_then(|p| column_value(t, c.col, &pk_parts, p, row, now))
                            .map(Bytes::copy_from_slice),
                    );
                }
            }
            Ok(Some(Rows {
                columns: specs,
                rows: vec![vals],
                paging_state: None,
            }))
        }
    }
}

pub fn applied_rows(t: &TableSchema) -> Rows {
    Rows {
        columns: vec![applied_spec(t)],
        rows: vec![vec![bool_cell(true)]],
        paging_state: None,
    }
}

/// The not-applied answer of a conditional batch, as Cassandra builds it: `[applied]`, the
/// primary key columns, then the condition columns in order of appearance (every column when
/// a statement uses IF [NOT] EXISTS), one row per conditioned row that currently exists.
pub fn batch_failure(data: &TableData, items: &[(&ModifyPlan, &Env<'_>)], now: i64) -> CqlResult<Rows> {
    let Some((first, _)) = items.first() else {
        return Ok(applied_rows_false(None));
    };
    let t = &*first.table;
    let mut cols: Vec<usize> = Vec::new();
    let mut wildcard = false;
    for (p, _) in items {
        match &p.cond {
            CondPlan::IfExists | CondPlan::IfNotExists => wildcard = true,
            CondPlan::Conds(cs) => cols.extend(cs.iter().map(|c| c.col)),
            CondPlan::None => {}
        }
    }
    let selected: Vec<usize> = if wildcard {
        (0..t.columns.len()).collect()
    } else {
        let mut v: Vec<usize> = t.pk.iter().chain(t.ck.iter()).copied().collect();
        for c in cols {
            if !v.contains(&c) {
                v.push(c);
            }
        }
        v
    };
    let mut specs = vec![applied_spec(t)];
    specs.extend(selected.iter().map(|i| {
        let c = &t.columns[*i];
        ColumnSpec {
            keyspace: t.keyspace.clone(),
            table: t.name.clone(),
            name: c.name.clone(),
            ty: c.ty.clone(),
        }
    }));
    let mut rows: Vec<Vec<Option<Bytes>>> = Vec::new();
    let mut seen: Vec<Vec<Bytes>> = Vec::new();
    for (p, env) in items {
        if !p.is_lwt() {
            continue;
        }
        let Some(tg) = targets(p, env)?.into_iter().next() else { continue };
        if seen.contains(&tg.ck) {
            continue;
        }
        seen.push(tg.ck.clone());
        let Some(part) = data.partitions.get(&(tg.token, tg.key.clone())) else {
            continue;
        };
        let Ok(i) = part.find(t, &tg.ck) else { continue };
        let row = &part.rows[i];
        if !row.is_live(now) {
            continue;
        }
        let pk_parts: Vec<&[u8]> = split_partition_key(&tg.key, t.pk.len()).unwrap_or_default();
        let mut out = vec![bool_cell(false)];
        for c in &selected {
            out.push(column_value(t, *c, &pk_parts, part, Some(row), now).map(Bytes::copy_from_slice));
        }
        rows.push(out);
    }
    if rows.is_empty() {
        return Ok(applied_rows_false(Some(t)));
    }
    Ok(Rows {
        columns: specs,
        rows,
        paging_state: None,
    })
}

fn applied_rows_false(t: Option<&TableSchema>) -> Rows {
    let columns = t.map(|t| vec![applied_spec(t)]).unwrap_or_default();
    Rows {
        columns,
        rows: vec![vec![bool_cell(false)]],
        paging_state: None,
    }
}
