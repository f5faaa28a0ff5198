//! Creating a product with a unique SKU, following the claim/commit pattern:
//!
//! 1. claim the SKU in `products_by_sku` with `INSERT ... IF NOT EXISTS` (Paxos, LOCAL_SERIAL),
//!    as *pending* with a TTL: concurrent creates of one SKU see exactly one winner;
//! 2. commit with a LOGGED batch that inserts the product and rewrites the claim as committed
//!    without TTL: both become visible, or (after a batch-log replay) both eventually do;
//! 3. if the batch is known not to have run, release the claim (`DELETE ... IF product_id = ?
//!    AND committed = false`) so a later create is not blocked. If it may have run (a timeout),
//!    the claim is left alone: it either was committed, or it expires with its TTL.
//!
//! Nothing is reported as created unless the batch was acknowledged. A product row exists
//! only through the batch, so a failure before it leaves nothing visible in the listing.

use std::time::{Duration, Instant};

use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::statement::batch::{Batch, BatchType};
use scylla::value::CqlTimestamp;
use uuid::Uuid;

use super::idempotency::{IdempotencyKey, KeyClaim};
use super::lwt::LwtAnswer;
use crate::db::Db;
use crate::decimal;
use crate::domain::{NewProduct, Product};
use crate::error::StoreError;
use crate::statements::PENDING_CLAIM_TTL_SECS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created(Product),
    /// The SKU belongs to another product (committed, or being created right now).
    DuplicateSku { existing_id: Uuid },
    /// An earlier request with the same Idempotency-Key already got this answer.
    Replayed { status: u16, body: String },
}

enum SkuClaim {
    Ours,
    HeldBy(Uuid),
}

impl Db {
    pub async fn create_product(
        &self,
        product: &NewProduct,
        key: Option<&IdempotencyKey>,
    ) -> Result<CreateOutcome, StoreError> {
        let mut product_id = Uuid::new_v4();
        let mut created_at_ms = chrono::Utc::now().timestamp_millis();
        if let Some(key) = key {
            match self.claim_idempotency_key(key, product, product_id, created_at_ms).await? {
                KeyClaim::Proceed { product_id: id, created_at_ms: at } => {
                    product_id = id;
                    created_at_ms = at;
                }
                KeyClaim::Replay { status, body } => return Ok(CreateOutcome::Replayed { status, body }),
            }
        }

        let claimed_at = Instant::now();
        if let SkuClaim::HeldBy(existing_id) = self.claim_sku(product, product_id).await? {
            return Ok(CreateOutcome::DuplicateSku { existing_id });
        }
        // The pending claim expires after its TTL; committing late could overwrite a claim
        // someone else made since. Give up well before that.
        let max_pending = Duration::from_secs(PENDING_CLAIM_TTL_SECS as u64 / 2);
        if claimed_at.elapsed() > max_pending {
            self.release_sku(product, product_id).await;
            return Err(StoreError::Unavailable("create took too long; claim released".into()));
        }

        self.commit(product, product_id, created_at_ms).await?;
        Ok(CreateOutcome::Created(Product::new(
            product_id,
            product.name.as_str(),
            product.sku.as_str(),
            product.price,
            created_at_ms,
        )))
    }

    async fn claim_sku(&self, product: &NewProduct, product_id: Uuid) -> Result<SkuClaim, StoreError> {
        let sku = product.sku.as_str();
        let result = self
            .run(|c| async move { c.session.execute_unpaged(&c.statements.claim_sku, (sku, product_id)).await })
            .await?;
        let answer = LwtAnswer::from_result(result)?;
        if answer.applied {
            return Ok(SkuClaim::Ours);
        }
        match answer.uuid("product_id") {
            // Our own claim, from a retry of this create or an earlier attempt under the same
            // Idempotency-Key: carry on and (re)commit.
            Some(holder) if holder == product_id => Ok(SkuClaim::Ours),
            Some(holder) => Ok(SkuClaim::HeldBy(holder)),
            None => Err(StoreError::Internal("SKU claim without product id".into())),
        }
    }

    async fn commit(&self, product: &NewProduct, product_id: Uuid, created_at_ms: i64) -> Result<(), StoreError> {
        let price = decimal::to_cql(product.price.as_decimal());
        let (name, sku) = (product.name.as_str(), product.sku.as_str());
        let outcome = self
            .run_raw(|c| {
                let price = price.clone();
                async move {
                    let mut batch = Batch::new(BatchType::Logged);
                    batch.append_statement(c.statements.insert_product.clone());
                    batch.append_statement(c.statements.commit_sku.clone());
                    batch.set_is_idempotent(true);
                    let values = ((product_id, name, sku, price, CqlTimestamp(created_at_ms)), (sku, product_id));
                    c.session.batch(&batch, values).await
                }
            })
            .await?;
        match outcome {
            Ok(_) => Ok(()),
            Err(e) => {
                if !batch_may_have_run(&e) {
                    self.release_sku(product, product_id).await;
                }
                Err(e.into())
            }
        }
    }

    /// Best effort: if it fails, the pending claim still expires with its TTL.
    async fn release_sku(&self, product: &NewProduct, product_id: Uuid) {
        let sku = product.sku.as_str();
        let released = self
            .run(|c| async move { c.session.execute_unpaged(&c.statements.release_sku, (sku, product_id)).await })
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "could not release a pending SKU claim; it will expire with its TTL");
        }
    }
}

/// Whether a failed logged batch might still be applied. Only answers meaning the
/// coordinator refused before doing anything, or that no connection carried it, are "no";
/// timeouts (even BATCH_LOG: some batch-log replica may have it and replay it) are "maybe".
fn batch_may_have_run(e: &ExecutionError) -> bool {
    match e {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(db, _)) => !matches!(
            db,
            DbError::Unavailable { .. } | DbError::Overloaded | DbError::IsBootstrapping | DbError::RateLimitReached { .. }
                | DbError::Invalid | DbError::SyntaxError | DbError::Unauthorized | DbError::ConfigError
        ),
        ExecutionError::ConnectionPoolError(_) | ExecutionError::EmptyPlan | ExecutionError::BadQuery(_) => false,
        _ => true,
    }
}
