//! The product DAO shared by the functions: validated domain types, configuration from the
//! environment, the CQL session (built lazily, so a cold start with the cluster down does not
//! crash), prepared statements, and the create/list operations on top of them.

pub mod address_translation;
pub mod config;
pub mod cursor;
pub mod cursor_key;
pub mod dao;
pub mod db;
mod decimal;
pub mod domain;
pub mod error;
pub mod schema;
pub mod secret;
mod statements;
pub mod telemetry;

pub use address_translation::AddressTranslation;
pub use config::{Config, ConfigError, Replication};
pub use cursor::{Cursor, CursorKind};
pub use cursor_key::CursorKey;
pub use dao::{BackfillStep, CreateOutcome, IdempotencyKey, MAX_SEED_BATCH, Page, SeedProduct, Seeded};
pub use db::{Db, SessionHook};
pub use domain::{Name, NewProduct, Price, Product, Sku, ValidationError};
pub use error::StoreError;
pub use secret::Secret;
