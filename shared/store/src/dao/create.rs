//! Creating a product: runs the create protocol (`dao::protocol`, where the decisions and
//! their reasons are) against the cluster, one CQL statement per step, within one deadline
//! for the whole create.
//!
//! This file only translates: a protocol operation into a prepared statement with its values,
//! and the driver's answer (or its error, or the deadline) into a protocol reply. Each
//! statement gets what is left of the deadline, never more than the request timeout; a
//! statement cut off by the deadline counts as "may have applied".

use std::time::Duration;

use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use scylla::response::query_result::QueryResult;
use scylla::value::CqlTimestamp;
use tokio::time::Instant;
use uuid::Uuid;

use super::idempotency::IdempotencyKey;
use super::lwt::LwtAnswer;
use super::protocol::{Answer, Claim, CreateProtocol, Op, Reply, Step};
use crate::db::Db;
use crate::statements::Statements;
use crate::decimal;
use crate::domain::{NewProduct, Price, Product};
use crate::error::{StoreError, is_transient, may_have_applied};
use crate::telemetry;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created(Product),
    /// The SKU belongs to another product, which exists and is listed.
    DuplicateSku {
        existing_id: Uuid,
    },
    /// An earlier request with the same Idempotency-Key already got this answer.
    Replayed {
        status: u16,
        body: String,
    },
}

/// How the caller renders a final answer (status and body) to store it under an
/// Idempotency-Key; replays return exactly these bytes.
pub type Render<'a> = &'a (dyn Fn(&CreateOutcome) -> (u16, String) + Sync);

/// A claimed product as its claim row stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedProduct {
    name: String,
    price: Price,
    created_at_ms: i64,
    /// Null on claims stored before the creator was recorded.
    created_by: Option<String>,
}

type Machine = CreateProtocol<Uuid, ClaimedProduct, (u16, String)>;

/// First pause before claiming again behind a create in progress, and the longest.
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// One create's state besides the protocol's: what it is creating and until when.
struct Run<'a> {
    db: &'a Db,
    product: &'a NewProduct,
    key: Option<&'a IdempotencyKey>,
    render: Render<'a>,
    created_at_ms: i64,
    deadline: Instant,
    backoff: Duration,
    /// The last statement failed: pause before the next, so that retrying after a timeout
    /// or an overload does not hammer a struggling cluster.
    pause: bool,
    /// The last failure, for the log line of a 503.
    last_failure: String,
}

impl Db {
    /// Creates `product` (unique SKU; with `key`, idempotently), answering by `deadline`.
    pub async fn create_product(
        &self,
        product: &NewProduct,
        key: Option<&IdempotencyKey>,
        deadline: Instant,
        render: Render<'_>,
    ) -> Result<CreateOutcome, StoreError> {
        let mut machine = Machine::new(Uuid::new_v4(), key.is_some());
        let mut run = Run {
            db: self,
            product,
            key,
            render,
            created_at_ms: chrono::Utc::now().timestamp_millis(),
            deadline,
            backoff: FIRST_BACKOFF,
            pause: false,
            last_failure: String::new(),
        };
        let mut step = machine.start();
        loop {
            let op = match step {
                Step::Run(op) => op,
                Step::Answer(answer) => return run.outcome(&machine, answer),
            };
            if std::mem::take(&mut run.pause) || op == Op::Backoff {
                run.wait().await;
            }
            let left = run.left();
            if left.is_zero() {
                run.last_failure = format!("deadline reached before {op:?}");
                step = machine.give_up();
                continue;
            }
            let reply = if op == Op::Backoff {
                Reply::Done
            } else {
                run.execute(&machine, &op, left).await?
            };
            step = machine.on(reply);
        }
    }
}

impl Run<'_> {
    async fn execute(
        &mut self,
        machine: &Machine,
        op: &Op<Uuid, ClaimedProduct>,
        left: Duration,
    ) -> Result<Reply<Uuid, ClaimedProduct, (u16, String)>, StoreError> {
        let id = *machine.id();
        let sku = self.product.sku.as_str();
        let name = self.product.name.as_str();
        let by = self.product.created_by.as_str();
        let price = decimal::to_cql(self.product.price.as_decimal());
        let at = CqlTimestamp(self.created_at_ms);
        let bound = left.min(self.db.config().request_timeout);
        match op {
            Op::Backoff => Ok(Reply::Done),
            Op::ClaimKey => {
                let key = self.key.map(|k| k.as_str()).unwrap_or_default();
                let fingerprint = self.product.fingerprint();
                let values = (key, fingerprint.clone(), id, at);
                let lwt = match self.lwt(bound, |st| &st.claim_idempotency_key, values).await? {
                    Ok(lwt) => lwt,
                    Err(failed) => return Ok(failed),
                };
                if lwt.applied {
                    return Ok(Reply::KeyClaimed);
                }
                let same_request = lwt.blob("fingerprint") == Some(fingerprint.as_slice());
                let held_id = lwt.uuid("product_id");
                if same_request {
                    // Resume as the earlier request: its id and its creation time.
                    match (held_id, lwt.timestamp_ms("created_at")) {
                        (Some(_), Some(at)) => self.created_at_ms = at,
                        _ => {
                            return Err(StoreError::Internal(
                                "idempotency claim without product id".into(),
                            ));
                        }
                    }
                }
                let stored = match (lwt.int("status"), lwt.text("body")) {
                    (Some(status), Some(body)) => Some((
                        u16::try_from(status).map_err(|_| {
                            StoreError::Internal("stored status out of range".into())
                        })?,
                        body.to_owned(),
                    )),
                    _ => None,
                };
                Ok(Reply::KeyHeld {
                    same_request,
                    id: held_id.unwrap_or(id),
                    stored,
                })
            }
            Op::ClaimSku => {
                let values = (sku, id, name, price.clone(), at, by);
                let lwt = match self.lwt(bound, |st| &st.claim_sku, values).await? {
                    Ok(lwt) => lwt,
                    Err(failed) => return Ok(failed),
                };
                if lwt.applied {
                    Ok(Reply::SkuClaimed)
                } else {
                    Ok(Reply::SkuHeld(claim_of(&lwt)?))
                }
            }
            Op::CommitSku => {
                let values = (id, name, price.clone(), at, by, sku, id);
                let lwt = match self.lwt(bound, |st| &st.commit_sku, values).await? {
                    Ok(lwt) => lwt,
                    Err(failed) => return Ok(failed),
                };
                if lwt.applied {
                    Ok(Reply::Committed)
                } else if lwt.existing.is_empty() {
                    Ok(Reply::CommitRefused(None))
                } else {
                    Ok(Reply::CommitRefused(Some(claim_of(&lwt)?)))
                }
            }
            Op::WriteOurs => {
                let answer = self
                    .write_product(bound, id, name, &price, self.created_at_ms, Some(by))
                    .await?;
                Ok(self.done_or_failed(answer))
            }
            Op::WriteHolder(claim) => {
                let held = claim.product.as_ref().ok_or_else(|| {
                    StoreError::Internal("rolling forward a claim without its product".into())
                })?;
                let held_price = decimal::to_cql(held.price.as_decimal());
                let answer = self
                    .write_product(bound, claim.id, &held.name, &held_price, held.created_at_ms, held.created_by.as_deref())
                    .await?;
                Ok(self.done_or_failed(answer))
            }
            Op::ReleaseSku => {
                let answer = self.prepared(bound, |st| &st.release_sku, (sku, id)).await?;
                if let Err(e) = answer {
                    tracing::warn!(error = %e.why, "could not release a pending SKU claim; it will expire with its TTL");
                }
                Ok(Reply::Done)
            }
            Op::Record => {
                let Some(decided) = machine.decided() else {
                    return Ok(Reply::Done);
                };
                let (status, body) = (self.render)(&self.outcome_of(id, decided.clone()));
                let key = self.key.map(|k| k.as_str()).unwrap_or_default();
                let fingerprint = self.product.fingerprint();
                let values = (key, fingerprint.clone(), id, at, i32::from(status), body.clone());
                let answer = self.prepared(bound, |st| &st.save_idempotent_response, values).await?;
                if let Err(e) = answer {
                    tracing::warn!(error = %e.why, "could not store the idempotent answer; a retry will compute it again");
                }
                Ok(Reply::Done)
            }
        }
    }

    /// Runs one prepared statement (picked from the session's set) within `bound`. The outer
    /// error stops the create (a bug or a deployment mistake); the inner one is the driver's,
    /// for the protocol to judge.
    async fn prepared<V>(
        &mut self,
        bound: Duration,
        pick: fn(&Statements) -> &PreparedStatement,
        values: V,
    ) -> Result<Result<QueryResult, Failure>, StoreError>
    where
        V: SerializeRow + Clone,
    {
        let run = self.db.run_raw(|c| {
            let values = values.clone();
            async move { c.session.execute_unpaged(pick(&c.statements), values).await }
        });
        match tokio::time::timeout(bound, run).await {
            Err(_) => {
                telemetry::db_error("timeout");
                Ok(Err(Failure { may_have_applied: true, why: format!("no answer within {bound:?}") }))
            }
            // No connection at all: nothing was sent (counted where the connect failed).
            Ok(Err(e)) => Ok(Err(Failure { may_have_applied: false, why: e.to_string() })),
            Ok(Ok(Err(e))) if !is_transient(&e) => Err(StoreError::from(e)),
            Ok(Ok(Err(e))) => {
                telemetry::db_error(telemetry::error_kind(&e));
                Ok(Err(Failure { may_have_applied: may_have_applied(&e), why: e.to_string() }))
            }
            Ok(Ok(Ok(result))) => Ok(Ok(result)),
        }
    }

    /// A lightweight transaction: its answer, or the protocol's reply to its failure.
    async fn lwt<V>(
        &mut self,
        bound: Duration,
        pick: fn(&Statements) -> &PreparedStatement,
        values: V,
    ) -> Result<Result<LwtAnswer, Reply<Uuid, ClaimedProduct, (u16, String)>>, StoreError>
    where
        V: SerializeRow + Clone,
    {
        match self.prepared(bound, pick, values).await? {
            Ok(result) => Ok(Ok(LwtAnswer::from_result(result)?)),
            Err(failure) => Ok(Err(self.failed(failure))),
        }
    }

    async fn write_product(
        &mut self,
        bound: Duration,
        id: Uuid,
        name: &str,
        price: &scylla::value::CqlDecimal,
        created_at_ms: i64,
        created_by: Option<&str>,
    ) -> Result<Result<QueryResult, Failure>, StoreError> {
        let sku = self.product.sku.as_str();
        let values = (id, name, sku, price.clone(), CqlTimestamp(created_at_ms), created_by);
        self.prepared(bound, |st| &st.insert_product, values)
        .await
    }

    /// Sleeps the current backoff (never past the deadline), and doubles it for next time.
    async fn wait(&mut self) {
        tokio::time::sleep(self.backoff.min(self.left())).await;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn failed(&mut self, failure: Failure) -> Reply<Uuid, ClaimedProduct, (u16, String)> {
        self.pause = true;
        tracing::debug!(error = %failure.why, may_have_applied = failure.may_have_applied, "create step failed");
        self.last_failure = failure.why;
        Reply::Failed {
            may_have_applied: failure.may_have_applied,
        }
    }

    fn done_or_failed(
        &mut self,
        answer: Result<QueryResult, Failure>,
    ) -> Reply<Uuid, ClaimedProduct, (u16, String)> {
        match answer {
            Ok(_) => Reply::Done,
            Err(f) => self.failed(f),
        }
    }

    fn outcome_of(&self, id: Uuid, answer: Answer<Uuid, (u16, String)>) -> CreateOutcome {
        match answer {
            Answer::Duplicate(existing_id) => CreateOutcome::DuplicateSku { existing_id },
            Answer::Replayed((status, body)) => CreateOutcome::Replayed { status, body },
            _ => CreateOutcome::Created(Product::new(
                id,
                self.product.name.as_str(),
                self.product.sku.as_str(),
                self.product.price,
                self.created_at_ms,
                Some(self.product.created_by.as_str()),
            )),
        }
    }

    fn outcome(
        &self,
        machine: &Machine,
        answer: Answer<Uuid, (u16, String)>,
    ) -> Result<CreateOutcome, StoreError> {
        match answer {
            Answer::KeyReused => Err(StoreError::IdempotencyKeyReused),
            Answer::Unavailable { may_exist } => Err(StoreError::Unfinished {
                reason: self.last_failure.clone(),
                may_exist,
            }),
            other => Ok(self.outcome_of(*machine.id(), other)),
        }
    }
}

/// A statement that did not answer normally.
struct Failure {
    may_have_applied: bool,
    why: String,
}

/// The SKU claim shown by a lightweight transaction that did not apply.
fn claim_of(lwt: &LwtAnswer) -> Result<Claim<Uuid, ClaimedProduct>, StoreError> {
    let id = lwt
        .uuid("product_id")
        .ok_or_else(|| StoreError::Internal("SKU claim without product id".into()))?;
    let product = match (
        lwt.text("name"),
        lwt.decimal("price"),
        lwt.timestamp_ms("created_at"),
    ) {
        (Some(name), Some(price), Some(created_at_ms)) => {
            let price = decimal::from_cql(&price).ok_or_else(|| {
                StoreError::Internal(format!("claimed price of {id} is out of range"))
            })?;
            Some(ClaimedProduct {
                name: name.to_owned(),
                price: Price::from_stored(price),
                created_at_ms,
                created_by: lwt.text("created_by").map(str::to_owned),
            })
        }
        _ => None,
    };
    Ok(Claim {
        id,
        committed: lwt.boolean("committed").unwrap_or(false),
        product,
    })
}
