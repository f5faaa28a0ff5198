//! Where a statement goes in a multi-node cluster: its keyspace's replication options and the
//! tokens of the partitions it touches. The replica layer (`crate::replication`) turns that
//! into replica sets and consistency checks; the engine only says what the statement touches.

use super::core::{Plan, PlanBox};
use super::eval::{Env, eval_restr};
use super::modify::{self, cartesian};
use super::plan::{ModifyPlan, SelectPlan};
use super::token::{serialize_partition_key, token_of};
use super::{BatchRequest, BoundValues, Engine, Prepared};

/// The partitions a statement touches, in one keyspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    pub keyspace: String,
    /// The keyspace's `replication` map (`class`, `replication_factor` or one entry per DC).
    pub replication: Vec<(String, String)>,
    /// `None`: a range read (no complete partition key), which touches every token range.
    pub tokens: Option<Vec<i64>>,
}

impl Engine {
    /// What a QUERY/EXECUTE touches; `None` for statements that touch no replicated data
    /// (system tables, DDL, USE) or whose values do not bind (the engine refuses those).
    pub fn routing(&self, stmt: &Prepared, values: &BoundValues) -> Option<Vec<Routing>> {
        let pb = stmt.plan.downcast_ref::<PlanBox>()?;
        let binds = self.inner.bind_values(stmt, values).ok()?;
        let env = Env { binds: &binds, now_micros: self.inner.clock().now_micros() };
        match &pb.plan {
            Plan::Select(p) => {
                let t = &p.table;
                if t.system.is_some() {
                    return None;
                }
                let replication = self.inner.replication_of(&t.keyspace)?;
                let tokens = match &p.pk {
                    None => None,
                    Some(_) => Some(select_tokens(p, &env)?),
                };
                Some(vec![Routing { keyspace: t.keyspace.clone(), replication, tokens }])
            }
            Plan::Modify(p) => self.modify_routing(p, &env).map(|r| vec![r]),
            Plan::Batch { stmts, .. } => stmts.iter().map(|p| self.modify_routing(p, &env)).collect(),
            _ => None,
        }
    }

    /// The same for each statement of a BATCH request.
    pub fn batch_routing(&self, batch: &BatchRequest) -> Option<Vec<Routing>> {
        let mut out = Vec::new();
        for (stmt, values) in &batch.statements {
            out.extend(self.routing(stmt, values)?);
        }
        Some(out)
    }

    fn modify_routing(&self, p: &ModifyPlan, env: &Env<'_>) -> Option<Routing> {
        if p.table.system.is_some() {
            return None;
        }
        let targets = modify::targets(p, env).ok()?;
        let mut tokens: Vec<i64> = targets.iter().map(|t| t.token).collect();
        tokens.dedup();
        let replication = self.inner.replication_of(&p.table.keyspace)?;
        Some(Routing { keyspace: p.table.keyspace.clone(), replication, tokens: Some(tokens) })
    }
}

/// The tokens of the partitions a SELECT with a complete partition key reads; `None` when it
/// has none (a range read) or its key does not evaluate (the select then refuses it).
pub(crate) fn select_tokens(p: &SelectPlan, env: &Env<'_>) -> Option<Vec<i64>> {
    let t = &p.table;
    let pk = p.pk.as_ref()?;
    let mut comps = Vec::with_capacity(pk.len());
    for (i, r) in pk.iter().enumerate() {
        comps.push(eval_restr(r, env, &t.columns[t.pk[i]].name).ok()?);
    }
    let tokens = cartesian(comps)
        .iter()
        .map(|parts| {
            let refs: Vec<&[u8]> = parts.iter().map(|b| &b[..]).collect();
            token_of(&serialize_partition_key(&refs))
        })
        .collect();
    Some(tokens)
}
