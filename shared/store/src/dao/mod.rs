//! The operations the functions need: create a product (unique SKU, idempotent retries), list
//! products a page at a time (token order, or newest first), read one by id or by SKU, and
//! backfill or bulk-load the newest-first table, and seed products in bulk.

mod backfill;
mod bulk;
mod create;
mod idempotency;
mod list;
mod lwt;
mod newest;
pub mod newest_layout;
pub mod protocol;
pub(crate) mod read;

pub use backfill::BackfillStep;
pub use bulk::{MAX_SEED_BATCH, SeedProduct, Seeded};
pub use create::CreateOutcome;
pub use idempotency::IdempotencyKey;
pub use list::Page;
