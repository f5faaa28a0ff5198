//! Backfilling `products_by_newest` from `products`: for rows written before the newest-first
//! table existed. One page of the token-order scan at a time, each product's newest-first row
//! (and its partition's index rows, once per process) written from the product's own values,
//! so running it again writes the same rows.

use futures::StreamExt;
use scylla::response::{PagingState, PagingStateResponse};
use scylla::value::{CqlDecimal, CqlTimestamp};
use uuid::Uuid;

use super::newest_layout::NewestRow;
use crate::db::Db;
use crate::error::StoreError;

/// Rows read per page, and writes in flight at once.
const PAGE: i32 = 500;
const IN_FLIGHT: usize = 32;

/// What one backfill step did.
#[derive(Debug, Clone)]
pub struct BackfillStep {
    pub written: usize,
    /// The token of the page's last product: how far round the ring the scan is.
    pub last_token: Option<i64>,
    /// Where the next step starts; `None` when the scan is complete.
    pub next: Option<PagingState>,
}

impl Db {
    /// Backfills one page of products, from `from` (`PagingState::start()` at first).
    pub async fn backfill_newest_step(&self, from: PagingState) -> Result<BackfillStep, StoreError> {
        let (result, paging) = self
            .run_raw(|c| {
                let from = from.clone();
                async move {
                    let mut statement = c.statements.products_with_token.clone();
                    statement.set_page_size(PAGE);
                    c.session.execute_single_page(&statement, &[], from).await
                }
            })
            .await??;
        let rows = result.into_rows_result().map_err(internal)?;
        let mut newest = Vec::with_capacity(rows.rows_num());
        let mut last_token = None;
        for row in rows.rows::<(i64, Uuid, String, String, CqlDecimal, CqlTimestamp, Option<String>)>().map_err(internal)? {
            let (token, id, name, sku, price, created_at, created_by) = row.map_err(internal)?;
            last_token = Some(token);
            newest.push(NewestRow::new(id, &name, &sku, price, created_at.0, created_by.as_deref()));
        }
        let written = newest.len();
        let writes = futures::stream::iter(newest).map(|row| self.backfill_one(row)).buffer_unordered(IN_FLIGHT);
        let results: Vec<Result<(), StoreError>> = writes.collect().await;
        results.into_iter().collect::<Result<(), _>>()?;
        let next = match paging {
            PagingStateResponse::HasMorePages { state } => Some(state),
            PagingStateResponse::NoMorePages => None,
        };
        Ok(BackfillStep { written, last_token, next })
    }

    async fn backfill_one(&self, row: NewestRow) -> Result<(), StoreError> {
        let (bucket, day) = row.index();
        if self.newest_indexed().contains(&bucket) {
            self.run_raw(|c| {
                let row = row.clone();
                async move { c.session.execute_unpaged(&c.statements.insert_newest, row).await }
            })
            .await??;
        } else {
            self.run_raw(|c| {
                let values = (row.clone(), bucket, day);
                async move { c.session.batch(&c.statements.backfill_newest, values).await }
            })
            .await??;
            self.newest_indexed().insert(bucket);
        }
        Ok(())
    }
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}
