//! The product API through the real handlers, the real scylla driver and the CQL node.
//! One binary, one module per concern.

mod address_translation;
mod auth;
mod cache;
mod cold_start;
mod concurrency;
mod create;
mod create_review;
mod create_schedules;
mod drill;
mod faults;
mod idempotency;
mod list_paging;
mod newest;
mod openapi;
mod reads;
mod retry_unknown;
mod review_consistency;
mod review_content_type;
mod review_cursor;
mod review_keyspaces;
mod review_names;
mod schema;
mod seed;
mod validation;
