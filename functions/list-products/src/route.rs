//! Which read a request is, from its path: API Gateway (and `cargo lambda watch` locally)
//! sends both `/products` and `/products/{id}` to this function.

/// A read route of the query side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /products`: a page, or the product holding `?sku=`.
    Products,
    /// `GET /products/{id}`, with the path segment as sent (validated by the handler, so a
    /// malformed id is a 400 naming `id`, not a 404).
    Product(String),
}

impl Route {
    /// `None` for a path neither router sends here.
    pub fn of(path: &str) -> Option<Route> {
        let rest = path.strip_prefix("/products")?;
        if rest.is_empty() {
            return Some(Route::Products);
        }
        let id = rest.strip_prefix('/')?;
        (!id.contains('/')).then(|| Route::Product(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_the_two_paths_only() {
        assert_eq!(Route::of("/products"), Some(Route::Products));
        assert_eq!(Route::of("/products/abc"), Some(Route::Product("abc".into())));
        assert_eq!(Route::of("/products/"), Some(Route::Product(String::new())));
        for other in ["/", "", "/productsx", "/products/a/b", "/other/products"] {
            assert_eq!(Route::of(other), None, "{other}");
        }
    }
}
