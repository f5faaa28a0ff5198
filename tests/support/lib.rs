//! Test support: `spawn_app` starts a CQL node (in memory, on 127.0.0.1:<free port>), applies
//! the schema with the real driver, and gives the two real handlers their own `Db` each, as
//! two Lambda containers would have. Every response a test gets is checked against
//! `openapi.yaml` on the way. With `STORE_TEST_CONTACT_POINTS` set they run against an
//! external cluster instead (`target`), skipping what needs the node.

pub mod app;
pub mod keyspaces;
pub mod openapi;
pub mod redis;
pub mod target;

pub use app::{TestApp, TestResponse, product, spawn_app, spawn_app_cached, spawn_app_configured, spawn_app_with, spawn_app_with_paxos};
