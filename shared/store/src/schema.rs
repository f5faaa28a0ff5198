//! The keyspace and tables, as CQL. Applied only by the explicit schema command
//! (`store-schema`), never at cold start: DDL is slow, needs schema agreement, and a fleet of
//! cold-starting functions racing to run it is how clusters get schema disagreements.
//! Every statement is `IF NOT EXISTS`, so applying twice is harmless.

use scylla::client::session::Session;

use crate::config::Replication;
use crate::error::StoreError;

pub const PRODUCTS: &str = "products";
pub const PRODUCTS_BY_SKU: &str = "products_by_sku";
pub const IDEMPOTENCY_KEYS: &str = "idempotency_keys";
/// The newest-first read model (query table) and its two-level index of non-empty buckets.
/// Layout and reasons: `dao/newest_layout.rs` and ARCHITECTURE.md.
pub const PRODUCTS_BY_NEWEST: &str = "products_by_newest";
pub const NEWEST_BUCKETS: &str = "products_newest_buckets";
pub const NEWEST_DAYS: &str = "products_newest_days";

/// The product columns `products_by_newest` copies from `products` besides its key columns
/// (`id`, `created_at`): the one list to extend when products gain a column (the DDL, the
/// batch's INSERT and the page's SELECT all follow it; `ProductRow` binds them by name).
pub const NEWEST_COPIED_COLUMNS: &[(&str, &str)] =
    &[("name", "text"), ("sku", "text"), ("price", "decimal"), ("created_by", "text")];

pub fn create_keyspace(keyspace: &str, replication: &Replication) -> String {
    format!(
        "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {}",
        replication.to_cql()
    )
}

/// Table DDL, without the keyspace statement (Amazon Keyspaces creates keyspaces its own way).
pub fn create_tables(keyspace: &str) -> Vec<String> {
    vec![
        // The products themselves; listed by full-table token-order paging.
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.{PRODUCTS} (\
             id uuid PRIMARY KEY, name text, sku text, price decimal, created_at timestamp, created_by text)"
        ),
        // One row per SKU, changed only by lightweight transactions: claimed as
        // `committed = false` with a TTL while a create is in flight, then committed (no
        // TTL) by a conditional update. It carries the product, so a committed claim is the
        // record that the product exists, and its `products` row can be rewritten from it.
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.{PRODUCTS_BY_SKU} (\
             sku text PRIMARY KEY, product_id uuid, committed boolean, \
             name text, price decimal, created_at timestamp, created_by text)"
        ),
        // Idempotency-Key claims (TTL 24 h) with what is needed to replay the first answer.
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.{IDEMPOTENCY_KEYS} (\
             key text PRIMARY KEY, fingerprint blob, product_id uuid, created_at timestamp, \
             status int, body text)"
        ),
        // Newest first: one partition per minute of creation and shard (a hash of the id),
        // rows by (created_at, id); written in the same logged batch as the `products` row.
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.{PRODUCTS_BY_NEWEST} (\
             bucket int, shard int, created_at timestamp, id uuid, {}, \
             PRIMARY KEY ((bucket, shard), created_at, id))",
            NEWEST_COPIED_COLUMNS.iter().map(|(c, t)| format!("{c} {t}")).collect::<Vec<_>>().join(", ")
        ),
        // Which (bucket, shard) partitions hold rows, one partition per day: a walk steps to
        // the next non-empty one in one read, however many minutes were empty.
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.{NEWEST_BUCKETS} (\
             day int, bucket int, shard int, PRIMARY KEY (day, bucket, shard))"
        ),
        // Which days hold rows: one row per day with products, in one small partition.
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.{NEWEST_DAYS} (\
             shelf int, day int, PRIMARY KEY (shelf, day))"
        ),
    ]
}

/// Every statement, in order.
pub fn statements(keyspace: &str, replication: &Replication) -> Vec<String> {
    let mut all = vec![create_keyspace(keyspace, replication)];
    all.extend(create_tables(keyspace));
    all
}

/// Columns added to a table after it was first created, oldest first: `store-schema` adds
/// those missing from an existing table (`CREATE TABLE IF NOT EXISTS` leaves it as it was),
/// so applying the schema upgrades a keyspace in place without losing rows.
pub const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    (PRODUCTS_BY_SKU, "name", "text"),
    (PRODUCTS_BY_SKU, "price", "decimal"),
    (PRODUCTS_BY_SKU, "created_at", "timestamp"),
    // The caller's subject (issue 12); null on rows written before.
    (PRODUCTS, "created_by", "text"),
    (PRODUCTS_BY_SKU, "created_by", "text"),
];

/// `ALTER TABLE ... ADD` for each of `ADDED_COLUMNS` the table lacks.
pub async fn add_missing_columns(session: &Session, keyspace: &str) -> Result<(), StoreError> {
    for (table, column, cql_type) in ADDED_COLUMNS {
        let existing = session
            .query_unpaged(
                "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ? AND column_name = ?",
                (keyspace, *table, *column),
            )
            .await?
            .into_rows_result()
            .map_err(|e| StoreError::Internal(e.to_string()))?
            .rows_num();
        if existing == 0 {
            let statement = format!("ALTER TABLE {keyspace}.{table} ADD {column} {cql_type}");
            tracing::info!(%statement, "adding a column");
            session.query_unpaged(statement, &[]).await?;
        }
    }
    Ok(())
}

/// Runs `statements` one by one; the driver waits for schema agreement after each.
pub async fn apply(session: &Session, statements: &[String]) -> Result<(), StoreError> {
    for statement in statements {
        tracing::info!(%statement, "applying schema");
        session.query_unpaged(statement.as_str(), &[]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_is_idempotent_and_qualified() {
        let all = statements("store", &Replication::Simple { factor: 1 });
        assert_eq!(all.len(), 7);
        for s in &all {
            assert!(s.contains("IF NOT EXISTS"), "{s}");
        }
        for s in &all[1..] {
            assert!(s.contains("store."), "{s}");
        }
    }
}
