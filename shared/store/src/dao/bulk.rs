//! Writing products directly, for loaders and benchmarks: the same logged batch a create ends
//! with (`products` row, newest-first row, index rows once per process).
//!
//! `load_product` writes the rows alone (no SKU claim): its caller vouches that SKUs are
//! unique, which a benchmark on a fresh keyspace can. `seed_product` is for data that stays:
//! it commits the SKU claim first, with a lightweight transaction, then writes the rows from
//! what the claim holds, so a SKU is never held by two products and a rerun after an
//! interruption rewrites the same rows.

use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::value::CqlTimestamp;
use uuid::Uuid;

use super::lwt::LwtAnswer;
use super::newest_layout::{BucketEntry, NewestRow};
use crate::db::Db;
use crate::decimal;
use crate::domain::Price;
use crate::error::StoreError;

/// Products one `seed_products` call takes: with their index rows, at most 24 statements.
pub const MAX_SEED_BATCH: usize = 6;

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

    /// Makes each of `products` exist with its committed claim, whatever an earlier
    /// (possibly interrupted) run of the same loader left: the claims concurrently, then the
    /// rows of every product whose claim is ours in one logged batch (all or nothing, as a
    /// create's own rows; one round trip for several products). Safe to retry after any
    /// error: the claims are conditional, and the rows are upserts of the claims' values.
    /// At most `MAX_SEED_BATCH` products (Keyspaces takes 30 statements a batch).
    pub async fn seed_products(&self, products: &[SeedProduct], created_by: &str) -> Result<Vec<Seeded>, StoreError> {
        assert!(products.len() <= MAX_SEED_BATCH, "at most {MAX_SEED_BATCH} products a batch");
        let claims = futures::future::try_join_all(products.iter().map(|p| self.seed_claim(p, created_by))).await?;
        let mut rows = SeedRows::default();
        for (product, outcome) in products.iter().zip(&claims) {
            // The claim is the record: the rows carry what it holds (an earlier run's time,
            // if it was that run's claim), so they match it whichever run wrote them.
            let created_at_ms = match outcome {
                Seeded::Written => product.created_at_ms,
                Seeded::AlreadyClaimed { created_at_ms } => *created_at_ms,
                Seeded::SkuTaken { .. } => continue,
            };
            rows.add(self, product, created_at_ms, created_by);
        }
        if !rows.values.is_empty() {
            let SeedRows { kinds, values, buckets } = rows;
            self.run_raw(|c| {
                let mut batch = Batch::new(BatchType::Logged);
                batch.set_is_idempotent(true);
                for kind in &kinds {
                    let statement = match kind {
                        RowKind::Product => &c.statements.insert_product,
                        RowKind::Newest => &c.statements.insert_newest,
                        RowKind::Bucket => &c.statements.insert_bucket,
                        RowKind::Day => &c.statements.insert_day,
                    };
                    batch.append_statement(statement.clone());
                }
                let values = &values;
                async move { c.session.batch(&batch, values).await }
            })
            .await??;
            for bucket in buckets {
                self.newest_indexed().insert(bucket);
            }
        }
        Ok(claims)
    }

    async fn seed_claim(&self, product: &SeedProduct, created_by: &str) -> Result<Seeded, StoreError> {
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
        if answer.applied {
            return Ok(Seeded::Written);
        }
        let holder = answer.uuid("product_id");
        let ours = holder == Some(product.id) && answer.boolean("committed") == Some(true);
        Ok(match answer.timestamp_ms("created_at").filter(|_| ours) {
            Some(created_at_ms) => Seeded::AlreadyClaimed { created_at_ms },
            None => Seeded::SkuTaken { holder },
        })
    }
}

enum RowKind {
    Product,
    Newest,
    Bucket,
    Day,
}

/// One loader batch being put together: which statement each row goes to, and its values.
#[derive(Default)]
struct SeedRows {
    kinds: Vec<RowKind>,
    values: Vec<Box<dyn SerializeRow + Send + Sync>>,
    /// Index rows this batch writes, known written once it succeeds.
    buckets: Vec<BucketEntry>,
}

impl SeedRows {
    fn add(&mut self, db: &Db, product: &SeedProduct, created_at_ms: i64, created_by: &str) {
        let price = decimal::to_cql(product.price.as_decimal());
        let (id, name, sku) = (product.id, product.name.clone(), product.sku.clone());
        let newest = NewestRow::new(id, &name, &sku, price.clone(), created_at_ms, Some(created_by));
        let (bucket, day) = newest.index();
        self.push(RowKind::Product, (id, name, sku, price, CqlTimestamp(created_at_ms), Some(created_by.to_owned())));
        self.push(RowKind::Newest, newest);
        if !db.newest_indexed().contains(&bucket) && !self.buckets.contains(&bucket) {
            self.push(RowKind::Bucket, bucket);
            self.push(RowKind::Day, day);
            self.buckets.push(bucket);
        }
    }

    fn push(&mut self, kind: RowKind, values: impl SerializeRow + Send + Sync + 'static) {
        self.kinds.push(kind);
        self.values.push(Box::new(values));
    }
}
