//! SELECT execution: partitions in token order (or the requested keys), rows in clustering
//! order, filtering, limits, aggregates and paging that resumes after the last row returned.

use std::cmp::Ordering;
use std::ops::Bound;

use bytes::Bytes;

use super::ast::Op;
use super::eval::{Env, Val, eval, eval_restr, eval_restr_nullable};
use super::modify::cartesian;
use super::paging::PagingState;
use super::plan::{AggKind, Filter, Sel, SelectPlan};
use super::scalar::{self, SelExpr};
use super::schema::{Kind, TableSchema};
use super::store::{Partition, Row, TableData, compare_clustering, compare_prefix};
use super::token::{serialize_partition_key, split_partition_key, token_of};
use super::value::{compare, decode_collection, decode_map};
use super::{QueryParams, Rows};
use crate::error::{CqlError, CqlResult};
use crate::types::ColumnType;

/// A filter with its values evaluated once for the whole execution.
struct EvFilter<'a> {
    f: &'a Filter,
    vals: Vec<Option<Bytes>>,
}

/// Narrows `rows[start..end]` (rows sharing the `=` clustering prefix of length `k`) to those a
/// slice on the next clustering column (`c < ?`, `c >= ?`...) can match, by binary search:
/// within the prefix the rows are sorted on that column, so the matches are contiguous. A
/// read of the newest rows before a cursor then costs its page, not the partition's size (as
/// Cassandra's clustering slices do). The filters still check every row kept.
fn narrow_to_slice(t: &TableSchema, rows: &[Row], mut start: usize, mut end: usize, k: usize, filters: &[EvFilter]) -> (usize, usize) {
    let Some(&col) = t.ck.get(k) else { return (start, end) };
    let column = &t.columns[col];
    for ef in filters.iter().filter(|ef| ef.f.col == col && ef.f.elem.is_none()) {
        let [Some(v)] = ef.vals.as_slice() else { continue };
        // Sorted ascending on the column unless it clusters DESC.
        let cmp = |r: &Row| {
            let o = compare(&column.ty, r.ck.get(k).unwrap_or_default(), v);
            if column.desc { o.reverse() } else { o }
        };
        let before = |r: &Row| cmp(r) == Ordering::Less;
        let not_after = |r: &Row| cmp(r) != Ordering::Greater;
        let part = &rows[start..end];
        // In row order, "less than v" is a prefix when ascending and a suffix when descending.
        let (lo, hi) = match (ef.f.op, column.desc) {
            (Op::Lt, false) | (Op::Gt, true) => (0, part.partition_point(before)),
            (Op::Le, false) | (Op::Ge, true) => (0, part.partition_point(not_after)),
            (Op::Gt, false) | (Op::Lt, true) => (part.partition_point(not_after), part.len()),
            (Op::Ge, false) | (Op::Le, true) => (part.partition_point(before), part.len()),
            _ => continue,
        };
        end = start + hi.max(lo);
        start += lo;
    }
    (start, end)
}

fn op_matches(o: Ordering, op: Op) -> bool {
    match op {
        Op::Eq | Op::In => o == Ordering::Equal,
        Op::Ne => o != Ordering::Equal,
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
        Op::Contains | Op::ContainsKey => false,
    }
}

/// Does the current value `cur` (None = null) satisfy `op` against `vals`?
pub fn value_matches(ty: &crate::types::ColumnType, cur: Option<&[u8]>, op: Op, vals: &[Option<Bytes>]) -> bool {
    use crate::types::ColumnType as T;
    match op {
        Op::In => vals.iter().any(|v| match (cur, v) {
            (None, None) => true,
            (Some(c), Some(v)) => compare(ty, c, v) == Ordering::Equal,
            _ => false,
        }),
        Op::Contains => {
            let (Some(c), Some(Some(v))) = (cur, vals.first()) else {
                return false;
            };
            match ty {
                T::List(e) | T::Set(e) => {
                    decode_collection(c).is_some_and(|xs| xs.iter().flatten().any(|x| compare(e, x, v) == Ordering::Equal))
                }
                T::Map(_, vt) => decode_map(c).is_some_and(|xs| {
                    xs.iter()
                        .any(|(_, x)| x.as_ref().is_some_and(|x| compare(vt, x, v) == Ordering::Equal))
                }),
                _ => false,
            }
        }
        Op::ContainsKey => {
            let (Some(c), Some(Some(v)), T::Map(kt, _)) = (cur, vals.first(), ty) else {
                return false;
            };
            decode_map(c).is_some_and(|xs| xs.iter().any(|(k, _)| compare(kt, k, v) == Ordering::Equal))
        }
        _ => match (cur, vals.first()) {
            (None, Some(None)) => matches!(op, Op::Eq | Op::Le | Op::Ge),
            (Some(_), Some(None)) => op == Op::Ne,
            (None, Some(Some(_))) => op == Op::Ne,
            (Some(c), Some(Some(v))) => op_matches(compare(ty, c, v), op),
            (_, None) => false,
        },
    }
}

/// The value of column `col` in a row of partition `p` (None when null/absent/expired).
pub fn column_value<'a>(
    t: &TableSchema,
    col: usize,
    pk: &'a [&'a [u8]],
    p: &'a Partition,
    row: Option<&'a Row>,
    now: i64,
) -> Option<&'a [u8]> {
    let c = &t.columns[col];
    match c.kind {
        Kind::PartitionKey => pk.get(c.position as usize).copied(),
        Kind::Clustering => row.and_then(|r| r.ck.get(c.position as usize)),
        Kind::Static => p.statics.as_ref()?.cell(c.slot)?.live_value(now),
        Kind::Regular => row?.cell(c.slot)?.live_value(now),
    }
}

pub struct SelectInput<'a> {
    pub plan: &'a SelectPlan,
    pub data: &'a TableData,
    pub env: &'a Env<'a>,
    pub params: &'a QueryParams,
    pub now_secs: i64,
}

pub fn run_select(inp: SelectInput<'_>) -> CqlResult<Rows> {
    let SelectInput {
        plan,
        data,
        env,
        params,
        now_secs,
    } = inp;
    let t = &*plan.table;
    let filters: Vec<EvFilter> = plan
        .filters
        .iter()
        .filter(|f| t.columns[f.col].kind != Kind::PartitionKey || plan.pk.is_none())
        .map(|f| {
            Ok(EvFilter {
                f,
                vals: eval_restr_nullable(&f.rhs, env)?,
            })
        })
        .collect::<CqlResult<_>>()?;
    let tuple_filters: Vec<(&[usize], Op, Vec<Bytes>)> = plan
        .tuple_filters
        .iter()
        .map(|(cols, op, es)| {
            if let [super::plan::Expr::TupleList(list)] = es.as_slice() {
                return Ok((&cols[..], *op, tuple_list(t, cols, &eval(list, env)?)?));
            }
            let vals = es
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    eval(e, env)?.bytes().ok_or_else(|| {
                        let name = &t.columns[cols[i % cols.len()]].name;
                        CqlError::invalid(format!("Invalid null value in condition for column {name}"))
                    })
                })
                .collect::<CqlResult<Vec<_>>>()?;
            Ok((&cols[..], *op, vals))
        })
        .collect::<CqlResult<_>>()?;
    let ck_eq: Vec<Bytes> = plan
        .ck_eq
        .iter()
        .map(|e| {
            eval(e, env)?
                .bytes()
                .ok_or_else(|| CqlError::invalid("Invalid null value in condition for a clustering column"))
        })
        .collect::<CqlResult<_>>()?;
    let int_of = |e: &super::plan::Expr, what: &str| -> CqlResult<Option<i32>> {
        match eval(e, env)? {
            Val::V(b) if b.len() == 4 => {
                let v = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                if v <= 0 {
                    return Err(CqlError::invalid(format!("{what} must be strictly positive")));
                }
                Ok(Some(v))
            }
            Val::Unset => Ok(None),
            _ => Err(CqlError::invalid(format!("Invalid null value of {what}"))),
        }
    };
    let limit = match &plan.limit {
        Some(e) => int_of(e, "LIMIT")?,
        None => None,
    };
    let ppl = match &plan.per_partition_limit {
        Some(e) => int_of(e, "PER PARTITION LIMIT")?,
        None => None,
    };
    // Aggregates without GROUP BY answer one row for the whole read; GROUP BY answers one row
    // per group and pages and limits by groups (Cassandra's CQLGroupByLimits).
    let whole_aggregate = plan.aggregate && plan.group_by.is_none();
    let paging = match &params.paging_state {
        Some(b) if !b.is_empty() && !whole_aggregate => Some(PagingState::decode(b)?),
        _ => None,
    };
    let page_size = match params.page_size {
        Some(n) if n > 0 && !whole_aggregate => Some(n as usize),
        _ => None,
    };
    let remaining_ppl = paging.as_ref().and_then(|p| p.partition_remaining);

    // Candidate partitions.
    let mut keys: Vec<(i64, Bytes)> = Vec::new();
    let explicit = if let Some(pk) = &plan.pk {
        let mut comps: Vec<Vec<Bytes>> = Vec::new();
        for (i, r) in pk.iter().enumerate() {
            comps.push(eval_restr(r, env, &t.columns[t.pk[i]].name)?);
        }
        let mut acc = cartesian(comps);
        // Cassandra answers IN on the partition key in key-value order (each component by its
        // type), without duplicates, whatever the order of the IN list.
        acc.sort_by(|a, b| {
            for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                let o = compare(&t.columns[t.pk[i]].ty, x, y);
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        acc.dedup_by(|a, b| {
            a.iter()
                .zip(b.iter())
                .enumerate()
                .all(|(i, (x, y))| compare(&t.columns[t.pk[i]].ty, x, y) == Ordering::Equal)
        });
        for parts in acc {
            let refs: Vec<&[u8]> = parts.iter().map(|b| &b[..]).collect();
            let key = Bytes::from(serialize_partition_key(&refs));
            keys.push((token_of(&key), key));
        }
        true
    } else {
        false
    };
    // ORDER BY with IN on the partition key sorts the rows of all partitions after the read,
    // which paging cannot resume: Cassandra refuses it unless LIMIT fits in one page.
    let pk_in = plan.pk.as_ref().is_some_and(|v| v.iter().any(|r| !matches!(r, super::plan::KeyRestr::Eq(_))));
    if plan.ordered
        && pk_in
        && !whole_aggregate
        && let Some(ps) = page_size
        && limit.is_none_or(|l| l as usize > ps)
    {
        return Err(CqlError::invalid(
            "Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must either remove the ORDER BY or the IN and sort client side, or disable paging for this query",
        ));
    }
    let merge = plan.ordered && keys.len() > 1 && !plan.aggregate && plan.group_by.is_none();
    // LIMIT bounds the rows returned; an aggregate returns one row, so it counts them all.
    let remaining = if whole_aggregate || merge {
        None
    } else {
        paging
            .as_ref()
            .and_then(|p| p.remaining)
            .or(limit.map(|l| l as usize))
            .map(|r| r as i64)
    };
    let mut lo: Bound<i64> = Bound::Unbounded;
    let mut hi: Bound<i64> = Bound::Unbounded;
    for (op, e) in &plan.token_bounds {
        let v = match eval(e, env)? {
            Val::V(b) if b.len() == 8 => i64::from_be_bytes(b[..].try_into().unwrap_or([0; 8])),
            _ => return Err(CqlError::invalid("Invalid null value for partition key token")),
        };
        match op {
            Op::Gt => lo = Bound::Excluded(v),
            Op::Ge => lo = Bound::Included(v),
            Op::Lt => hi = Bound::Excluded(v),
            Op::Le => hi = Bound::Included(v),
            Op::Eq => {
                lo = Bound::Included(v);
                hi = Bound::Included(v);
            }
            _ => {}
        }
    }
    // Cassandra treats the minimum token as "unbounded" for an upper bound.
    if let Bound::Included(i64::MIN) | Bound::Excluded(i64::MIN) = hi {
        hi = Bound::Unbounded;
    }
    // `token(k) > x AND k IN (...)`: the token relation filters the named partitions.
    if explicit && !plan.token_bounds.is_empty() {
        keys.retain(|(tok, _)| std::ops::RangeBounds::contains(&(lo, hi), tok));
    }

    let mut out_rows: Vec<Vec<Option<Bytes>>> = Vec::new();
    let mut out_cks: Vec<Vec<Bytes>> = Vec::new();
    let mut accs: Vec<Acc> = plan.sels.iter().map(|_| Acc::default()).collect();
    let mut first_row: Option<Vec<Option<Bytes>>> = None;
    // GROUP BY: the group being read (its key, first row, accumulators, last row's position).
    let mut group: Option<Group> = None;
    let mut last_pos: Option<(i64, Bytes, Vec<Bytes>, Option<usize>)> = None;
    let mut page_full: Option<bool> = None;
    // A function refusing a row's value (blobAsInt of 3 bytes) fails the whole read.
    let mut failure: Option<CqlError> = None;
    let mut emitted: i64 = 0;

    // Visits one partition; returns false to stop the whole scan.
    let mut visit = |p: &Partition, token: i64, key: &Bytes, resume_ck: Option<&[Bytes]>, ppl_left: Option<usize>| -> bool {
        let pk_parts: Vec<&[u8]> = split_partition_key(key, t.pk.len()).unwrap_or_default();
        if pk_parts.len() != t.pk.len() {
            return true;
        }
        let mut in_partition = 0usize;
        let ppl_cap = ppl_left.or(ppl.map(|x| x as usize));
        let row_ok = |row: Option<&Row>| -> bool {
            for ef in &filters {
                let cur = column_value(t, ef.f.col, &pk_parts, p, row, now_secs);
                if t.columns[ef.f.col].kind == Kind::Clustering && row.is_none() {
                    return false;
                }
                if !value_matches(&t.columns[ef.f.col].ty, cur, ef.f.op, &ef.vals) {
                    return false;
                }
            }
            for (cols, op, vals) in &tuple_filters {
                let Some(r) = row else { return false };
                // Tuple relations compare by value (each type's natural order), whatever the
                // clustering order (CASSANDRA-7281); an IN matches any of its tuples.
                let first = t.columns[cols[0]].position as usize;
                let cmp = |tuple: &[Bytes]| {
                    let mut o = Ordering::Equal;
                    for (k, v) in tuple.iter().enumerate() {
                        let Some(cur) = r.ck.get(first + k) else { break };
                        o = compare(&t.columns[cols[k]].ty, cur, v);
                        if o != Ordering::Equal {
                            break;
                        }
                    }
                    o
                };
                let ok = match op {
                    Op::In => vals.chunks(cols.len()).any(|tuple| cmp(tuple) == Ordering::Equal),
                    _ => op_matches(cmp(vals), *op),
                };
                if !ok {
                    return false;
                }
            }
            true
        };
        // Emits a row; returns false when the scan must stop.
        let mut emit = |row: Option<&Row>, ck: &[Bytes], in_part: &mut usize| -> bool {
            if let Some(prefix) = plan.group_by {
                let gck = &ck[..prefix.min(ck.len())];
                let same = group.as_ref().is_some_and(|g| g.key == *key && g.ck == gck);
                if !same {
                    // A new group: PER PARTITION LIMIT and LIMIT count groups, a page holds
                    // page-size groups; the group before it is complete now.
                    if ppl_cap.is_some_and(|cap| *in_part >= cap) {
                        return true;
                    }
                    if let Some(g) = group.take() {
                        last_pos = Some(g.last_pos.clone());
                        out_rows.push(g.finish(plan, t));
                        if page_size.is_some_and(|ps| out_rows.len() >= ps) {
                            page_full = Some(false);
                            return false;
                        }
                    }
                    if remaining.is_some_and(|r| emitted >= r) {
                        return false;
                    }
                    *in_part += 1;
                    emitted += 1;
                    match project(plan, t, &pk_parts, p, row, token, now_secs, env.now_micros) {
                        Ok(first) => {
                            group = Some(Group {
                                key: key.clone(),
                                ck: gck.to_vec(),
                                row: first,
                                accs: plan.sels.iter().map(|_| Acc::default()).collect(),
                                last_pos: (token, key.clone(), ck.to_vec(), None),
                            })
                        }
                        Err(e) => {
                            failure = Some(e);
                            return false;
                        }
                    }
                }
                if let Some(g) = group.as_mut() {
                    accumulate(plan, t, &mut g.accs, &pk_parts, p, row, now_secs);
                    g.last_pos = (token, key.clone(), ck.to_vec(), ppl_cap.map(|c| c - *in_part));
                }
                return true;
            }
            if let Some(cap) = ppl_cap
                && *in_part >= cap
            {
                return true;
            }
            if let Some(r) = remaining
                && emitted >= r
            {
                return false;
            }
            *in_part += 1;
            emitted += 1;
            if plan.aggregate {
                accumulate(plan, t, &mut accs, &pk_parts, p, row, now_secs);
                if first_row.is_none() {
                    match project(plan, t, &pk_parts, p, row, token, now_secs, env.now_micros) {
                        Ok(r) => first_row = Some(r),
                        Err(e) => {
                            failure = Some(e);
                            return false;
                        }
                    }
                }
                return true;
            }
            match project(plan, t, &pk_parts, p, row, token, now_secs, env.now_micros) {
                Ok(r) => out_rows.push(r),
                Err(e) => {
                    failure = Some(e);
                    return false;
                }
            }
            if merge {
                out_cks.push(ck.to_vec());
            }
            last_pos = Some((token, key.clone(), ck.to_vec(), ppl_cap.map(|c| c - *in_part)));
            // A full page ends the read without looking further, as Cassandra's pagers do: the
            // next page may be empty. Its partition is done when it has no clustering, only
            // statics were returned, or PER PARTITION LIMIT is reached (SinglePartitionPager's
            // remainingInPartition == 0).
            if let Some(ps) = page_size
                && out_rows.len() >= ps
            {
                page_full = Some(t.ck.is_empty() || ck.is_empty() || ppl_cap.is_some_and(|c| *in_part >= c));
                return false;
            }
            true
        };
        if plan.distinct {
            let live = p.has_live_statics(now_secs) || p.rows.iter().any(|r| r.is_live(now_secs));
            if live && resume_ck.is_none() && row_ok(None) {
                return emit(None, &[], &mut in_partition);
            }
            return true;
        }
        // Narrow to the rows whose clustering starts with the `=` prefix.
        let (start, end) = if ck_eq.is_empty() {
            (0, p.rows.len())
        } else {
            let s = p.rows.partition_point(|r| compare_prefix(t, &r.ck.values(), &ck_eq) == Ordering::Less);
            let e = p.rows.partition_point(|r| compare_prefix(t, &r.ck.values(), &ck_eq) != Ordering::Greater);
            (s, e.max(s))
        };
        let (start, end) = narrow_to_slice(t, &p.rows, start, end, ck_eq.len(), &filters);
        let slice = &p.rows[start..end];
        let mut any_live_row = false;
        let iter: Box<dyn Iterator<Item = &Row>> = if plan.reversed {
            Box::new(slice.iter().rev())
        } else {
            Box::new(slice.iter())
        };
        for r in iter {
            if let Some(rc) = resume_ck {
                let o = compare_clustering(t, &r.ck.values(), rc);
                let done = if plan.reversed {
                    o != Ordering::Less
                } else {
                    o != Ordering::Greater
                };
                if done {
                    any_live_row |= r.is_live(now_secs);
                    continue;
                }
            }
            if !r.is_live(now_secs) {
                continue;
            }
            any_live_row = true;
            if !row_ok(Some(r)) {
                continue;
            }
            if !emit(Some(r), &r.ck.to_vec(), &mut in_partition) {
                return false;
            }
        }
        // A partition with live statics but no rows still shows up (clustering columns null).
        if !any_live_row && resume_ck.is_none() && t.has_static && ck_eq.is_empty() && p.has_live_statics(now_secs) && row_ok(None) {
            return emit(None, &[], &mut in_partition);
        }
        true
    };

    let resume = paging.as_ref().map(|p| (p.token, p.key.clone(), p.ck.clone()));
    let resume_ok = |token: i64, key: &Bytes| -> Option<Option<&[Bytes]>> {
        // None: skip this partition; Some(None): scan all; Some(Some(ck)): scan after ck.
        match &resume {
            None => Some(None),
            Some((rt, rk, rck)) => match (token, key).cmp(&(*rt, rk)) {
                Ordering::Less => None,
                Ordering::Equal => {
                    if t.ck.is_empty() || plan.distinct || rck.is_empty() && !t.has_static {
                        None
                    } else {
                        Some(Some(&rck[..]))
                    }
                }
                Ordering::Greater => Some(None),
            },
        }
    };
    // Set when a full page stopped the read in the last partition of an explicit key list.
    let mut stopped_in_last_key = false;
    if explicit {
        // Resume at the partition the paging state names, in the IN order.
        let start = match &resume {
            Some((rt, rk, _)) => keys.iter().position(|(t, k)| t == rt && k == rk).unwrap_or(keys.len()),
            None => 0,
        };
        for (n, (token, key)) in keys.iter().enumerate().skip(start) {
            let rc = if n == start { resume_ok(*token, key) } else { Some(None) };
            let Some(rc) = rc else { continue };
            let same = resume.as_ref().is_some_and(|(rt, rk, _)| rt == token && rk == key);
            let ppl_left = if same { remaining_ppl } else { None };
            if let Some(p) = data.partitions.get(&(*token, key.clone()))
                && !visit(p, *token, key, rc, ppl_left)
            {
                stopped_in_last_key = n + 1 == keys.len();
                break;
            }
        }
    } else {
        let start: Bound<(i64, Bytes)> = match (&resume, lo) {
            (Some((rt, rk, _)), _) => Bound::Included((*rt, rk.clone())),
            (None, Bound::Included(v)) => Bound::Included((v, Bytes::new())),
            (None, Bound::Excluded(v)) => {
                if v == i64::MAX {
                    Bound::Excluded((i64::MAX, Bytes::from(vec![0xff; 1])))
                } else {
                    Bound::Included((v + 1, Bytes::new()))
                }
            }
            (None, Bound::Unbounded) => Bound::Unbounded,
        };
        let empty_range = match (&start, hi) {
            (Bound::Included((s, _)), Bound::Included(h)) => *s > h,
            (Bound::Included((s, _)), Bound::Excluded(h)) => *s >= h,
            _ => false,
        };
        if !empty_range {
            for ((token, key), p) in data.partitions.range((start, Bound::Unbounded)) {
                let beyond = match hi {
                    Bound::Included(h) => *token > h,
                    Bound::Excluded(h) => *token >= h,
                    Bound::Unbounded => false,
                };
                if beyond {
                    break;
                }
                if let Bound::Excluded(l) = lo
                    && *token <= l
                {
                    continue;
                }
                let Some(rc) = resume_ok(*token, key) else { continue };
                let same = resume.as_ref().is_some_and(|(rt, rk, _)| rt == token && rk == key);
                let ppl_left = if same { remaining_ppl } else { None };
                if !visit(p, *token, key, rc, ppl_left) {
                    break;
                }
            }
        }
    }

    if let Some(e) = failure {
        return Err(e);
    }
    // The last group read is complete when the read ends. A page it fills is full, as
    // CQLGroupByLimits counts it (counted == page size is not exhausted): a paging state, and
    // the next page is empty.
    if let Some(g) = group.take() {
        last_pos = Some(g.last_pos.clone());
        out_rows.push(g.finish(plan, t));
        if page_full.is_none() && page_size.is_some_and(|ps| out_rows.len() >= ps) {
            page_full = Some(false);
        }
    }
    if whole_aggregate {
        let mut row = first_row.unwrap_or_else(|| vec![None; plan.sels.len()]);
        fill_aggregates(plan, t, &mut row, &accs);
        return Ok(Rows {
            columns: plan.columns.clone(),
            rows: vec![row],
            paging_state: None,
        });
    }
    if merge {
        let mut idx: Vec<usize> = (0..out_rows.len()).collect();
        idx.sort_by(|a, b| {
            let o = compare_clustering(t, &out_cks[*a], &out_cks[*b]);
            if plan.reversed { o.reverse() } else { o }
        });
        let mut rows: Vec<Vec<Option<Bytes>>> = idx.into_iter().map(|i| std::mem::take(&mut out_rows[i])).collect();
        if let Some(l) = limit {
            rows.truncate(l as usize);
        }
        return Ok(Rows {
            columns: plan.columns.clone(),
            rows,
            paging_state: None,
        });
    }
    // Cassandra's pagers: a full page has a paging state unless LIMIT is used up, or (with
    // explicit keys: one partition or an IN) the page ended in the last key's partition and
    // that partition is done. A range scan's full page always has one.
    let limit_used_up = remaining.is_some_and(|r| emitted >= r);
    let more = match page_full {
        None => false,
        Some(_) if limit_used_up => false,
        Some(partition_done) => !(explicit && stopped_in_last_key && partition_done),
    };
    let paging_state = if more {
        last_pos.map(|(token, key, ck, ppl_left)| {
            PagingState {
                token,
                key,
                ck,
                remaining: remaining.map(|r| (r - out_rows.len() as i64).max(0) as usize),
                partition_remaining: ppl_left,
            }
            .encode()
        })
    } else {
        None
    };
    let _ = emitted;
    Ok(Rows {
        columns: plan.columns.clone(),
        rows: out_rows,
        paging_state,
    })
}

fn col_value(t: &TableSchema, c: usize, pk: &[&[u8]], p: &Partition, row: Option<&Row>, now: i64) -> Option<Bytes> {
    let col = &t.columns[c];
    match col.kind {
        Kind::PartitionKey => pk.get(col.position as usize).map(|b| Bytes::copy_from_slice(b)),
        Kind::Clustering => row.and_then(|r| r.ck.get(col.position as usize)).map(Bytes::copy_from_slice),
        Kind::Static => p.statics.as_ref().and_then(|s| s.cell(col.slot)).and_then(|c| c.live_value(now)).map(Bytes::copy_from_slice),
        Kind::Regular => row.and_then(|r| r.cell(col.slot)).and_then(|c| c.live_value(now)).map(Bytes::copy_from_slice),
    }
}

#[allow(clippy::too_many_arguments)]
fn project(
    plan: &SelectPlan,
    t: &TableSchema,
    pk: &[&[u8]],
    p: &Partition,
    row: Option<&Row>,
    token: i64,
    now: i64,
    now_micros: i64,
) -> CqlResult<Vec<Option<Bytes>>> {
    let mut out = Vec::with_capacity(plan.sels.len());
    for s in &plan.sels {
        out.push(match s {
            Sel::Col(c) => col_value(t, *c, pk, p, row, now),
            Sel::Expr(e) => eval_sel(e, &|c| col_value(t, c, pk, p, row, now), now_micros)?,
            Sel::WriteTime(c) | Sel::Ttl(c) => {
                let col = &t.columns[*c];
                let cell = if col.kind == Kind::Static {
                    p.statics.as_ref().and_then(|s| s.cell(col.slot))
                } else {
                    row.and_then(|r| r.cell(col.slot))
                };
                match cell.filter(|c| c.live(now)) {
                    None => None,
                    Some(cell) => match s {
                        Sel::WriteTime(_) => Some(Bytes::copy_from_slice(&cell.ts.to_be_bytes())),
                        _ if cell.expire == 0 => None,
                        _ => Some(Bytes::copy_from_slice(&((cell.expire - now).max(0) as i32).to_be_bytes())),
                    },
                }
            }
            Sel::Token => Some(Bytes::copy_from_slice(&token.to_be_bytes())),
            Sel::CountStar | Sel::Count(_) | Sel::Agg(..) => None,
        });
    }
    Ok(out)
}

fn eval_sel(e: &SelExpr, col: &dyn Fn(usize) -> Option<Bytes>, now_micros: i64) -> CqlResult<Option<Bytes>> {
    match e {
        SelExpr::Col(c) => Ok(col(*c)),
        SelExpr::Call(f, args) => {
            let vals = args.iter().map(|a| eval_sel(a, col, now_micros)).collect::<CqlResult<Vec<_>>>()?;
            scalar::call(f, &vals, now_micros)
        }
    }
}

/// The values of `(c1, c2) IN ?`: the bound list of tuples, flattened; a null anywhere is
/// refused naming its column, as for literal tuples.
fn tuple_list(t: &TableSchema, cols: &[usize], list: &Val) -> CqlResult<Vec<Bytes>> {
    let null = |k: usize| CqlError::invalid(format!("Invalid null value in condition for column {}", t.columns[cols[k % cols.len()]].name));
    let Val::V(b) = list else { return Err(null(0)) };
    let items = decode_collection(b).ok_or_else(|| CqlError::invalid("Invalid list of tuples for a multi-column IN"))?;
    let mut out = Vec::with_capacity(items.len() * cols.len());
    for item in items {
        let item = item.ok_or_else(|| null(0))?;
        let mut pos = 0;
        for k in 0..cols.len() {
            let len = item.get(pos..pos + 4).map(|l| i32::from_be_bytes([l[0], l[1], l[2], l[3]])).ok_or_else(|| null(k))?;
            pos += 4;
            if len < 0 {
                return Err(null(k));
            }
            let v = item.get(pos..pos + len as usize).ok_or_else(|| CqlError::invalid("Invalid tuple value"))?;
            out.push(item.slice_ref(v));
            pos += len as usize;
        }
    }
    Ok(out)
}

/// One GROUP BY group while it is read.
struct Group {
    key: Bytes,
    ck: Vec<Bytes>,
    row: Vec<Option<Bytes>>,
    accs: Vec<Acc>,
    last_pos: (i64, Bytes, Vec<Bytes>, Option<usize>),
}

impl Group {
    /// The group's row: its first row's values, its aggregates over all its rows.
    fn finish(mut self, plan: &SelectPlan, t: &TableSchema) -> Vec<Option<Bytes>> {
        fill_aggregates(plan, t, &mut self.row, &self.accs);
        self.row
    }
}

/// Adds one row to the aggregate selectors' accumulators.
fn accumulate(plan: &SelectPlan, t: &TableSchema, accs: &mut [Acc], pk: &[&[u8]], p: &Partition, row: Option<&Row>, now: i64) {
    for (s, acc) in plan.sels.iter().zip(accs.iter_mut()) {
        match s {
            Sel::CountStar => acc.add_count(),
            Sel::Count(c) if column_value(t, *c, pk, p, row, now).is_some() => acc.add_count(),
            Sel::Agg(kind, c) => {
                if let Some(v) = column_value(t, *c, pk, p, row, now) {
                    acc.add(*kind, &t.columns[*c].ty, v);
                }
            }
            _ => {}
        }
    }
}

/// Writes the aggregates' results into a row built from the first row read.
fn fill_aggregates(plan: &SelectPlan, t: &TableSchema, row: &mut [Option<Bytes>], accs: &[Acc]) {
    for (i, (s, acc)) in plan.sels.iter().zip(accs.iter()).enumerate() {
        match s {
            Sel::CountStar | Sel::Count(_) => row[i] = Some(Bytes::copy_from_slice(&acc.count.to_be_bytes())),
            Sel::Agg(kind, c) => row[i] = acc.result(*kind, &t.columns[*c].ty),
            _ => {}
        }
    }
}

/// Running state of one aggregate selector.
#[derive(Default)]
struct Acc {
    count: i64,
    int_sum: i128,
    float_sum: f64,
    best: Option<Bytes>,
    big: super::bignum::BigAcc,
}

impl Acc {
    fn add_count(&mut self) {
        self.count += 1;
    }

    fn add(&mut self, kind: AggKind, ty: &ColumnType, v: &[u8]) {
        match kind {
            AggKind::Min | AggKind::Max => {
                let better = match &self.best {
                    None => true,
                    Some(b) => {
                        let o = compare(ty, v, b);
                        if kind == AggKind::Min {
                            o == Ordering::Less
                        } else {
                            o == Ordering::Greater
                        }
                    }
                };
                if better {
                    self.best = Some(Bytes::copy_from_slice(v));
                }
            }
            AggKind::Sum | AggKind::Avg => {
                self.count += 1;
                match ty {
                    ColumnType::Float => self.float_sum += v.try_into().map(f32::from_be_bytes).unwrap_or(0.0) as f64,
                    ColumnType::Double => self.float_sum += v.try_into().map(f64::from_be_bytes).unwrap_or(0.0),
                    ColumnType::Decimal => self.big.add_decimal(v),
                    ColumnType::Varint => self.big.add_varint(v),
                    _ => {
                        let mut buf = [if v.first().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 }; 16];
                        let n = v.len().min(16);
                        buf[16 - n..].copy_from_slice(&v[v.len() - n..]);
                        self.int_sum += i128::from_be_bytes(buf);
                    }
                }
            }
        }
    }

    /// The aggregate in the column's type (sums and averages of integers wrap and truncate,
    /// like Cassandra's Java arithmetic).
    fn result(&self, kind: AggKind, ty: &ColumnType) -> Option<Bytes> {
        match kind {
            AggKind::Min | AggKind::Max => self.best.clone(),
            AggKind::Sum | AggKind::Avg => {
                let avg = kind == AggKind::Avg;
                let n = self.count.max(1);
                Some(match ty {
                    ColumnType::Decimal => self.big.decimal(avg),
                    ColumnType::Varint => self.big.varint(avg),
                    ColumnType::Float => {
                        let v = if avg && self.count > 0 {
                            self.float_sum / n as f64
                        } else {
                            self.float_sum
                        };
                        Bytes::copy_from_slice(&(v as f32).to_be_bytes())
                    }
                    ColumnType::Double => {
                        let v = if avg && self.count > 0 {
                            self.float_sum / n as f64
                        } else {
                            self.float_sum
                        };
                        Bytes::copy_from_slice(&v.to_be_bytes())
                    }
                    _ => {
                        let v = if avg { self.int_sum / n as i128 } else { self.int_sum };
                        match ty {
                            ColumnType::Int => Bytes::copy_from_slice(&(v as i32).to_be_bytes()),
                            ColumnType::Smallint => Bytes::copy_from_slice(&(v as i16).to_be_bytes()),
                            ColumnType::Tinyint => Bytes::copy_from_slice(&(v as i8).to_be_bytes()),
                            _ => Bytes::copy_from_slice(&(v as i64).to_be_bytes()),
                        }
                    }
                })
            }
        }
    }
}
