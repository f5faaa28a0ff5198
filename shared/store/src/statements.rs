//! Every statement the DAO runs, prepared once per session (so once per Lambda container, and
//! again after a reconnect builds a new session). The driver re-prepares by itself when a node
//! answers Unprepared.

use scylla::client::session::Session;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;

use crate::config::Config;
use crate::dao::read::PRODUCT_COLUMNS;
use crate::error::StoreError;
use crate::schema::{
    IDEMPOTENCY_KEYS, NEWEST_BUCKETS, NEWEST_COPIED_COLUMNS, NEWEST_DAYS, PRODUCTS, PRODUCTS_BY_NEWEST, PRODUCTS_BY_SKU,
};

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
    pub release_sku: PreparedStatement,
    /// A bulk loader's claim: committed at once, without TTL (`store-seed`).
    pub seed_claim: PreparedStatement,
    pub list_products: PreparedStatement,
    pub get_product: PreparedStatement,
    pub product_by_sku: PreparedStatement,
    /// The `products` row and its `products_by_newest` row, as one logged batch, so neither
    /// exists for good without the other; `_indexed` also writes the two index rows.
    pub write_product: Batch,
    pub write_product_indexed: Batch,
    /// The statements of those batches, for a loader's batches of several products.
    pub insert_product: PreparedStatement,
    pub insert_bucket: PreparedStatement,
    pub insert_day: PreparedStatement,
    /// The backfill's: the newest-first row alone, or with its index rows.
    pub insert_newest: PreparedStatement,
    pub backfill_newest: Batch,
    pub newest_day: PreparedStatement,
    pub newest_buckets: PreparedStatement,
    pub newest_rows: PreparedStatement,
    pub newest_rows_before: PreparedStatement,
    pub newest_rows_tied: PreparedStatement,
    pub products_with_token: PreparedStatement,
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
        let copied: Vec<&str> = NEWEST_COPIED_COLUMNS.iter().map(|(c, _)| *c).collect();
        let insert_product = prepare(format!(
            "INSERT INTO {ks}.{PRODUCTS} (id, name, sku, price, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)"
        ))
        .await?;
        let insert_newest = prepare(format!(
            "INSERT INTO {ks}.{PRODUCTS_BY_NEWEST} (bucket, shard, created_at, id, {}) VALUES (?, ?, ?, ?, {})",
            copied.join(", "),
            vec!["?"; copied.len()].join(", ")
        ))
        .await?;
        let insert_bucket =
            prepare(format!("INSERT INTO {ks}.{NEWEST_BUCKETS} (day, bucket, shard) VALUES (?, ?, ?)")).await?;
        let insert_day = prepare(format!("INSERT INTO {ks}.{NEWEST_DAYS} (shelf, day) VALUES (?, ?)")).await?;
        let batch = |statements: &[&PreparedStatement]| {
            let mut b = Batch::new(BatchType::Logged);
            for s in statements {
                b.append_statement((*s).clone());
            }
            b.set_is_idempotent(true);
            b
        };
        // Rows of one partition, newest first (the tables cluster ascending; Amazon Keyspaces'
        // CQL has no multi-column relations, hence the tie query for rows of the cursor's
        // own millisecond).
        let rows = |bound: &str| {
            format!(
                "SELECT id, created_at, {} FROM {ks}.{PRODUCTS_BY_NEWEST} WHERE bucket = ? AND shard = ?{bound} \
                 ORDER BY created_at DESC, id DESC LIMIT ?",
                copied.join(", ")
            )
        };
        Ok(Statements {
            write_product: batch(&[&insert_product, &insert_newest]),
            write_product_indexed: batch(&[&insert_product, &insert_newest, &insert_bucket, &insert_day]),
            backfill_newest: batch(&[&insert_newest, &insert_bucket, &insert_day]),
            insert_newest,
            insert_product,
            insert_bucket,
            insert_day,
            newest_day: read(format!(
                "SELECT day FROM {ks}.{NEWEST_DAYS} WHERE shelf = ? AND day <= ? ORDER BY day DESC LIMIT 1"
            ))
            .await?,
            newest_buckets: read(format!(
                "SELECT bucket, shard FROM {ks}.{NEWEST_BUCKETS} WHERE day = ? AND bucket <= ? \
                 ORDER BY bucket DESC, shard DESC LIMIT ?"
            ))
            .await?,
            newest_rows: read(rows("")).await?,
            newest_rows_before: read(rows(" AND created_at < ?")).await?,
            newest_rows_tied: read(rows(" AND created_at = ? AND id < ?")).await?,
            products_with_token: read(format!(
                "SELECT token(id), {PRODUCT_COLUMNS} FROM {ks}.{PRODUCTS}"
            ))
            .await?,
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
            seed_claim: prepare(format!(
                "INSERT INTO {ks}.{PRODUCTS_BY_SKU} (sku, product_id, committed, name, price, created_at, created_by) \
                 VALUES (?, ?, true, ?, ?, ?, ?) IF NOT EXISTS"
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
