//! Writing products directly, for loaders and benchmarks: the same logged batch a create ends
//! with (`products` row, newest-first row, index rows once per process), without the SKU
//! claim or an idempotency key, so the caller vouches that SKUs are unique.

use scylla::value::CqlTimestamp;
use uuid::Uuid;

use super::newest_layout::NewestRow;
use crate::db::Db;
use crate::decimal;
use crate::domain::Price;
use crate::error::StoreError;

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
}
