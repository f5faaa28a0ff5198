//! Resolution of parsed statements against the schema: column names to indices, terms to
//! typed expressions, bind markers to metadata, and Cassandra's restriction rules checked
//! once at prepare time so EXECUTE only evaluates.

use std::sync::Arc;

use bytes::Bytes;

use super::ast::*;
use super::schema::{Kind, TableSchema};
use super::value::{encode_literal, is_collection, type_name};
use super::{ColumnSpec, StatementKind};
use crate::error::{CqlError, CqlResult};
use crate::types::ColumnType;

#[derive(Debug, Clone)]
pub enum Expr {
    Const(Option<Bytes>),
    Bind(usize, ColumnType, String),
    List(Vec<Expr>),
    Set(ColumnType, Vec<Expr>),
    Map(ColumnType, Vec<(Expr, Expr)>),
    Tuple(Vec<Expr>),
    Now,
    NewUuid,
    CurrentTimestamp,
    CurrentDate,
    ToTimestamp(Box<Expr>),
    ToUnixTimestamp(Box<Expr>),
    ToDate(Box<Expr>),
    /// `token(a, b)` of values: the Murmur3 token of the partition key they form.
    Token(Vec<Expr>),
    /// `(c1, c2) IN ?`: the bound list of tuples (evaluates to the list's bytes).
    TupleList(Box<Expr>),
}

#[derive(Debug, Clone)]
pub enum KeyRestr {
    Eq(Expr),
    In(Vec<Expr>),
    /// `IN ?`: one bound list.
    InMarker(Expr),
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub col: usize,
    /// `m[key] op v` conditions.
    pub elem: Option<Expr>,
    pub op: Op,
    pub rhs: KeyRestr,
}

#[derive(Debug, Clone)]
pub enum Sel {
    Col(usize),
    WriteTime(usize),
    Ttl(usize),
    CountStar,
    Count(usize),
    /// min / max / sum / avg of a column.
    Agg(AggKind, usize),
    Token,
    /// A native scalar function of columns (or of other functions).
    Expr(super::scalar::SelExpr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggKind {
    Min,
    Max,
    Sum,
    Avg,
}

#[derive(Debug, Clone)]
pub struct SelectPlan {
    pub table: Arc<TableSchema>,
    pub sels: Vec<Sel>,
    pub columns: Vec<ColumnSpec>,
    /// One per partition-key component when all are restricted by = or IN.
    pub pk: Option<Vec<KeyRestr>>,
    pub token_bounds: Vec<(Op, Expr)>,
    /// Leading clustering columns restricted by `=` (used to narrow the row scan).
    pub ck_eq: Vec<Expr>,
    pub filters: Vec<Filter>,
    /// Multi-column clustering relations `(c1, c2) > (x, y)`, `= (x, y)`, `IN ((x, y), ...)`:
    /// the columns, the operator and the tuples (one, or one per IN element), flattened.
    pub tuple_filters: Vec<(Vec<usize>, Op, Vec<Expr>)>,
    pub limit: Option<Expr>,
    pub per_partition_limit: Option<Expr>,
    pub reversed: bool,
    /// ORDER BY was given (rows of several IN partitions are then merged in that order).
    pub ordered: bool,
    pub aggregate: bool,
    pub distinct: bool,
    /// GROUP BY: how many clustering columns the groups are made of (0: whole partitions).
    pub group_by: Option<usize>,
}

#[derive(Debug, Clone)]
pub enum ColOp {
    Set(usize, Expr),
    Add(usize, Expr),
    Sub(usize, Expr),
    Prepend(usize, Expr),
    SetElem(usize, Expr, Expr),
    Delete(usize),
    DeleteElem(usize, Expr),
}

#[derive(Debug, Clone)]
pub enum CondPlan {
    None,
    IfExists,
    IfNotExists,
    Conds(Vec<Filter>),
}

#[derive(Debug, Clone)]
pub struct ModifyPlan {
    pub table: Arc<TableSchema>,
    pub kind: StatementKind,
    pub pk: Vec<KeyRestr>,
    pub ck: Vec<KeyRestr>,
    pub ck_slice: Vec<(usize, Op, Expr)>,
    pub ops: Vec<ColOp>,
    pub marker: bool,
    pub delete_row: bool,
    pub ttl: Option<Expr>,
    pub timestamp: Option<Expr>,
    pub cond: CondPlan,
}

impl ModifyPlan {
    pub fn is_lwt(&self) -> bool {
        !matches!(self.cond, CondPlan::None)
    }
}

/// A write's key restrictions: partition key, clustering prefix, clustering slices (DELETE).
type WriteKeys = (Vec<KeyRestr>, Vec<KeyRestr>, Vec<(usize, Op, Expr)>);

/// Collects bind-marker metadata while resolving one statement.
pub struct Binder {
    pub table: Arc<TableSchema>,
    pub specs: Vec<ColumnSpec>,
    /// The first column the selection names up to the selector being resolved: Cassandra's
    /// "x cannot be cast to T" names it (`defs.get(0)` in Selectable.WithCast).
    first_selected: Option<String>,
}

/// Cassandra's refusal of a statement that leaves parts of a key unnamed; `what` is
/// "partition key parts" or "clustering keys", as in its messages.
fn require_all<T>(t: &TableSchema, restrictions: &[Option<T>], columns: &[usize], what: &str) -> CqlResult<()> {
    let missing: Vec<&str> = restrictions
        .iter()
        .zip(columns)
        .filter(|(r, _)| r.is_none())
        .map(|(_, i)| t.columns[*i].name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CqlError::invalid(format!("Some {what} are missing: {}", missing.join(", "))))
    }
}

/// Cassandra's Operator.toString.
fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::In => "IN",
        Op::Contains => "CONTAINS",
        Op::ContainsKey => "CONTAINS KEY",
    }
}

/// A term as Cassandra prints it in messages (Term.Raw.getText).
pub fn term_text(t: &Term) -> String {
    let list = |v: &[Term]| v.iter().map(term_text).collect::<Vec<_>>().join(", ");
    match t {
        Term::Lit(Literal::Str(s)) => format!("'{}'", s.replace('\'', "''")),
        Term::Lit(l) => super::value::literal_text(l),
        Term::Bind(None) => "?".into(),
        Term::Bind(Some(n)) => format!(":{n}"),
        Term::List(v) => format!("[{}]", list(v)),
        Term::Set(v) => format!("{{{}}}", list(v)),
        Term::Map(m) => format!("{{{}}}", m.iter().map(|(k, v)| format!("{}: {}", term_text(k), term_text(v))).collect::<Vec<_>>().join(", ")),
        Term::Tuple(v) => format!("({})", list(v)),
        Term::Func(n, a) => format!("{n}({})", list(a)),
        Term::Cast(inner, ty) => format!("({}){}", super::value::type_name(ty, false), term_text(inner)),
    }
}

/// The first column a selector names, left to right (the order Cassandra collects them in).
fn first_column(s: &Selector) -> Option<String> {
    match s {
        Selector::Column(n) | Selector::Count(n) | Selector::WriteTime(n) | Selector::Ttl(n) => Some(n.clone()),
        Selector::Token(cols) => cols.first().cloned(),
        Selector::Func(_, args) => args.iter().find_map(first_column),
        Selector::Cast(inner, ..) => first_column(inner),
        Selector::Star | Selector::CountStar => None,
    }
}

fn undefined(t: &TableSchema, name: &str) -> CqlError {
    CqlError::invalid(format!("Undefined column name {name} in table {}", t.qualified()))
}

impl Binder {
    pub fn new(table: Arc<TableSchema>) -> Self {
        Binder {
            table,
            specs: Vec::new(),
            first_selected: None,
        }
    }

    fn spec(&mut self, name: String, ty: ColumnType) -> usize {
        self.specs.push(ColumnSpec {
            keyspace: self.table.keyspace.clone(),
            table: self.table.name.clone(),
            name,
            ty,
        });
        self.specs.len() - 1
    }

    /// A selector inside or as a scalar function call: its expression, type and the column
    /// name Cassandra gives it (`system.todate(t)`).
    fn sel_expr(&self, s: &Selector) -> CqlResult<(super::scalar::SelExpr, ColumnType, String)> {
        use super::scalar::{SelExpr, resolve};
        match s {
            Selector::Column(n) => {
                let i = self.col(n)?;
                Ok((SelExpr::Col(i), self.table.columns[i].ty.clone(), n.clone()))
            }
            Selector::Func(name, args) => {
                let mut exprs = Vec::with_capacity(args.len());
                let mut types = Vec::with_capacity(args.len());
                let mut names = Vec::with_capacity(args.len());
                for a in args {
                    let (e, t, n) = self.sel_expr(a)?;
                    exprs.push(e);
                    types.push(t);
                    names.push(n);
                }
                let (f, ty) = resolve(name, &types).ok_or_else(|| CqlError::invalid(format!("Unknown function '{name}'")))??;
                Ok((SelExpr::Call(f, exprs), ty, format!("system.{name}({})", names.join(", "))))
            }
            Selector::Cast(inner, to, varchar) => {
                use super::cast::{Resolved, resolve};
                let (e, from, n) = self.sel_expr(inner)?;
                let first = self.first_selected.clone().or_else(|| first_column(inner));
                match resolve(&from, to, *varchar, first.as_deref())? {
                    Resolved::Identity => Ok((e, from, n)),
                    Resolved::Call(c) => {
                        let tname = if *varchar { "varchar".to_string() } else { super::value::type_name(to, false) };
                        Ok((SelExpr::Call(super::scalar::Scalar::Cast(c), vec![e]), to.clone(), format!("cast({n} as {tname})")))
                    }
                }
            }
            _ => Err(CqlError::invalid("Only columns and native scalar functions may be arguments of a function here")),
        }
    }

    pub fn col(&self, name: &str) -> CqlResult<usize> {
        self.table.by_name.get(name).copied().ok_or_else(|| undefined(&self.table, name))
    }

    /// Resolves `term` for a receiver named `recv` of type `ty`.
    pub fn term(&mut self, t: &Term, recv: &str, ty: &ColumnType) -> CqlResult<Expr> {
        Ok(match t {
            Term::Lit(l) => {
                if let (ColumnType::Counter, Literal::Int(_)) = (ty, l) {
                    return Ok(Expr::Const(encode_literal(&ColumnType::Bigint, l, recv)?));
                }
                Expr::Const(encode_literal(ty, l, recv)?)
            }
            Term::Bind(name) => {
                let n = name.clone().unwrap_or_else(|| recv.to_string());
                let i = self.spec(n.clone(), ty.clone());
                Expr::Bind(i, ty.clone(), n)
            }
            Term::List(items) => match ty {
                ColumnType::List(e) => Expr::List(items.iter().map(|x| self.term(x, recv, e)).collect::<CqlResult<_>>()?),
                _ => return Err(self.bad_collection("list", recv, ty)),
            },
            Term::Set(items) => match ty {
                ColumnType::Set(e) => Expr::Set(
                    (**e).clone(),
                    items.iter().map(|x| self.term(x, recv, e)).collect::<CqlResult<_>>()?,
                ),
                _ => return Err(self.bad_collection("set", recv, ty)),
            },
            Term::Map(items) => match ty {
                ColumnType::Map(k, v) => Expr::Map(
                    (**k).clone(),
                    items
                        .iter()
                        .map(|(a, b)| Ok((self.term(a, recv, k)?, self.term(b, recv, v)?)))
                        .collect::<CqlResult<_>>()?,
                ),
                ColumnType::Set(e) if items.is_empty() => Expr::Set((**e).clone(), vec![]),
                _ => return Err(self.bad_collection("map", recv, ty)),
            },
            Term::Tuple(items) => match ty {
                ColumnType::Tuple(ts) if ts.len() >= items.len() => Expr::Tuple(
                    items
                        .iter()
                        .zip(ts.iter())
                        .map(|(x, t)| self.term(x, recv, t))
                        .collect::<CqlResult<_>>()?,
                ),
                _ => {
                    return Err(CqlError::invalid(format!(
                        "Invalid tuple type literal for {recv} of type {}",
                        type_name(ty, false)
                    )));
                }
            },
            Term::Cast(inner, _) => self.term(inner, recv, ty)?,
            Term::Func(name, args) => self.func(name, args, recv, ty)?,
        })
    }

    fn bad_collection(&self, what: &str, recv: &str, ty: &ColumnType) -> CqlError {
        CqlError::invalid(format!("Invalid {what} literal for {recv} of type {}", type_name(ty, false)))
    }

    fn func(&mut self, name: &str, args: &[Term], recv: &str, ty: &ColumnType) -> CqlResult<Expr> {
        let want = |ok: bool, ret: &str| -> CqlResult<()> {
            if ok {
                Ok(())
            } else {
                Err(CqlError::invalid(format!(
                    "Type error: cannot assign result of function system.{name} (type {ret}) to {recv} (type {})",
                    type_name(ty, false)
                )))
            }
        };
        let argc = |n: usize| super::scalar::argc(name, args.len(), n);
        Ok(match name {
            "now" | "currenttimeuuid" => {
                argc(0)?;
                want(matches!(ty, ColumnType::Timeuuid | ColumnType::Uuid), "timeuuid")?;
                Expr::Now
            }
            "uuid" => {
                argc(0)?;
                want(matches!(ty, ColumnType::Uuid), "uuid")?;
                Expr::NewUuid
            }
            "currenttimestamp" => {
                argc(0)?;
                want(matches!(ty, ColumnType::Timestamp), "timestamp")?;
                Expr::CurrentTimestamp
            }
            "currentdate" => {
                argc(0)?;
                want(matches!(ty, ColumnType::Date), "date")?;
                Expr::CurrentDate
            }
            "totimestamp" | "tounixtimestamp" | "todate" => {
                argc(1)?;
                let (ret, ok) = match name {
                    "totimestamp" => ("timestamp", matches!(ty, ColumnType::Timestamp)),
                    "todate" => ("date", matches!(ty, ColumnType::Date)),
                    _ => ("bigint", matches!(ty, ColumnType::Bigint | ColumnType::Counter)),
                };
                want(ok, ret)?;
                let inner = self.term(&args[0], recv, &ColumnType::Timeuuid)?;
                match name {
                    "totimestamp" => Expr::ToTimestamp(Box::new(inner)),
                    "todate" => Expr::ToDate(Box::new(inner)),
                    _ => Expr::ToUnixTimestamp(Box::new(inner)),
                }
            }
            "token" => {
                // TokenFct: one argument per partition-key column, of its type; a bigint.
                let t = self.table.clone();
                argc(t.pk.len())?;
                want(matches!(ty, ColumnType::Bigint), "bigint")?;
                let mut parts = Vec::with_capacity(args.len());
                for (i, (a, c)) in args.iter().zip(&t.pk).enumerate() {
                    parts.push(self.term(a, &format!("arg{i}(system.token)"), &t.columns[*c].ty.clone())?);
                }
                Expr::Token(parts)
            }
            _ => return Err(CqlError::invalid(format!("Unknown function '{name}'"))),
        })
    }

    /// `(c1, c2) op (x, y)` or `(c1, c2) IN ((x, y), ...)`, checked as MultiColumnRelation
    /// does; returns the columns and the values (all IN tuples one after the other).
    fn multi_column_relation(&mut self, cols: &[String], r: &Relation) -> CqlResult<(Vec<usize>, Vec<Expr>)> {
        let t = self.table.clone();
        let lhs = format!("({})", cols.join(", "));
        let text = || format!("{lhs} {} {}", op_text(r.op), r.rhs.iter().map(term_text).collect::<Vec<_>>().join(", "));
        match r.op {
            Op::Ne => return Err(CqlError::invalid(format!("Unsupported \"!=\" relation: {}", text()))),
            Op::Contains | Op::ContainsKey => {
                return Err(CqlError::invalid(format!("{} cannot be used for multi-column relations", op_text(r.op))));
            }
            _ => {}
        }
        let mut idx: Vec<usize> = Vec::with_capacity(cols.len());
        let mut previous: Option<i32> = None;
        for n in cols {
            let col = self.col(n)?;
            let c = &t.columns[col];
            if c.kind != Kind::Clustering {
                return Err(CqlError::invalid(format!(
                    "Multi-column relations can only be applied to clustering columns but was applied to: {n}"
                )));
            }
            if idx.contains(&col) {
                return Err(CqlError::invalid(format!("Column \"{n}\" appeared twice in a relation: {}", text())));
            }
            if previous.is_some_and(|p| c.position != p + 1) {
                return Err(CqlError::invalid(format!(
                    "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: {}",
                    text()
                )));
            }
            previous = Some(c.position);
            idx.push(col);
        }
        if r.in_marker {
            // Tuples.makeInReceiver: a list of tuples named `in(c1,c2)`.
            let n = match &r.rhs[0] {
                Term::Bind(Some(n)) => n.clone(),
                _ => format!("in({})", cols.join(",")),
            };
            let ty = ColumnType::List(Box::new(ColumnType::Tuple(idx.iter().map(|i| t.columns[*i].ty.clone()).collect())));
            let i = self.spec(n.clone(), ty.clone());
            return Ok((idx, vec![Expr::TupleList(Box::new(Expr::Bind(i, ty, n)))]));
        }
        let tuples: Vec<&Term> = if r.op == Op::In { r.rhs.iter().collect() } else { r.rhs.iter().take(1).collect() };
        let mut vals = Vec::with_capacity(tuples.len() * idx.len());
        for tuple in tuples {
            let items = match tuple {
                Term::Tuple(vs) => vs,
                other => {
                    return Err(CqlError::invalid(format!(
                        "Invalid {} for a multi-column relation {lhs}: expected a tuple of values",
                        term_text(other)
                    )));
                }
            };
            if items.len() != idx.len() {
                return Err(CqlError::invalid(format!(
                    "Expected {} elements in value tuple, but got {}: {}",
                    idx.len(),
                    items.len(),
                    term_text(tuple)
                )));
            }
            for (v, ci) in items.iter().zip(idx.iter()) {
                let c = &t.columns[*ci];
                let (n, ty) = (c.name.clone(), c.ty.clone());
                vals.push(self.term(v, &n, &ty)?);
            }
        }
        Ok((idx, vals))
    }

    /// GROUP BY, checked as SelectStatement.getAggregationSpecification: primary-key columns
    /// in their declared order, any column skipped restricted by `=`, the whole partition key;
    /// returns the number of clustering columns in the groups.
    fn group_by(&self, s: &Select, pk: &[Option<KeyRestr>], cks: &super::ck_restrictions::CkSet) -> CqlResult<Option<usize>> {
        if s.group_by.is_empty() {
            return Ok(None);
        }
        let t = &self.table;
        let order = || CqlError::invalid("Group by currently only support groups of columns following their declared order in the PRIMARY KEY");
        let key_columns: Vec<usize> = t.pk.iter().chain(t.ck.iter()).copied().collect();
        let mut next = 0usize;
        let mut prefix = 0usize;
        for name in &s.group_by {
            let col = self.col(name)?;
            if !t.columns[col].is_key() {
                return Err(CqlError::invalid(format!(
                    "Group by is currently only supported on the columns of the PRIMARY KEY, got {name}"
                )));
            }
            loop {
                let Some(&kc) = key_columns.get(next) else { return Err(order()) };
                next += 1;
                let c = &t.columns[kc];
                if c.kind == Kind::Clustering {
                    prefix += 1;
                }
                if kc == col {
                    break;
                }
                let by_eq = match c.kind {
                    Kind::PartitionKey => matches!(pk[c.position as usize], Some(KeyRestr::Eq(_))),
                    _ => cks.is_restricted_by_eq(c.position as usize),
                };
                if !by_eq {
                    return Err(order());
                }
            }
        }
        if key_columns.get(next).is_some_and(|c| t.columns[*c].kind == Kind::PartitionKey) {
            return Err(CqlError::invalid("Group by is not supported on only a part of the partition key"));
        }
        if prefix > 0 && s.distinct {
            return Err(CqlError::invalid("Grouping on clustering columns is not allowed for SELECT DISTINCT queries"));
        }
        Ok(Some(prefix))
    }

    /// `token(cols) op value`, checked as Cassandra's TokenRelation does (operator first, then
    /// the columns: all of the partition key, no duplicates, nothing else, in order).
    fn token_relation(&mut self, cols: &[String], r: &Relation) -> CqlResult<Expr> {
        let t = self.table.clone();
        let text = || format!("token({}) {} {}", cols.join(", "), op_text(r.op), r.rhs.iter().map(term_text).collect::<Vec<_>>().join(", "));
        match r.op {
            Op::Ne => return Err(CqlError::invalid(format!("Unsupported \"!=\" relation: {}", text()))),
            Op::In | Op::Contains | Op::ContainsKey => {
                return Err(CqlError::invalid(format!("{} cannot be used with the token function", op_text(r.op))));
            }
            _ => {}
        }
        let mut idx = Vec::with_capacity(cols.len());
        for c in cols {
            idx.push(self.col(c)?);
        }
        if idx != t.pk {
            let msg = if !t.pk.iter().all(|p| idx.contains(p)) {
                "The token() function must be applied to all partition key components or none of them".to_string()
            } else if (1..idx.len()).any(|i| idx[..i].contains(&idx[i])) {
                "The token() function contains duplicate partition key components".to_string()
            } else if idx.iter().any(|i| !t.pk.contains(i)) {
                "The token() function must contains only partition key components".to_string()
            } else {
                let want: Vec<&str> = t.pk.iter().map(|i| t.columns[*i].name.as_str()).collect();
                format!("The token function arguments must be in the partition key order: {}", want.join(", "))
            };
            return Err(CqlError::invalid(msg));
        }
        match &r.rhs[0] {
            Term::Bind(n) => {
                let n = n.clone().unwrap_or_else(|| "partition key token".into());
                let i = self.spec(n.clone(), ColumnType::Bigint);
                Ok(Expr::Bind(i, ColumnType::Bigint, n))
            }
            other => self.term(other, "partition key token", &ColumnType::Bigint),
        }
    }

    fn restr(&mut self, r: &Relation, col: usize) -> CqlResult<KeyRestr> {
        let c = &self.table.columns[col];
        let (name, ty) = (c.name.clone(), c.ty.clone());
        if r.op == Op::In {
            if r.in_marker {
                let n = match &r.rhs[0] {
                    Term::Bind(Some(n)) => n.clone(),
                    _ => format!("in({name})"),
                };
                let lt = ColumnType::List(Box::new(ty.clone()));
                let i = self.spec(n.clone(), lt.clone());
                return Ok(KeyRestr::InMarker(Expr::Bind(i, lt, n)));
            }
            return Ok(KeyRestr::In(
                r.rhs.iter().map(|t| self.term(t, &name, &ty)).collect::<CqlResult<_>>()?,
            ));
        }
        let t = r.rhs.first().ok_or_else(|| CqlError::syntax("missing value"))?;
        let ty = match r.op {
            Op::Contains => match &ty {
                ColumnType::List(e) | ColumnType::Set(e) => (**e).clone(),
                ColumnType::Map(_, v) => (**v).clone(),
                _ => return Err(CqlError::invalid(format!("Cannot use CONTAINS on non-collection column {name}"))),
            },
            Op::ContainsKey => match &ty {
                ColumnType::Map(k, _) => (**k).clone(),
                _ => return Err(CqlError::invalid(format!("Cannot use CONTAINS KEY on non-map column {name}"))),
            },
            _ => ty,
        };
        Ok(KeyRestr::Eq(self.term(t, &name, &ty)?))
    }

    fn using(&mut self, u: &Using) -> CqlResult<(Option<Expr>, Option<Expr>)> {
        let ttl = match &u.ttl {
            Some(t) => Some(self.term(t, "[ttl]", &ColumnType::Int)?),
            None => None,
        };
        let ts = match &u.timestamp {
            Some(t) => Some(self.term(t, "[timestamp]", &ColumnType::Bigint)?),
            None => None,
        };
        Ok((ttl, ts))
    }

    /// Partition key `=`/`IN` restrictions of a write: every component must be present.
    fn write_keys(
        &mut self,
        where_: &[Relation],
        allow_ck_slice: bool,
        deleting: bool,
    ) -> CqlResult<WriteKeys> {
        let t = self.table.clone();
        let mut pk: Vec<Option<KeyRestr>> = vec![None; t.pk.len()];
        let mut ck: Vec<Option<KeyRestr>> = vec![None; t.ck.len()];
        let mut slices = Vec::new();
        let what = if allow_ck_slice || deleting { "DELETE" } else { "UPDATE" };
        for r in where_ {
            let name = match &r.lhs {
                Lhs::Column(n) => n,
                Lhs::Token(_) => {
                    return Err(CqlError::invalid(format!(
                        "The token function cannot be used in WHERE clauses for {what} statements"
                    )));
                }
                Lhs::Tuple(cols) => {
                    // ModificationStatement takes `(c1, c2) = (x, y)` and `(c) IN ((x), (y))`
                    // like the single-column relations they stand for.
                    let (idx, vals) = self.multi_column_relation(cols, r)?;
                    match r.op {
                        Op::In if r.in_marker => {
                            return Err(CqlError::invalid(format!(
                                "A multi-column IN ? in the WHERE clause of {what} statements is not supported by this node"
                            )));
                        }
                        Op::Eq => {
                            for (ci, v) in idx.iter().zip(vals) {
                                let c = &t.columns[*ci];
                                let slot = &mut ck[c.position as usize];
                                if slot.is_some() {
                                    return Err(CqlError::invalid(format!(
                                        "{} cannot be restricted by more than one relation if it includes an Equal",
                                        c.name
                                    )));
                                }
                                *slot = Some(KeyRestr::Eq(v));
                            }
                        }
                        Op::In if idx.len() == 1 => {
                            let c = &t.columns[idx[0]];
                            let slot = &mut ck[c.position as usize];
                            if slot.is_some() {
                                return Err(CqlError::invalid(format!(
                                    "{} cannot be restricted by more than one relation if it includes a IN",
                                    c.name
                                )));
                            }
                            *slot = Some(KeyRestr::In(vals));
                        }
                        Op::In => {
                            return Err(CqlError::invalid(format!(
                                "A multi-column IN in the WHERE clause of {what} statements is not supported by this node"
                            )));
                        }
                        _ if what == "UPDATE" => {
                            return Err(CqlError::invalid(
                                "Slice restrictions are not supported on the clustering columns in UPDATE statements",
                            ));
                        }
                        _ => {
                            return Err(CqlError::invalid(
                                "A multi-column slice in the WHERE clause of DELETE statements is not supported by this node",
                            ));
                        }
                    }
                    continue;
                }
                Lhs::Element(..) => {
                    return Err(CqlError::invalid(
                        "Only simple column restrictions are supported in the WHERE clause of writes",
                    ));
                }
            };
            let col = self.col(name)?;
            let c = &t.columns[col];
            match c.kind {
                Kind::PartitionKey | Kind::Clustering => {
                    let pos = c.position as usize;
                    match r.op {
                        Op::Eq | Op::In => {
                            let slot = if c.kind == Kind::PartitionKey { &mut pk[pos] } else { &mut ck[pos] };
                            if slot.is_some() {
                                return Err(CqlError::invalid(format!(
                                    "{name} cannot be restricted by more than one relation if it includes an Equal"
                                )));
                            }
                            let kr = self.restr(r, col)?;
                            let slot = if c.kind == Kind::PartitionKey { &mut pk[pos] } else { &mut ck[pos] };
                            *slot = Some(kr);
                        }
                        Op::Lt | Op::Le | Op::Gt | Op::Ge if c.kind == Kind::Clustering && allow_ck_slice => {
                            let e = self.term(&r.rhs[0], name, &c.ty.clone())?;
                            slices.push((pos, r.op, e));
                        }
                        _ if c.kind == Kind::PartitionKey => {
                            return Err(CqlError::invalid(
                                "Only EQ and IN relation are supported on the partition key (unless you use the token() function)",
                            ));
                        }
                        Op::Lt | Op::Le | Op::Gt | Op::Ge if what == "UPDATE" => {
                            return Err(CqlError::invalid(
                                "Slice restrictions are not supported on the clustering columns in UPDATE statements",
                            ));
                        }
                        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                            return Err(CqlError::invalid("Range deletions are not supported for specific columns"));
                        }
                        _ => {
                            return Err(CqlError::invalid(format!(
                                "Invalid operator {:?} for PRIMARY KEY part {name}",
                                r.op
                            )));
                        }
                    }
                }
                _ => {
                    return Err(CqlError::invalid(format!("Non PRIMARY KEY columns found in where clause: {name} ")));
                }
            }
        }
        require_all(&t, &pk, &t.pk, "partition key parts")?;
        let pk = pk.into_iter().flatten().collect();
        // Clustering: a leading run of = / IN.
        let mut ck_out = Vec::new();
        let mut gap = false;
        for (i, r) in ck.into_iter().enumerate() {
            match r {
                Some(r) if !gap => ck_out.push(r),
                Some(_) => {
                    let prev = &t.columns[t.ck[i - 1]].name;
                    return Err(CqlError::invalid(format!(
                        "PRIMARY KEY column \"{}\" cannot be restricted as preceding column \"{prev}\" is not restricted",
                        t.columns[t.ck[i]].name
                    )));
                }
                None => gap = true,
            }
        }
        Ok((pk, ck_out, slices))
    }

    fn conditions(&mut self, c: &Condition) -> CqlResult<CondPlan> {
        Ok(match c {
            Condition::None => CondPlan::None,
            Condition::IfExists => CondPlan::IfExists,
            Condition::IfNotExists => CondPlan::IfNotExists,
            Condition::Conds(rs) => {
                let mut out = Vec::new();
                for r in rs {
                    let (name, elem) = match &r.lhs {
                        Lhs::Column(n) => (n, None),
                        Lhs::Element(n, k) => (n, Some(k)),
                        _ => return Err(CqlError::syntax("Invalid condition")),
                    };
                    let col = self.col(name)?;
                    let c = &self.table.columns[col];
                    if c.is_key() {
                        return Err(CqlError::invalid(format!("PRIMARY KEY column '{name}' cannot have IF conditions")));
                    }
                    let (elem, restr) = match elem {
                        None => (None, self.restr(r, col)?),
                        Some(k) => {
                            let (kty, vty) = match &c.ty {
                                ColumnType::Map(k, v) => ((**k).clone(), (**v).clone()),
                                ColumnType::List(v) => (ColumnType::Int, (**v).clone()),
                                _ => {
                                    return Err(CqlError::invalid(format!(
                                        "Invalid element access syntax for non-collection column {name}"
                                    )));
                                }
                            };
                            let cname = c.name.clone();
                            let ke = self.term(k, &format!("key({cname})"), &kty)?;
                            let vals = if r.op == Op::In {
                                KeyRestr::In(
                                    r.rhs
                                        .iter()
                                        .map(|t| self.term(t, &format!("value({cname})"), &vty))
                                        .collect::<CqlResult<_>>()?,
                                )
                            } else {
                                KeyRestr::Eq(self.term(&r.rhs[0], &format!("value({cname})"), &vty)?)
                            };
                            (Some(ke), vals)
                        }
                    };
                    out.push(Filter {
                        col,
                        elem,
                        op: r.op,
                        rhs: restr,
                    });
                }
                CondPlan::Conds(out)
            }
        })
    }

    pub fn insert(&mut self, ins: &Insert) -> CqlResult<ModifyPlan> {
        let t = self.table.clone();
        if t.is_counter {
            return Err(CqlError::invalid(
                "INSERT statements are not allowed on counter tables, use UPDATE instead",
            ));
        }
        let mut pk: Vec<Option<KeyRestr>> = vec![None; t.pk.len()];
        let mut ck: Vec<Option<KeyRestr>> = vec![None; t.ck.len()];
        let mut ops = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (name, term) in ins.columns.iter().zip(ins.values.iter()) {
            let col = self.col(name)?;
            if !seen.insert(col) {
                return Err(CqlError::invalid(format!("Multiple definitions found for column {name}")));
            }
            let c = &t.columns[col];
            let (cname, ty, kind, pos, slot) = (c.name.clone(), c.ty.clone(), c.kind, c.position, c.slot);
            let e = self.term(term, &cname, &ty)?;
            match kind {
                Kind::PartitionKey => pk[pos as usize] = Some(KeyRestr::Eq(e)),
                Kind::Clustering => ck[pos as usize] = Some(KeyRestr::Eq(e)),
                _ => ops.push(ColOp::Set(slot, e)),
            }
        }
        require_all(&t, &pk, &t.pk, "partition key parts")?;
        // Static columns alone (no clustering column given) write the partition's static row,
        // with no row marker: Cassandra keeps no liveness info on static rows.
        let statics_only = !t.ck.is_empty()
            && ck.iter().all(|c| c.is_none())
            && !ops.is_empty()
            && ins.columns.iter().all(|n| self.col(n).is_ok_and(|i| matches!(t.columns[i].kind, Kind::Static | Kind::PartitionKey)));
        if !statics_only {
            require_all(&t, &ck, &t.ck, "clustering keys")?;
        }
        let (ttl, timestamp) = self.using(&ins.using)?;
        if ins.if_not_exists && timestamp.is_some() {
            return Err(CqlError::invalid("Cannot provide custom timestamp for conditional updates"));
        }
        Ok(ModifyPlan {
            table: t.clone(),
            kind: StatementKind::Insert,
            pk: pk.into_iter().flatten().collect(),
            ck: ck.into_iter().flatten().collect(),
            ck_slice: vec![],
            ops,
            marker: !statics_only,
            delete_row: false,
            ttl,
            timestamp,
            cond: if ins.if_not_exists { CondPlan::IfNotExists } else { CondPlan::None },
        })
    }

    pub fn update(&mut self, up: &Update) -> CqlResult<ModifyPlan> {
        let t = self.table.clone();
        let (ttl, timestamp) = self.using(&up.using)?;
        let mut ops = Vec::new();
        let mut only_static = true;
        for a in &up.assignments {
            let name = match a {
                Assignment::Set(n, _)
                | Assignment::Add(n, _)
                | Assignment::Sub(n, _)
                | Assignment::Prepend(n, _)
                | Assignment::SetElement(n, _, _) => n,
            };
            let col = self.col(name)?;
            let c = &t.columns[col];
            if c.is_key() {
                return Err(CqlError::invalid(format!("PRIMARY KEY part {name} found in SET part")));
            }
            if c.kind != Kind::Static {
                only_static = false;
            }
            let (cname, ty, slot) = (c.name.clone(), c.ty.clone(), c.slot);
            let is_counter = ty == ColumnType::Counter;
            ops.push(match a {
                Assignment::Set(_, term) => {
                    if is_counter {
                        return Err(CqlError::invalid(format!(
                            "Cannot set the value of counter column {cname} (counters can only be incremented/decremented, not set)"
                        )));
                    }
                    ColOp::Set(slot, self.term(term, &cname, &ty)?)
                }
                Assignment::Add(_, term) | Assignment::Sub(_, term) => {
                    let plus = matches!(a, Assignment::Add(..));
                    if !is_counter && !is_collection(&ty) {
                        return Err(CqlError::invalid(format!(
                            "Invalid operation ({cname} = {cname} {} ?) for non counter column {cname}",
                            if plus { "+" } else { "-" }
                        )));
                    }
                    let rty = match (&ty, plus) {
                        (ColumnType::Map(k, _), false) => ColumnType::Set(k.clone()),
                        _ => ty.clone(),
                    };
                    let e = self.term(term, &cname, &rty)?;
                    if plus { ColOp::Add(slot, e) } else { ColOp::Sub(slot, e) }
                }
                Assignment::Prepend(_, term) => {
                    if !matches!(ty, ColumnType::List(_)) {
                        return Err(CqlError::invalid(format!(
                            "Invalid operation ({cname} = ? + {cname}) for non list column {cname}"
                        )));
                    }
                    ColOp::Prepend(slot, self.term(term, &cname, &ty)?)
                }
                Assignment::SetElement(_, k, v) => {
                    let (kty, vty) = match &ty {
                        ColumnType::Map(k, v) => ((**k).clone(), (**v).clone()),
                        ColumnType::List(v) => (ColumnType::Int, (**v).clone()),
                        _ => {
                            return Err(CqlError::invalid(format!(
                                "Invalid operation ({cname}[?] = ?) for non collection column {cname}"
                            )));
                        }
                    };
                    let kn = if matches!(ty, ColumnType::List(_)) {
                        format!("idx({cname})")
                    } else {
                        format!("key({cname})")
                    };
                    let ke = self.term(k, &kn, &kty)?;
                    let ve = self.term(v, &format!("value({cname})"), &vty)?;
                    ColOp::SetElem(slot, ke, ve)
                }
            });
        }
        if t.is_counter && ttl.is_some() {
            return Err(CqlError::invalid("Cannot provide custom TTL for counter updates"));
        }
        let (pk, ck, _) = self.write_keys(&up.where_, false, false)?;
        if ck.len() < t.ck.len() && !(only_static && ck.is_empty()) {
            let missing: Vec<&str> = t.ck[ck.len()..].iter().map(|i| t.columns[*i].name.as_str()).collect();
            return Err(CqlError::invalid(format!(
                "Some clustering keys are missing: {}",
                missing.join(", ")
            )));
        }
        let cond = self.conditions(&up.condition)?;
        if !matches!(cond, CondPlan::None) && timestamp.is_some() {
            return Err(CqlError::invalid("Cannot provide custom timestamp for conditional updates"));
        }
        if matches!(cond, CondPlan::IfNotExists) {
            return Err(CqlError::syntax("line 1:0 IF NOT EXISTS is not supported on UPDATE"));
        }
        Ok(ModifyPlan {
            table: t.clone(),
            kind: StatementKind::Update,
            pk,
            ck,
            ck_slice: vec![],
            ops,
            marker: false,
            delete_row: false,
            ttl,
            timestamp,
            cond,
        })
    }

    pub fn delete(&mut self, del: &Delete) -> CqlResult<ModifyPlan> {
        let t = self.table.clone();
        let (ttl, timestamp) = self.using(&del.using)?;
        if ttl.is_some() {
            return Err(CqlError::invalid("TTL attribute is not allowed for DELETE statements"));
        }
        let mut ops = Vec::new();
        let mut only_static = true;
        for d in &del.columns {
            let (name, elem) = match d {
                Deletion::Column(n) => (n, None),
                Deletion::Element(n, k) => (n, Some(k)),
            };
            let col = self.col(name)?;
            let c = &t.columns[col];
            if c.is_key() {
                return Err(CqlError::invalid(format!(
                    "Invalid identifier {name} for deletion (should not be a PRIMARY KEY part)"
                )));
            }
            if c.kind != Kind::Static {
                only_static = false;
            }
            let (cname, ty, slot) = (c.name.clone(), c.ty.clone(), c.slot);
            ops.push(match elem {
                None => ColOp::Delete(slot),
                Some(k) => {
                    let kty = match &ty {
                        ColumnType::Map(k, _) => (**k).clone(),
                        ColumnType::List(_) => ColumnType::Int,
                        ColumnType::Set(e) => (**e).clone(),
                        _ => {
                            return Err(CqlError::invalid(format!(
                                "Invalid element access syntax for non-collection column {cname}"
                            )));
                        }
                    };
                    ColOp::DeleteElem(slot, self.term(k, &format!("key({cname})"), &kty)?)
                }
            });
        }
        let (pk, ck, slices) = self.write_keys(&del.where_, del.columns.is_empty(), true)?;
        let delete_row = del.columns.is_empty();
        if !delete_row && ck.len() < t.ck.len() && !(only_static && ck.is_empty()) {
            let missing: Vec<&str> = t.ck[ck.len()..].iter().map(|i| t.columns[*i].name.as_str()).collect();
            return Err(CqlError::invalid(format!(
                "Some clustering keys are missing: {}",
                missing.join(", ")
            )));
        }
        let cond = self.conditions(&del.condition)?;
        if !matches!(cond, CondPlan::None) && (ck.len() < t.ck.len() || !slices.is_empty()) && delete_row {
            return Err(CqlError::invalid(
                "DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions",
            ));
        }
        if !matches!(cond, CondPlan::None) && timestamp.is_some() {
            return Err(CqlError::invalid("Cannot provide custom timestamp for conditional updates"));
        }
        if matches!(cond, CondPlan::IfNotExists) {
            return Err(CqlError::syntax("line 1:0 IF NOT EXISTS is not supported on DELETE"));
        }
        Ok(ModifyPlan {
            table: t.clone(),
            kind: StatementKind::Delete,
            pk,
            ck,
            ck_slice: slices,
            ops,
            marker: false,
            delete_row,
            ttl: None,
            timestamp,
            cond,
        })
    }

    pub fn select(&mut self, s: &Select) -> CqlResult<SelectPlan> {
        let t = self.table.clone();
        if s.json {
            return Err(CqlError::invalid("SELECT JSON is not supported by this node"));
        }
        // Selection.
        let mut sels = Vec::new();
        let mut columns = Vec::new();
        let mut aggregate = false;
        let spec = |name: String, ty: ColumnType| ColumnSpec {
            keyspace: t.keyspace.clone(),
            table: t.name.clone(),
            name,
            ty,
        };
        for item in &s.items {
            let (sel, name, ty) = match &item.selector {
                Selector::Star => {
                    if s.items.len() > 1 {
                        return Err(CqlError::syntax("line 1:9 mismatched input ',' expecting FROM"));
                    }
                    for (i, c) in t.columns.iter().enumerate() {
                        sels.push(Sel::Col(i));
                        columns.push(spec(c.name.clone(), c.ty.clone()));
                    }
                    continue;
                }
                Selector::Column(n) => {
                    let i = self.col(n)?;
                    (Sel::Col(i), n.clone(), t.columns[i].ty.clone())
                }
                Selector::CountStar => {
                    aggregate = true;
                    (Sel::CountStar, "count".to_string(), ColumnType::Bigint)
                }
                Selector::Count(n) => {
                    aggregate = true;
                    let i = self.col(n)?;
                    (Sel::Count(i), format!("system.count({n})"), ColumnType::Bigint)
                }
                Selector::WriteTime(n) | Selector::Ttl(n) => {
                    let i = self.col(n)?;
                    let wt = matches!(item.selector, Selector::WriteTime(_));
                    let fname = if wt { "writetime" } else { "ttl" };
                    if t.columns[i].is_key() {
                        return Err(CqlError::invalid(format!(
                            "Cannot use selection function {} on PRIMARY KEY part {n}",
                            if wt { "writeTime" } else { "ttl" }
                        )));
                    }
                    if is_collection(&t.columns[i].ty) && !t.columns[i].frozen {
                        return Err(CqlError::invalid(format!(
                            "Cannot use selection function {fname} on non-frozen collection {n}"
                        )));
                    }
                    if wt {
                        (Sel::WriteTime(i), format!("writetime({n})"), ColumnType::Bigint)
                    } else {
                        (Sel::Ttl(i), format!("ttl({n})"), ColumnType::Int)
                    }
                }
                Selector::Token(cols) => {
                    let want: Vec<&str> = t.pk.iter().map(|i| t.columns[*i].name.as_str()).collect();
                    if cols.iter().map(|c| c.as_str()).collect::<Vec<_>>() != want {
                        return Err(CqlError::invalid(format!(
                            "Invalid arguments for function system.token: expected the partition key columns ({})",
                            want.join(", ")
                        )));
                    }
                    (Sel::Token, format!("system.token({})", cols.join(", ")), ColumnType::Bigint)
                }
                Selector::Func(name, args) if matches!(name.as_str(), "min" | "max" | "sum" | "avg") => {
                    let col = match args.as_slice() {
                        [Selector::Column(c)] => self.col(c)?,
                        _ => {
                            return Err(CqlError::invalid(format!(
                                "Invalid number of arguments in call to function system.{name}: 1 required"
                            )));
                        }
                    };
                    let c = &t.columns[col];
                    let kind = match name.as_str() {
                        "min" => AggKind::Min,
                        "max" => AggKind::Max,
                        "sum" => AggKind::Sum,
                        _ => AggKind::Avg,
                    };
                    let numeric = matches!(
                        c.ty,
                        ColumnType::Int
                            | ColumnType::Bigint
                            | ColumnType::Smallint
                            | ColumnType::Tinyint
                            | ColumnType::Counter
                            | ColumnType::Float
                            | ColumnType::Double
                            | ColumnType::Decimal
                            | ColumnType::Varint
                    );
                    if matches!(kind, AggKind::Sum | AggKind::Avg) && !numeric {
                        return Err(CqlError::invalid(format!(
                            "Invalid call to function {name}, none of its type signatures match (known type signatures: system.{name} : (int) -> int, ...)"
                        )));
                    }
                    aggregate = true;
                    (Sel::Agg(kind, col), format!("system.{name}({})", c.name), c.ty.clone())
                }
                Selector::Func(..) | Selector::Cast(..) => {
                    let (e, ty, name) = self.sel_expr(&item.selector)?;
                    match e {
                        // A cast to the column's own type selects the column itself.
                        super::scalar::SelExpr::Col(i) => (Sel::Col(i), name, ty),
                        e => (Sel::Expr(e), name, ty),
                    }
                }
            };
            if self.first_selected.is_none() {
                self.first_selected = first_column(&item.selector);
            }
            sels.push(sel);
            columns.push(spec(item.alias.clone().unwrap_or(name), ty));
        }
        // Restrictions.
        let mut pk: Vec<Option<KeyRestr>> = vec![None; t.pk.len()];
        let mut pk_other = false;
        let mut token_bounds = Vec::new();
        let mut filters = Vec::new();
        let mut tuple_filters = Vec::new();
        let mut cks = super::ck_restrictions::CkSet::new(t.ck.len());
        let mut needs_filtering = false;
        let mut regular_restricted = false;
        for r in &s.where_ {
            match &r.lhs {
                Lhs::Token(cols) => {
                    let e = self.token_relation(cols, r)?;
                    // TokenRestriction.mergeWith: the restriction already there merges the new one.
                    let names = cols.join(", ");
                    let has = |b: &[Op]| token_bounds.iter().any(|(o, _)| b.contains(o));
                    if has(&[Op::Eq]) {
                        return Err(CqlError::invalid(format!(
                            "{names} cannot be restricted by more than one relation if it includes an Equal"
                        )));
                    }
                    if !token_bounds.is_empty() && r.op == Op::Eq {
                        return Err(CqlError::invalid(format!(
                            "Columns \"{names}\" cannot be restricted by both an equality and an inequality relation"
                        )));
                    }
                    if matches!(r.op, Op::Gt | Op::Ge) && has(&[Op::Gt, Op::Ge]) {
                        return Err(CqlError::invalid(format!("More than one restriction was found for the start bound on {names}")));
                    }
                    if matches!(r.op, Op::Lt | Op::Le) && has(&[Op::Lt, Op::Le]) {
                        return Err(CqlError::invalid(format!("More than one restriction was found for the end bound on {names}")));
                    }
                    token_bounds.push((r.op, e));
                }
                Lhs::Tuple(cols) => {
                    let (idx, vals) = self.multi_column_relation(cols, r)?;
                    let first = t.columns[idx[0]].position as usize;
                    cks.add(&t, first, first + idx.len() - 1, true, r.op, s.allow_filtering)?;
                    tuple_filters.push((idx, r.op, vals));
                }
                Lhs::Element(..) => return Err(CqlError::invalid("Map-entry relations are not supported in SELECT by this node")),
                Lhs::Column(n) => {
                    if r.op == Op::Ne {
                        return Err(CqlError::invalid(format!("Unsupported \"!=\" relation: {n} != {}", term_text(&r.rhs[0]))));
                    }
                    let col = self.col(n)?;
                    let c = &t.columns[col];
                    let kr = self.restr(r, col)?;
                    match c.kind {
                        Kind::PartitionKey if matches!(r.op, Op::Eq | Op::In) => {
                            let pos = c.position as usize;
                            if pk[pos].is_some() {
                                return Err(CqlError::invalid(format!(
                                    "{n} cannot be restricted by more than one relation if it includes an Equal"
                                )));
                            }
                            pk[pos] = Some(kr.clone());
                            filters.push(Filter {
                                col,
                                elem: None,
                                op: r.op,
                                rhs: kr,
                            });
                        }
                        Kind::PartitionKey => {
                            if !s.allow_filtering {
                                return Err(CqlError::invalid(
                                    "Only EQ and IN relation are supported on the partition key (unless you use the token() function or allow filtering)",
                                ));
                            }
                            pk_other = true;
                            filters.push(Filter {
                                col,
                                elem: None,
                                op: r.op,
                                rhs: kr,
                            });
                        }
                        Kind::Clustering => {
                            let pos = c.position as usize;
                            if matches!(r.op, Op::Ne | Op::Contains | Op::ContainsKey) {
                                needs_filtering = true;
                            } else {
                                cks.add(&t, pos, pos, false, r.op, s.allow_filtering)?;
                            }
                            filters.push(Filter {
                                col,
                                elem: None,
                                op: r.op,
                                rhs: kr,
                            });
                        }
                        _ => {
                            regular_restricted = true;
                            if matches!(r.op, Op::In) && !s.allow_filtering {
                                return Err(CqlError::invalid(format!(
                                    "IN predicates on non-primary-key columns ({n}) is not yet supported"
                                )));
                            }
                            filters.push(Filter {
                                col,
                                elem: None,
                                op: r.op,
                                rhs: kr,
                            });
                        }
                    }
                }
            }
        }
        let pk_full = pk.iter().all(|p| p.is_some());
        let pk_any = pk.iter().any(|p| p.is_some());
        if pk_any && !pk_full {
            needs_filtering = true;
        }
        if pk_other {
            needs_filtering = true;
        }
        // A token relation with `=`/`IN` on the whole partition key filters those partitions
        // (Cassandra 4.1's TokenFilter); `select.rs` drops the keys outside the token range.
        // Clustering: a gap (or anything after a slice) needs filtering, and without ALLOW
        // FILTERING is refused naming the first column out of place.
        if cks.needs_filtering() {
            if !s.allow_filtering
                && let Some(e) = cks.gap_error(&t)
            {
                return Err(e);
            }
            needs_filtering = true;
        }
        if !cks.is_empty() && !pk_full {
            needs_filtering = true;
        }
        if regular_restricted {
            needs_filtering = true;
        }
        if needs_filtering && !s.allow_filtering {
            return Err(CqlError::invalid(
                "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING",
            ));
        }
        // Leading `=` clustering values for narrowing (single `c = x` or `(c1, c2) = (x, y)`).
        let mut ck_eq = Vec::new();
        for e in cks.eq_prefix() {
            if e.multi {
                let first = t.ck[e.first];
                if let Some((_, _, vals)) = tuple_filters.iter().find(|(cols, op, _)| *op == Op::Eq && cols[0] == first) {
                    ck_eq.extend(vals.iter().cloned());
                    continue;
                }
                break;
            }
            match filters.iter().find(|f| f.col == t.ck[e.first] && f.op == Op::Eq).map(|f| &f.rhs) {
                Some(KeyRestr::Eq(x)) => ck_eq.push(x.clone()),
                _ => break,
            }
        }
        // ORDER BY.
        let mut reversed = false;
        if !s.order_by.is_empty() {
            if !pk_full {
                return Err(CqlError::invalid(
                    "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.",
                ));
            }
            let mut rev: Option<bool> = None;
            for (i, (n, desc)) in s.order_by.iter().enumerate() {
                let col = t
                    .by_name
                    .get(n)
                    .copied()
                    .ok_or_else(|| CqlError::invalid(format!("Order by on unknown column {n}")))?;
                let c = &t.columns[col];
                if c.kind != Kind::Clustering {
                    return Err(CqlError::invalid(format!(
                        "Order by is currently only supported on the clustered columns of the PRIMARY KEY, got {n}"
                    )));
                }
                if c.position as usize != i {
                    return Err(CqlError::invalid(
                        "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY",
                    ));
                }
                let this = *desc != c.desc;
                if rev.is_some_and(|r| r != this) {
                    return Err(CqlError::invalid("Unsupported order by relation"));
                }
                rev = Some(this);
            }
            reversed = rev.unwrap_or(false);
        }
        let limit = match &s.limit {
            Some(Term::Bind(n)) => {
                let n = n.clone().unwrap_or_else(|| "[limit]".into());
                let i = self.spec(n.clone(), ColumnType::Int);
                Some(Expr::Bind(i, ColumnType::Int, n))
            }
            Some(t) => Some(self.term(t, "[limit]", &ColumnType::Int)?),
            None => None,
        };
        let per_partition_limit = match &s.per_partition_limit {
            Some(Term::Bind(n)) => {
                let n = n.clone().unwrap_or_else(|| "[per_partition_limit]".into());
                let i = self.spec(n.clone(), ColumnType::Int);
                Some(Expr::Bind(i, ColumnType::Int, n))
            }
            Some(t) => Some(self.term(t, "[per_partition_limit]", &ColumnType::Int)?),
            None => None,
        };
        if s.distinct && (!cks.is_empty() || filters.iter().any(|f| matches!(t.columns[f.col].kind, Kind::Clustering | Kind::Regular))) {
            // SelectStatement.validateDistinctSelection.
            return Err(CqlError::invalid(
                "SELECT DISTINCT with WHERE clause only supports restriction by partition key and/or static columns.",
            ));
        }
        if s.distinct {
            for sel in &sels {
                match sel {
                    Sel::Col(i) if matches!(t.columns[*i].kind, Kind::PartitionKey | Kind::Static) => {}
                    Sel::CountStar | Sel::Token => {}
                    _ => {
                        return Err(CqlError::invalid(
                            "SELECT DISTINCT queries must only request partition key columns and/or static columns (not clustering or regular columns)",
                        ));
                    }
                }
            }
        }
        let group_by = self.group_by(s, &pk, &cks)?;
        Ok(SelectPlan {
            table: t.clone(),
            sels,
            columns,
            pk: if pk_full { Some(pk.into_iter().flatten().collect()) } else { None },
            token_bounds,
            ck_eq,
            filters,
            tuple_filters,
            limit,
            per_partition_limit,
            reversed,
            ordered: !s.order_by.is_empty(),
            aggregate,
            distinct: s.distinct,
            group_by,
        })
    }
}

/// Positions of the partition-key markers, in partition-key order (for token-aware routing);
/// empty unless every component is bound by a plain `= ?`.
pub fn pk_bind_indexes(pk: &[KeyRestr]) -> Vec<u16> {
    let mut out = Vec::new();
    for r in pk {
        match r {
            KeyRestr::Eq(Expr::Bind(i, _, _)) => out.push(*i as u16),
            _ => return Vec::new(),
        }
    }
    out
}
