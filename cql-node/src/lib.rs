//! A small CQL node speaking the native protocol v4: the embedded database double for local
//! runs and the fixture for every CQL test. It is not a database; production runs on
//! Cassandra, ScyllaDB or Amazon Keyspaces. See SUPPORTED.md beside this crate.

pub mod auth;
pub mod cluster;
pub mod engine;
pub mod error;
pub mod faults;
pub mod keyspaces;
pub mod protocol;
pub mod replication;
pub mod server;
pub mod types;
