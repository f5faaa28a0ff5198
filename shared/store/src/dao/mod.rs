//! The operations the functions need: create a product (unique SKU, idempotent retries) and
//! list products a page at a time.

mod create;
mod idempotency;
mod list;
mod lwt;
pub mod protocol;

pub use create::CreateOutcome;
pub use idempotency::IdempotencyKey;
pub use list::Page;
