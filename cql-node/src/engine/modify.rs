//! INSERT / UPDATE / DELETE: write targets, TTL and timestamp evaluation, and
//! lightweight-transaction conditions checked under the caller's write lock (so they are
//! linearizable per partition). The write itself is `mutation`'s.

use std::cmp::Ordering;

use bytes::Bytes;

use super::eval::{Env, Val, eval, eval_restr, eval_restr_nullable};
use super::plan::{CondPlan, KeyRestr, ModifyPlan};
use super::schema::{Kind, TableSchema};
use super::select::{column_value, value_matches};
use super::store::{Partition, TableData};
use super::token::{serialize_partition_key, split_partition_key, token_of};
use super::value::{compare, decode_collection, decode_map};
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
                Kind::Clustering => row.and_then(|r| r.ck.get(c.position as usize).map(Bytes::copy_from_slice)),
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
