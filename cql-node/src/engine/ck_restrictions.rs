//! The clustering-column restrictions of a SELECT, merged and checked as Cassandra 4.1's
//! `RestrictionSet` / `ClusteringColumnRestrictions` do: single-column (`c = ?`, `c > ?`) and
//! multi-column (`(c1, c2) > (?, ?)`, `(c1, c2) = (?, ?)`, `(c1, c2) IN ((..), (..))`)
//! restrictions on the same columns merge or are refused with its messages, a restriction
//! after a slice is refused unless ALLOW FILTERING, and a gap needs filtering. Rows are then
//! checked one by one against every restriction (`select.rs`), so what is accepted here is
//! answered exactly; this module only decides what is accepted.

use super::ast::Op;
use super::schema::TableSchema;
use crate::error::{CqlError, CqlResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Eq,
    In,
    Slice { start: bool, end: bool },
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// Clustering positions covered, `first..=last`.
    pub first: usize,
    pub last: usize,
    pub multi: bool,
    pub kind: Kind,
}

/// The restrictions so far, one entry per restriction, each position pointing at its entry.
pub struct CkSet {
    pub entries: Vec<Entry>,
    by_pos: Vec<Option<usize>>,
}

fn kind_of(op: Op) -> Kind {
    match op {
        Op::Eq => Kind::Eq,
        Op::In => Kind::In,
        Op::Gt | Op::Ge => Kind::Slice { start: true, end: false },
        _ => Kind::Slice { start: false, end: true },
    }
}

impl CkSet {
    pub fn new(clustering_columns: usize) -> Self {
        CkSet {
            entries: Vec::new(),
            by_pos: vec![None; clustering_columns],
        }
    }

    fn name(t: &TableSchema, pos: usize) -> &str {
        &t.columns[t.ck[pos]].name
    }

    /// The entry restricting the highest restricted position (RestrictionSet.lastRestriction).
    fn last(&self) -> Option<&Entry> {
        self.by_pos.iter().rev().flatten().next().map(|i| &self.entries[*i])
    }

    /// Adds the restriction `op` on positions `first..=last` (`=`, `IN` or a slice).
    pub fn add(&mut self, t: &TableSchema, first: usize, last: usize, multi: bool, op: Op, allow_filtering: bool) -> CqlResult<()> {
        let new_kind = kind_of(op);
        let was_empty = self.entries.is_empty();
        let last_before = self.last().cloned();
        // RestrictionSet.addRestriction: an existing restriction on a shared column merges the
        // new one (Single/MultiColumnRestriction.doMergeWith).
        let mut merged_into = None;
        for pos in first..=last {
            let Some(i) = self.by_pos[pos] else { continue };
            if merged_into == Some(i) {
                continue;
            }
            let e = self.entries[i].clone();
            let common = Self::name(t, pos.max(e.first)).to_string();
            match e.kind {
                Kind::Eq => {
                    return Err(CqlError::invalid(format!(
                        "{common} cannot be restricted by more than one relation if it includes an Equal"
                    )));
                }
                Kind::In => {
                    return Err(CqlError::invalid(format!(
                        "{common} cannot be restricted by more than one relation if it includes a IN"
                    )));
                }
                Kind::Slice { start, end } => {
                    let Kind::Slice { start: s2, end: e2 } = new_kind else {
                        return Err(CqlError::invalid(if e.multi {
                            format!("Column \"{common}\" cannot be restricted by an equality relation and an inequality relation")
                        } else {
                            format!("Column \"{common}\" cannot be restricted by both an equality and an inequality relation")
                        }));
                    };
                    if e.first != first {
                        return Err(CqlError::invalid(format!(
                            "Column \"{}\" cannot be restricted by two inequalities not starting with the same column",
                            Self::name(t, e.first.max(first))
                        )));
                    }
                    if start && s2 {
                        return Err(CqlError::invalid(format!("More than one restriction was found for the start bound on {common}")));
                    }
                    if end && e2 {
                        return Err(CqlError::invalid(format!("More than one restriction was found for the end bound on {common}")));
                    }
                    let entry = &mut self.entries[i];
                    entry.kind = Kind::Slice {
                        start: start || s2,
                        end: end || e2,
                    };
                    entry.last = entry.last.max(last);
                    entry.multi |= multi;
                    merged_into = Some(i);
                }
            }
        }
        // ClusteringColumnRestrictions.mergeWith: nothing after a slice, no slice before what is
        // restricted, unless filtering.
        if !was_empty
            && !allow_filtering
            && let Some(lb) = &last_before
        {
            if matches!(lb.kind, Kind::Slice { .. }) && first > lb.first {
                return Err(CqlError::invalid(format!(
                    "Clustering column \"{}\" cannot be restricted (preceding column \"{}\" is restricted by a non-EQ relation)",
                    Self::name(t, first),
                    Self::name(t, lb.first)
                )));
            }
            if first < lb.first && matches!(new_kind, Kind::Slice { .. }) {
                let next = (first + 1..self.by_pos.len()).find(|p| self.by_pos[*p].is_some()).unwrap_or(lb.first);
                return Err(CqlError::invalid(format!(
                    "PRIMARY KEY column \"{}\" cannot be restricted (preceding column \"{}\" is restricted by a non-EQ relation)",
                    Self::name(t, next),
                    Self::name(t, first)
                )));
            }
        }
        let i = match merged_into {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    first,
                    last,
                    multi,
                    kind: new_kind,
                });
                self.entries.len() - 1
            }
        };
        for pos in first..=last {
            self.by_pos[pos] = Some(i);
        }
        Ok(())
    }

    /// The distinct entries in column order.
    fn in_order(&self) -> Vec<&Entry> {
        let mut out: Vec<usize> = Vec::new();
        for i in self.by_pos.iter().flatten() {
            if !out.contains(i) {
                out.push(*i);
            }
        }
        out.into_iter().map(|i| &self.entries[i]).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// ClusteringColumnRestrictions.needFiltering: a restriction that does not start where the
    /// previous `=`/`IN` ended (a gap, or anything after a slice).
    pub fn needs_filtering(&self) -> bool {
        let mut position = 0;
        for e in self.in_order() {
            if e.first != position {
                return true;
            }
            if !matches!(e.kind, Kind::Slice { .. }) {
                position = e.last + 1;
            }
        }
        false
    }

    /// StatementRestrictions' refusal of a gap without ALLOW FILTERING: the first restricted
    /// column that is not the clustering column at its rank.
    pub fn gap_error(&self, t: &TableSchema) -> Option<CqlError> {
        let restricted: Vec<usize> = (0..self.by_pos.len()).filter(|p| self.by_pos[*p].is_some()).collect();
        restricted.iter().enumerate().find(|(i, p)| *i != **p).map(|(i, p)| {
            CqlError::invalid(format!(
                "PRIMARY KEY column \"{}\" cannot be restricted as preceding column \"{}\" is not restricted",
                Self::name(t, *p),
                Self::name(t, i)
            ))
        })
    }

    /// Is the column at `pos` restricted by `=` (alone or in a tuple)?
    pub fn is_restricted_by_eq(&self, pos: usize) -> bool {
        self.by_pos.get(pos).copied().flatten().is_some_and(|i| self.entries[i].kind == Kind::Eq)
    }

    /// The entries of the leading run of `=` restrictions (the rows to narrow the scan to).
    pub fn eq_prefix(&self) -> Vec<&Entry> {
        let mut out = Vec::new();
        let mut position = 0;
        for e in self.in_order() {
            if e.first != position || e.kind != Kind::Eq {
                break;
            }
            position = e.last + 1;
            out.push(e);
        }
        out
    }
}
