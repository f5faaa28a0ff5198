//! Validated domain values: once built, a `Name`, `Sku` or `Price` is known to be valid, so the
//! DAO never re-checks. Each `parse` names the field it refuses, for the problem body.

mod name;
mod price;
mod product;
mod sku;

pub use name::Name;
pub use price::Price;
pub use product::{NewProduct, Product};
pub use sku::Sku;

/// Why one field was refused; `field` is the JSON member name the client sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
