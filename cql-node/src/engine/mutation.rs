//! A write in two phases, so that an error never leaves a trace: `prepare` evaluates and checks
//! everything that can fail (keys, TTL, timestamp, values, counter deltas, list indexes against
//! the current state) without touching the store; `apply` then writes and cannot fail. A batch
//! prepares every statement before it applies any, as Cassandra builds all its mutations first.

use std::cmp::Ordering;

use bytes::Bytes;

use super::ast::Op;
use super::eval::{Env, Val, eval};
use super::modify::{Target, Touched, eval_timestamp, eval_ttl, targets};
use super::plan::{ColOp, ModifyPlan};
use super::schema::Kind;
use super::store::{Cell, Partition, Row, RowCells, TableData, compare_prefix};
use super::value::{compare, decode_collection, decode_map, encode_collection, encode_map, is_collection, normalize_map, normalize_set};
use crate::error::{CqlError, CqlResult};
use crate::types::ColumnType;

/// A column operation with its values evaluated: nothing in it can fail any more.
enum Ready {
    Set(Option<Bytes>),
    Counter(i64),
    Append(Bytes),
    Remove(Bytes),
    Prepend(Bytes),
    SetKey(Bytes, Option<Bytes>),
    SetIndex(usize, Option<Bytes>),
    Delete,
    DeleteKey(Bytes),
    DeleteIndex(usize),
}

struct ReadyOp {
    slot: usize,
    statics: bool,
    ty: ColumnType,
    op: Ready,
}

/// One statement's write, checked and ready to apply.
pub struct Mutation<'p> {
    plan: &'p ModifyPlan,
    targets: Vec<Target>,
    slices: Vec<(usize, Op, Bytes)>,
    ops: Vec<ReadyOp>,
    ts: i64,
    ttl: i32,
}

fn slot_of(op: &ColOp) -> usize {
    match op {
        ColOp::Set(s, _)
        | ColOp::Add(s, _)
        | ColOp::Sub(s, _)
        | ColOp::Prepend(s, _)
        | ColOp::SetElem(s, _, _)
        | ColOp::Delete(s)
        | ColOp::DeleteElem(s, _) => *s,
    }
}

fn live_value(row: &Row, slot: usize, now: i64) -> Option<Bytes> {
    row.cell(slot)?.live_value(now).map(Bytes::copy_from_slice)
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

/// An emptied collection is no cell at all, as in Cassandra.
fn list_cell(items: &[Bytes]) -> Option<Bytes> {
    if items.is_empty() { None } else { Some(encode_collection(items.iter())) }
}

fn map_cell(items: &[(Bytes, Bytes)]) -> Option<Bytes> {
    if items.is_empty() { None } else { Some(encode_map(items.iter().map(|(a, b)| (a, b)))) }
}

fn list_index(key: &[u8]) -> CqlResult<i32> {
    key.try_into().map(i32::from_be_bytes).map_err(|_| CqlError::invalid("Invalid list index"))
}

/// The lengths of the list in `slot` of every row the targets address (Cassandra reads the
/// list before it builds the mutation, so an index is checked against the current state).
fn list_lengths(data: Option<&TableData>, plan: &ModifyPlan, tgs: &[Target], slot: usize, statics: bool, now: i64) -> Vec<usize> {
    let t = &*plan.table;
    tgs.iter()
        .map(|tg| {
            let Some(p) = data.and_then(|d| d.partitions.get(&(tg.token, tg.key.clone()))) else { return 0 };
            let row = if statics {
                p.statics.as_deref()
            } else {
                p.find(t, &tg.ck).ok().map(|i| &p.rows[i])
            };
            row.map(|r| list_items(live_value(r, slot, now)).len()).unwrap_or(0)
        })
        .collect()
}

fn check_index(idx: i32, lengths: &[usize], deleting: bool) -> CqlResult<usize> {
    for &len in lengths {
        if len == 0 {
            return Err(CqlError::invalid(if deleting {
                "Attempted to delete an element from a list which is null"
            } else {
                "Attempted to set an element on a list which is null"
            }));
        }
        if idx < 0 || idx as usize >= len {
            return Err(CqlError::invalid(format!("List index {idx} out of bound, list has size {len}")));
        }
    }
    Ok(idx as usize)
}

/// Evaluates and checks one statement against the current state; writes nothing.
pub fn prepare<'p>(data: Option<&TableData>, plan: &'p ModifyPlan, env: &Env<'_>, default_ts: i64, now_secs: i64) -> CqlResult<Mutation<'p>> {
    let t = &*plan.table;
    let ts = eval_timestamp(plan, env)?.unwrap_or(default_ts);
    let ttl = eval_ttl(plan, env)?;
    let tgs = targets(plan, env)?;
    let slices = plan
        .ck_slice
        .iter()
        .map(|(pos, op, e)| {
            let v = eval(e, env)?
                .bytes()
                .ok_or_else(|| CqlError::invalid("Invalid null value in condition for a clustering column"))?;
            Ok((*pos, *op, v))
        })
        .collect::<CqlResult<_>>()?;
    let mut ops = Vec::with_capacity(plan.ops.len());
    for op in &plan.ops {
        let slot = slot_of(op);
        let Some(col) = t.columns.iter().find(|c| c.slot == slot && !c.is_key()) else { continue };
        let statics = col.kind == Kind::Static;
        let ty = &col.ty;
        let ready = match op {
            ColOp::Set(_, e) => match eval(e, env)? {
                Val::Unset => continue,
                Val::Null => Ready::Set(None),
                // An empty non-frozen collection is a deletion, as in Cassandra.
                Val::V(b) if is_collection(ty) && !col.frozen && decode_collection(&b).is_some_and(|x| x.is_empty()) => Ready::Set(None),
                Val::V(b) => Ready::Set(Some(b)),
            },
            ColOp::Add(_, e) | ColOp::Sub(_, e) => {
                let plus = matches!(op, ColOp::Add(..));
                let v = match eval(e, env)? {
                    Val::V(b) => b,
                    Val::Unset => continue,
                    Val::Null if *ty == ColumnType::Counter => return Err(CqlError::invalid("Invalid null value for counter increment")),
                    Val::Null => continue,
                };
                match ty {
                    ColumnType::Counter => {
                        let d = i64::from_be_bytes(v[..].try_into().map_err(|_| CqlError::invalid("Invalid counter delta"))?);
                        Ready::Counter(if plus { d } else { d.wrapping_neg() })
                    }
                    ColumnType::List(_) | ColumnType::Set(_) | ColumnType::Map(..) if plus => Ready::Append(v),
                    ColumnType::List(_) | ColumnType::Set(_) | ColumnType::Map(..) => Ready::Remove(v),
                    _ => return Err(CqlError::invalid(format!("Invalid operation for column {}", col.name))),
                }
            }
            ColOp::Prepend(_, e) => match eval(e, env)? {
                Val::V(b) => Ready::Prepend(b),
                _ => continue,
            },
            ColOp::SetElem(_, k, v) => {
                let key = match eval(k, env)? {
                    Val::V(b) => b,
                    _ => return Err(CqlError::invalid(format!("Invalid null value for {} key", col.name))),
                };
                let val = eval(v, env)?.bytes();
                match ty {
                    ColumnType::Map(..) => Ready::SetKey(key, val),
                    ColumnType::List(_) => {
                        let lengths = list_lengths(data, plan, &tgs, slot, statics, now_secs);
                        Ready::SetIndex(check_index(list_index(&key)?, &lengths, false)?, val)
                    }
                    _ => continue,
                }
            }
            ColOp::Delete(_) => Ready::Delete,
            ColOp::DeleteElem(_, k) => {
                let key = match eval(k, env)? {
                    Val::V(b) => b,
                    _ => return Err(CqlError::invalid(format!("Invalid null value for {} element", col.name))),
                };
                match ty {
                    ColumnType::Map(..) | ColumnType::Set(_) => Ready::DeleteKey(key),
                    ColumnType::List(_) => {
                        let lengths = list_lengths(data, plan, &tgs, slot, statics, now_secs);
                        Ready::DeleteIndex(check_index(list_index(&key)?, &lengths, true)?)
                    }
                    _ => continue,
                }
            }
        };
        ops.push(ReadyOp {
            slot,
            statics,
            ty: ty.clone(),
            op: ready,
        });
    }
    Ok(Mutation {
        plan,
        targets: tgs,
        slices,
        ops,
        ts,
        ttl,
    })
}

/// The new value of one cell, or `None` to leave it as it is.
fn new_value(op: &ReadyOp, current: Option<Bytes>) -> Option<Option<Bytes>> {
    Some(match (&op.op, &op.ty) {
        (Ready::Set(v), _) => v.clone(),
        (Ready::Delete, _) => None,
        (Ready::Counter(d), _) => {
            let old = current.and_then(|b| b[..].try_into().ok().map(i64::from_be_bytes)).unwrap_or(0);
            Some(Bytes::copy_from_slice(&old.wrapping_add(*d).to_be_bytes()))
        }
        (Ready::Append(v), ColumnType::List(_)) => {
            let mut items = list_items(current);
            items.extend(list_items(Some(v.clone())));
            list_cell(&items)
        }
        (Ready::Append(v), ColumnType::Set(e)) => {
            let mut items = list_items(current);
            items.extend(list_items(Some(v.clone())));
            list_cell(&normalize_set(e, items))
        }
        (Ready::Append(v), ColumnType::Map(k, _)) => {
            let mut items = map_items(current);
            items.extend(map_items(Some(v.clone())));
            map_cell(&normalize_map(k, items))
        }
        (Ready::Remove(v), ColumnType::List(e) | ColumnType::Set(e)) => {
            let gone = list_items(Some(v.clone()));
            let mut items = list_items(current);
            items.retain(|x| !gone.iter().any(|y| compare(e, x, y) == Ordering::Equal));
            list_cell(&items)
        }
        (Ready::Remove(v), ColumnType::Map(k, _)) => {
            let gone = list_items(Some(v.clone()));
            let mut items = map_items(current);
            items.retain(|(x, _)| !gone.iter().any(|y| compare(k, x, y) == Ordering::Equal));
            map_cell(&items)
        }
        (Ready::Prepend(v), _) => {
            let mut items = list_items(Some(v.clone()));
            items.extend(list_items(current));
            Some(encode_collection(items.iter()))
        }
        (Ready::SetKey(key, val), ColumnType::Map(kt, _)) => {
            let mut items = map_items(current);
            items.retain(|(x, _)| compare(kt, x, key) != Ordering::Equal);
            if let Some(b) = val {
                items.push((key.clone(), b.clone()));
            }
            map_cell(&normalize_map(kt, items))
        }
        (Ready::DeleteKey(key), ColumnType::Map(kt, _)) => {
            let mut items = map_items(current);
            items.retain(|(x, _)| compare(kt, x, key) != Ordering::Equal);
            map_cell(&items)
        }
        (Ready::DeleteKey(key), ColumnType::Set(e)) => {
            let mut items = list_items(current);
            items.retain(|x| compare(e, x, key) != Ordering::Equal);
            list_cell(&items)
        }
        (Ready::SetIndex(i, val), _) => {
            let mut items = list_items(current);
            // Checked in `prepare`; an earlier statement of the same batch may have shortened it.
            if *i >= items.len() {
                return None;
            }
            match val {
                Some(b) => items[*i] = b.clone(),
                None => {
                    items.remove(*i);
                }
            }
            list_cell(&items)
        }
        (Ready::DeleteIndex(i), _) => {
            let mut items = list_items(current);
            if *i >= items.len() {
                return None;
            }
            items.remove(*i);
            list_cell(&items)
        }
        _ => return None,
    })
}

fn apply_ops(m: &Mutation<'_>, row: &mut RowCells, pdel: i64, statics: bool, now_secs: i64) {
    let expire = if m.ttl > 0 { now_secs + m.ttl as i64 } else { 0 };
    for op in m.ops.iter().filter(|o| o.statics == statics) {
        let current = row.cells.get(op.slot).and_then(|c| c.as_ref()?.live_value(now_secs).cloned());
        let Some(v) = new_value(op, current) else { continue };
        // Counters take no TTL; a tombstone keeps none either.
        let ttl_applies = op.ty != ColumnType::Counter && v.is_some();
        let cell = Cell {
            ts: m.ts,
            expire: if ttl_applies { expire } else { 0 },
            ttl: if ttl_applies { m.ttl } else { 0 },
            // An own copy, not a slice of the request frame (which it would keep alive).
            value: v.map(|b| Bytes::copy_from_slice(&b)),
        };
        row.write_cell(op.slot, cell, pdel);
    }
}

/// Applies a prepared write to the store and records what it touched. It cannot fail.
pub fn apply(data: &mut TableData, m: &Mutation<'_>, now_secs: i64, touched: &mut Vec<Touched>) {
    let plan = m.plan;
    let t = &*plan.table;
    let full_ck = plan.ck.len() == t.ck.len();
    let has_static_ops = m.ops.iter().any(|o| o.statics);
    for tg in &m.targets {
        let slot = (tg.token, tg.key.clone());
        if !data.partitions.contains_key(&slot) {
            // An own copy of the key, not a slice of the request frame.
            let key = Bytes::copy_from_slice(&tg.key);
            data.partitions.insert((tg.token, key), Partition::new());
        }
        let p = data.partitions.get_mut(&slot).expect("inserted above");
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
            if t.ck.is_empty() {
                p.row_mut(t, &[]).delete(m.ts);
                touched.push(row_t(&[]));
            } else if tg.ck.is_empty() && m.slices.is_empty() {
                p.delete(m.ts);
                touched.push(header());
                for r in &p.rows {
                    touched.push(row_t(&r.ck.to_vec()));
                }
            } else if full_ck && m.slices.is_empty() {
                p.row_mut(t, &tg.ck).delete(m.ts);
                touched.push(row_t(&tg.ck));
            } else {
                // Range deletion: every existing row under the prefix within the slice bounds.
                for r in p.rows.iter_mut() {
                    if compare_prefix(t, &r.ck.values(), &tg.ck) != Ordering::Equal {
                        continue;
                    }
                    let in_slice = m.slices.iter().all(|(pos, op, v)| {
                        let o = compare(&t.columns[t.ck[*pos]].ty, r.ck.get(*pos).unwrap_or_default(), v);
                        match op {
                            Op::Lt => o == Ordering::Less,
                            Op::Le => o != Ordering::Greater,
                            Op::Gt => o == Ordering::Greater,
                            Op::Ge => o != Ordering::Less,
                            _ => o == Ordering::Equal,
                        }
                    });
                    if in_slice {
                        r.delete(m.ts);
                        touched.push(row_t(&r.ck.to_vec()));
                    }
                }
            }
            continue;
        }
        if has_static_ops {
            p.statics_mut().update(|c| apply_ops(m, c, pdel, true, now_secs));
            touched.push(header());
        }
        if full_ck {
            // One decode and one encode of the row for the whole statement.
            p.row_mut(t, &tg.ck).update(|row| {
                if plan.marker {
                    let expire = if m.ttl > 0 { now_secs + m.ttl as i64 } else { 0 };
                    let marker = Cell {
                        ts: m.ts,
                        expire,
                        ttl: m.ttl,
                        value: Some(Bytes::new()),
                    };
                    row.write_marker(marker, pdel);
                }
                apply_ops(m, row, pdel, false, now_secs);
            });
            touched.push(row_t(&tg.ck));
        }
    }
}

impl Mutation<'_> {
    pub fn table_id(&self) -> uuid::Uuid {
        self.plan.table.id
    }
}
