//! Listing: one page of a full-table scan in token order, resumed from the driver's paging
//! state carried in an opaque cursor. Token-order paging returns each row that existed when
//! the walk started exactly once, whatever is inserted meanwhile. A page has a cursor only
//! when a row follows it.

use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::response::{PagingState, PagingStateResponse};

use super::read::{ProductRow, product};
use crate::cursor::Cursor;
use crate::db::Db;
use crate::domain::Product;
use crate::error::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Product>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}

impl Db {
    /// `limit` is the page size (the caller validates its range).
    pub async fn list_products(&self, limit: i32, cursor: Option<&str>) -> Result<Page, StoreError> {
        let keyspace = self.keyspace().to_owned();
        let key = &self.config().cursor_key;
        let paging_state = match cursor {
            None => PagingState::start(),
            Some(text) => {
                let cursor = Cursor::decode(text, key, &keyspace).map_err(|e| StoreError::InvalidCursor(e.0.into()))?;
                PagingState::new_from_raw_bytes(cursor.paging_state())
            }
        };
        let outcome = self
            .run_raw(|c| {
                let paging_state = paging_state.clone();
                async move {
                    let mut statement = c.statements.list_products.clone();
                    statement.set_page_size(limit);
                    c.session.execute_single_page(&statement, &[], paging_state).await
                }
            })
            .await?;
        let (result, paging) = match outcome {
            Ok(v) => v,
            Err(e) if cursor.is_some() && rejects_paging_state(&e) => {
                // The database's message stays in the log: it is not the client's business and
                // may describe the schema or the server.
                tracing::warn!(error = %e, "the database refused a signed cursor's paging state");
                return Err(StoreError::InvalidCursor("refused by the database".into()));
            }
            Err(e) => return Err(e.into()),
        };
        let rows = result.into_rows_result().map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut items = Vec::with_capacity(rows.rows_num());
        let typed = rows.rows::<ProductRow>().map_err(|e| StoreError::Internal(e.to_string()))?;
        for row in typed {
            items.push(product(row.map_err(|e| StoreError::Internal(e.to_string()))?)?);
        }
        let next_cursor = match paging {
            // Cassandra hands a paging state back with every full page, also when the rows
            // exactly filled it: look one row ahead so the last page has no cursor to nowhere.
            PagingStateResponse::HasMorePages { state } if self.rows_follow(&state).await => state
                .as_bytes_slice()
                .map(|bytes| Cursor::from_paging_state(bytes).encode(key, &keyspace)),
            PagingStateResponse::HasMorePages { .. } | PagingStateResponse::NoMorePages => None,
        };
        Ok(Page { items, next_cursor })
    }

    /// Whether a row follows `state`: one row of the next page is read. When that read fails
    /// the cursor is kept (its page may then be empty, with no cursor), since the page itself
    /// was read and answering it beats failing the whole request.
    async fn rows_follow(&self, state: &PagingState) -> bool {
        let outcome = self
            .run_raw(|c| {
                let state = state.clone();
                async move {
                    let mut statement = c.statements.list_products.clone();
                    statement.set_page_size(1);
                    c.session.execute_single_page(&statement, &[], state).await
                }
            })
            .await;
        match outcome {
            Ok(Ok((result, paging))) => {
                let rows = result.into_rows_result().map(|r| r.rows_num()).unwrap_or(1);
                rows > 0 || matches!(paging, PagingStateResponse::HasMorePages { .. })
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not look past a full page; keeping its cursor");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not look past a full page; keeping its cursor");
                true
            }
        }
    }
}

/// How a node answers a paging state it cannot use (Cassandra: ProtocolError "Invalid value
/// for the paging state"; some nodes say Invalid).
fn rejects_paging_state(e: &ExecutionError) -> bool {
    matches!(
        e,
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(DbError::ProtocolError | DbError::Invalid, _))
    )
}
