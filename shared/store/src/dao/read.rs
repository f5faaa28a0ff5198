//! Reading one product: by id from `products`, and by SKU from its claim in `products_by_sku`.
//! Both at the configured read consistency, like the listing.
//!
//! By SKU, only a committed claim is a product: a pending one (`committed = false`) is a create
//! in progress that may still fail or lose its claim, so it is not shown. A committed claim
//! carries the product; one committed before the claim had those columns names only the id,
//! and the product is then read from `products`.

use scylla::value::{CqlDecimal, CqlTimestamp};
use uuid::Uuid;

use crate::db::Db;
use crate::decimal;
use crate::domain::{Price, Product, Sku};
use crate::error::StoreError;

/// A `products_by_sku` row: `product_id, committed, name, price, created_at`, any of them
/// possibly null (the last three on claims older than those columns).
type ClaimRow = (Option<Uuid>, Option<bool>, Option<String>, Option<CqlDecimal>, Option<CqlTimestamp>);

impl Db {
    /// The product with this id, if its row exists.
    pub async fn get_product(&self, id: Uuid) -> Result<Option<Product>, StoreError> {
        let result = self
            .run_raw(|c| async move { c.session.execute_unpaged(&c.statements.get_product, (id,)).await })
            .await??;
        let rows = result.into_rows_result().map_err(internal)?;
        let row = rows
            .maybe_first_row::<(Uuid, String, String, CqlDecimal, CqlTimestamp)>()
            .map_err(internal)?;
        row.map(|(id, name, sku, price, created_at)| product(id, &name, &sku, &price, created_at))
            .transpose()
    }

    /// The product holding `sku`, if its claim is committed.
    pub async fn get_product_by_sku(&self, sku: &Sku) -> Result<Option<Product>, StoreError> {
        let key = sku.as_str();
        let result = self
            .run_raw(|c| async move { c.session.execute_unpaged(&c.statements.product_by_sku, (key,)).await })
            .await??;
        let rows = result.into_rows_result().map_err(internal)?;
        let Some((product_id, committed, name, price, created_at)) = rows.maybe_first_row::<ClaimRow>().map_err(internal)?
        else {
            return Ok(None);
        };
        let Some(id) = product_id.filter(|_| committed == Some(true)) else {
            return Ok(None);
        };
        match (name, price, created_at) {
            (Some(name), Some(price), Some(created_at)) => product(id, &name, key, &price, created_at).map(Some),
            // Committed before claims carried the product: its row is the record.
            _ => self.get_product(id).await,
        }
    }
}

/// A stored product as the API shows it.
pub(super) fn product(id: Uuid, name: &str, sku: &str, price: &CqlDecimal, created_at: CqlTimestamp) -> Result<Product, StoreError> {
    let price = decimal::from_cql(price)
        .ok_or_else(|| StoreError::Internal(format!("stored price of {id} is out of range")))?;
    Ok(Product::new(id, name, sku, Price::from_stored(price), created_at.0))
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}
