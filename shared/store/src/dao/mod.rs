//! The operations the functions need: create a product (unique SKU, idempotent retries), list
//! products a page at a time, and read one by id or by SKU.

mod create;
mod idempotency;
mod list;
mod lwt;
pub mod protocol;
pub(crate) mod read;

pub use create::CreateOutcome;
pub use idempotency::IdempotencyKey;
pub use list::Page;
