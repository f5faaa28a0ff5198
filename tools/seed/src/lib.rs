//! The bulk generator behind `store-seed` (see `main.rs`): the fake catalogue and the
//! concurrent, resumable run. A library so that the API's tests seed through the very code
//! the command runs.

pub mod catalogue;
pub mod run;
