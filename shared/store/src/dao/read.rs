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

/// The columns of a `products` row as the reads select them, in `ProductRow`'s order.
pub(crate) const PRODUCT_COLUMNS: &str = "id, name, sku, price, created_at, created_by";

/// A `products` row; `created_by` is null on rows stored before it was recorded.
pub(super) type ProductRow = (Uuid, String, String, CqlDecimal, CqlTimestamp, Option<String>);

/// A `products_by_sku` row: `product_id, committed, name, price, created_at, created_by`, any
/// of them possibly null (the last four on claims older than those columns).
type ClaimRow = (Option<Uuid>, Option<bool>, Option<String>, Option<CqlDecimal>, Option<CqlTimestamp>, Option<String>);

impl Db {
    /// The product with this id, if its row exists.
    pub async fn get_product(&self, id: Uuid) -> Result<Option<Product>, StoreError> {
        let result = self
            .run_raw(|c| async move { c.session.execute_unpaged(&c.statements.get_product, (id,)).await })
            .await??;
        let rows = result.into_rows_result().map_err(internal)?;
        rows.maybe_first_row::<ProductRow>().map_err(internal)?.map(product).transpose()
    }

    /// The product holding `sku`, if its claim is committed.
    pub async fn get_product_by_sku(&self, sku: &Sku) -> Result<Option<Product>, StoreError> {
        let key = sku.as_str();
        let result = self
            .run_raw(|c| async move { c.session.execute_unpaged(&c.statements.product_by_sku, (key,)).await })
            .await??;
        let rows = result.into_rows_result().map_err(internal)?;
        let Some((product_id, committed, name, price, created_at, created_by)) = rows.maybe_first_row::<ClaimRow>().map_err(internal)?
        else {
            return Ok(None);
        };
        let Some(id) = product_id.filter(|_| committed == Some(true)) else {
            return Ok(None);
        };
        match (name, price, created_at) {
            (Some(name), Some(price), Some(created_at)) => {
                product((id, name, key.to_owned(), price, created_at, created_by)).map(Some)
            }
            // Committed before claims carried the product: its row is the record.
            _ => self.get_product(id).await,
        }
    }
}

/// A stored product as the API shows it.
pub(super) fn product(row: ProductRow) -> Result<Product, StoreError> {
    let (id, name, sku, price, created_at, created_by) = row;
    let price = decimal::from_cql(&price)
        .ok_or_else(|| StoreError::Internal(format!("stored price of {id} is out of range")))?;
    Ok(Product::new(id, &name, &sku, Price::from_stored(price), created_at.0, created_by.as_deref()))
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}
