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

pub fn create_keyspace(keyspace: &str, replication: &Replication) -> String {
    format!("CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {}", replication.to_cql())
}

/// Table DDL, without the keyspace statement (Amazon Keyspaces creates keyspaces its own way).
pub fn create_tables(keyspace: &str) -> Vec<String> {
    vec![
        // The products themselves; listed by full-table token-order paging.
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.{PRODUCTS} (\
             id uuid PRIMARY KEY, name text, sku text, price decimal, created_at timestamp)"
        ),
        // One row per SKU, claimed with a lightweight transaction: `committed = false` with a
        // TTL while a create is in flight, rewritten without TTL together with the product.
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.{PRODUCTS_BY_SKU} (\
             sku text PRIMARY KEY, product_id uuid, committed boolean)"
        ),
        // Idempotency-Key claims (TTL 24 h) with what is needed to replay the first answer.
        format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.{IDEMPOTENCY_KEYS} (\
             key text PRIMARY KEY, fingerprint blob, product_id uuid, created_at timestamp, \
             status int, body text)"
        ),
    ]
}

/// Every statement, in order.
pub fn statements(keyspace: &str, replication: &Replication) -> Vec<String> {
    let mut all = vec![create_keyspace(keyspace, replication)];
    all.extend(create_tables(keyspace));
    all
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
        assert_eq!(all.len(), 4);
        for s in &all {
            assert!(s.contains("IF NOT EXISTS"), "{s}");
        }
        for s in &all[1..] {
            assert!(s.contains("store."), "{s}");
        }
    }
}
