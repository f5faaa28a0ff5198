//! Every statement the DAO runs, prepared once per session (so once per Lambda container, and
//! again after a reconnect builds a new session). The driver re-prepares by itself when a node
//! answers Unprepared.

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use crate::config::Config;
use crate::dao::read::PRODUCT_COLUMNS;
use crate::error::StoreError;
use crate::schema::{IDEMPOTENCY_KEYS, PRODUCTS, PRODUCTS_BY_SKU};

/// How long a pending SKU claim holds before it expires by itself, so a create that crashed
/// between claim and commit cannot block the SKU for longer than this.
pub(crate) const PENDING_CLAIM_TTL_SECS: i32 = 60;
/// How long an Idempotency-Key is remembered.
pub(crate) const IDEMPOTENCY_TTL_SECS: i32 = 24 * 3600;

pub(crate) struct Statements {
    pub claim_idempotency_key: PreparedStatement,
    pub save_idempotent_response: PreparedStatement,
    pub claim_sku: PreparedStatement,
    pub commit_sku: PreparedStatement,
    pub insert_product: PreparedStatement,
    pub release_sku: PreparedStatement,
    pub list_products: PreparedStatement,
    pub get_product: PreparedStatement,
    pub product_by_sku: PreparedStatement,
}

impl Statements {
    pub async fn prepare(session: &Session, config: &Config) -> Result<Self, StoreError> {
        let ks = config.keyspace.as_str();
        // Every statement here may run twice (a driver retry, or the create protocol running
        // an operation again after a lost answer): claims and conditional updates show the
        // current row when they do not apply, which the protocol reads; plain writes rewrite
        // identical values.
        let prepare = |text: String| async move {
            let mut s = session.prepare(text).await?;
            s.set_is_idempotent(true);
            Ok::<_, StoreError>(s)
        };
        // Reads at the configured read consistency (Keyspaces: LOCAL_ONE or LOCAL_QUORUM);
        // without one, the session's default.
        let read = |text: String| async move {
            let mut s = prepare(text).await?;
            if let Some(read) = config.read_consistency {
                s.set_consistency(read);
            }
            Ok::<_, StoreError>(s)
        };
        Ok(Statements {
            claim_idempotency_key: prepare(format!(
                "INSERT INTO {ks}.{IDEMPOTENCY_KEYS} (key, fingerprint, product_id, created_at) \
                 VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL {IDEMPOTENCY_TTL_SECS}"
            ))
            .await?,
            // The whole row with one TTL: a key's columns all expire together, so a key is
            // never left with an answer but without the fingerprint that guards it.
            save_idempotent_response: prepare(format!(
                "INSERT INTO {ks}.{IDEMPOTENCY_KEYS} (key, fingerprint, product_id, created_at, status, body) \
                 VALUES (?, ?, ?, ?, ?, ?) USING TTL {IDEMPOTENCY_TTL_SECS}"
            ))
            .await?,
            claim_sku: prepare(format!(
                "INSERT INTO {ks}.{PRODUCTS_BY_SKU} (sku, product_id, committed, name, price, created_at, created_by) \
                 VALUES (?, ?, false, ?, ?, ?, ?) IF NOT EXISTS USING TTL {PENDING_CLAIM_TTL_SECS}"
            ))
            .await?,
            // Rewrites every column without TTL (the claim's cells all carried one), and only
            // over our own pending claim: never over a claim that expired and was taken.
            commit_sku: prepare(format!(
                "UPDATE {ks}.{PRODUCTS_BY_SKU} SET committed = true, product_id = ?, name = ?, price = ?, created_at = ?, created_by = ? \
                 WHERE sku = ? IF product_id = ? AND committed = false"
            ))
            .await?,
            insert_product: prepare(format!(
                "INSERT INTO {ks}.{PRODUCTS} (id, name, sku, price, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            release_sku: prepare(format!(
                "DELETE FROM {ks}.{PRODUCTS_BY_SKU} WHERE sku = ? IF product_id = ? AND committed = false"
            ))
            .await?,
            list_products: read(format!("SELECT {PRODUCT_COLUMNS} FROM {ks}.{PRODUCTS}")).await?,
            get_product: read(format!("SELECT {PRODUCT_COLUMNS} FROM {ks}.{PRODUCTS} WHERE id = ?")).await?,
            product_by_sku: read(format!(
                "SELECT product_id, committed, name, price, created_at, created_by FROM {ks}.{PRODUCTS_BY_SKU} WHERE sku = ?"
            ))
            .await?,
        })
    }
}
