//! `GET /products?order=`: which order a page is listed in.

use http_api::ApiError;

/// Token order stays the default: one read per page with no index to consult, and any
/// product table can be walked that way. Newest first costs a few more small reads a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The table's token order (to a person, an arbitrary one); no `order` parameter.
    Token,
    /// `order=newest`: most recently created first.
    Newest,
}

pub fn parse_order(text: Option<&str>) -> Result<Order, ApiError> {
    match text {
        None => Ok(Order::Token),
        Some("newest") => Ok(Order::Newest),
        Some(other) => Err(ApiError::InvalidParameter {
            name: "order",
            reason: format!("must be \"newest\" (or absent, for the default order), got {other:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_newest_is_an_order() {
        assert_eq!(parse_order(None).unwrap(), Order::Token);
        assert_eq!(parse_order(Some("newest")).unwrap(), Order::Newest);
        for bad in ["", "NEWEST", "oldest", "newest ", "token"] {
            let e = parse_order(Some(bad)).unwrap_err();
            assert!(matches!(e, ApiError::InvalidParameter { name: "order", .. }), "{bad:?}");
        }
    }
}
