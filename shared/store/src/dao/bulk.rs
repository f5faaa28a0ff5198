//! Writing products directly, for loaders and benchmarks: the same logged batch a create ends
//! with (`products` row, newest-first row, index rows once per process).
//!
//! `load_product` writes the rows alone (no SKU claim): its caller vouches that SKUs are
//! unique, which a benchmark on a fresh keyspace can. `seed_product` is for data that stays:
//! it commits the SKU claim first, with a lightweight transaction, then writes the rows from
//! what the claim holds, so a SKU is never held by two products and a rerun after an
//! interruption rewrites the same rows.

use scylla::value::CqlTimestamp;
use uuid::Uuid;

use super::lwt::LwtAnswer;
use super::newest_layout::NewestRow;
use crate::db::Db;
use crate::decimal;
use crate::domain::Price;
use crate::error::StoreError;

/// A product a loader wants to exist, with its id chosen by the loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedProduct {
    pub id: Uuid,
    pub name: String,
    pub sku: String,
    pub price: Price,
    pub created_at_ms: i64,
}

/// What `seed_product` found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seeded {
    /// The claim was ours to take: claim and rows written now.
    Written,
    /// An earlier run had committed this claim: its rows were written again from the
    /// claim's own values, whose creation time is given.
    AlreadyClaimed { created_at_ms: i64 },
    /// Another product holds the SKU (or a create of it is in flight): nothing written.
    SkuTaken { holder: Option<Uuid> },
}

impl Db {
    /// `created_by` names the loader (the subject a create would record).
    pub async fn load_product(
        &self,
        id: Uuid,
        name: &str,
        sku: &str,
        price: Price,
        created_at_ms: i64,
        created_by: &str,
    ) -> Result<(), StoreError> {
        self.write_product_rows(id, name, sku, price, created_at_ms, created_by).await
    }

    /// Makes `product` exist with its committed claim, whatever an earlier (possibly
    /// interrupted) run of the same loader left. Safe to retry after any error: the claim
    /// is conditional, and the rows are upserts of the claim's values.
    pub async fn seed_product(&self, product: &SeedProduct, created_by: &str) -> Result<Seeded, StoreError> {
        let price = decimal::to_cql(product.price.as_decimal());
        let values = (
            product.sku.as_str(),
            product.id,
            product.name.as_str(),
            price,
            CqlTimestamp(product.created_at_ms),
            created_by,
        );
        let result = self
            .run_raw(|c| {
                let values = values.clone();
                async move { c.session.execute_unpaged(&c.statements.seed_claim, values).await }
            })
            .await??;
        let answer = LwtAnswer::from_result(result)?;
        let outcome = if answer.applied {
            Seeded::Written
        } else {
            let holder = answer.uuid("product_id");
            let ours = holder == Some(product.id) && answer.boolean("committed") == Some(true);
            match answer.timestamp_ms("created_at").filter(|_| ours) {
                Some(created_at_ms) => Seeded::AlreadyClaimed { created_at_ms },
                None => return Ok(Seeded::SkuTaken { holder }),
            }
        };
        // The claim is the record: the rows carry what it holds (an earlier run's time, if
        // it was that run's claim), so they match it whichever run wrote them.
        let created_at_ms = match outcome {
            Seeded::AlreadyClaimed { created_at_ms } => created_at_ms,
            _ => product.created_at_ms,
        };
        self.write_product_rows(product.id, &product.name, &product.sku, product.price, created_at_ms, created_by).await?;
        Ok(outcome)
    }

    async fn write_product_rows(
        &self,
        id: Uuid,
        name: &str,
        sku: &str,
        price: Price,
        created_at_ms: i64,
        created_by: &str,
    ) -> Result<(), StoreError> {
        let price = decimal::to_cql(price.as_decimal());
        let row = (id, name, sku, price.clone(), CqlTimestamp(created_at_ms), Some(created_by));
        let newest = NewestRow::new(id, name, sku, price, created_at_ms, Some(created_by));
        let (bucket, day) = newest.index();
        if self.newest_indexed().contains(&bucket) {
            self.run_raw(|c| {
                let values = (row.clone(), newest.clone());
                async move { c.session.batch(&c.statements.write_product, values).await }
            })
            .await??;
        } else {
            self.run_raw(|c| {
                let values = (row.clone(), newest.clone(), bucket, day);
                async move { c.session.batch(&c.statements.write_product_indexed, values).await }
            })
            .await??;
            self.newest_indexed().insert(bucket);
        }
        Ok(())
    }
}
