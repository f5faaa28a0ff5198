//! `GET /products?sku=`: the product holding a SKU, as a page of zero or one item, so clients
//! read it like any other page of the listing.

use http_api::ApiError;
use store::{Db, Page, Sku};

pub async fn find(db: &Db, sku: &str) -> Result<Page, ApiError> {
    let sku = Sku::parse(sku).map_err(|e| ApiError::InvalidParameter { name: "sku", reason: e.message })?;
    let items = db.get_product_by_sku(&sku).await?.into_iter().collect();
    // One SKU, one product at most: there is never a next page.
    Ok(Page { items, next_cursor: None })
}
