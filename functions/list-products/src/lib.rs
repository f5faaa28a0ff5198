//! The query side: `GET /products?limit=&cursor=` (one page of products and the cursor of the
//! next one; `order=newest` for newest first), `GET /products?sku=` (the product holding a SKU, as a page) and
//! `GET /products/{id}` (one product). A library so that tests run the very handler Lambda
//! runs, in-process.

mod by_id;
mod by_sku;
mod cached;
mod order;
mod route;

use http_api::lambda_http::{Body, Request, RequestExt, Response};
use http_api::response::json;
use http_api::{ApiError, logging};
use serde::Serialize;
use page_cache::PageCache;
use store::{Db, Product};

pub use by_id::parse_id;
pub use order::{Order, parse_order};
pub use route::Route;

pub const DEFAULT_LIMIT: i32 = 50;
pub const MAX_LIMIT: i32 = 500;

#[derive(Serialize)]
struct PageBody {
    items: Vec<Product>,
    next_cursor: Option<String>,
}

pub async fn handler(db: &Db, req: Request) -> Response<Body> {
    handler_with_cache(db, None, req).await
}

/// `handler`, with list pages read through `cache` (`STORE_CACHE_URL`).
pub async fn handler_with_cache(db: &Db, cache: Option<&PageCache>, req: Request) -> Response<Body> {
    logging::log_request(req, |req| async move {
        match read(db, cache, req).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        }
    })
    .await
}

async fn read(db: &Db, cache: Option<&PageCache>, req: Request) -> Result<Response<Body>, ApiError> {
    let route = Route::of(req.uri().path())
        .ok_or_else(|| ApiError::NotFound(format!("no route for {}", req.uri().path())))?;
    if req.method() != "GET" {
        return Err(ApiError::MethodNotAllowed { allowed: "GET" });
    }
    match route {
        Route::Products => list(db, cache, &req).await,
        Route::Product(id) => by_id::get(db, &id).await,
    }
}

async fn list(db: &Db, cache: Option<&PageCache>, req: &Request) -> Result<Response<Body>, ApiError> {
    // Checked first, so a bad limit is refused however it is combined.
    let limit = match query_param(req, "limit") {
        None => DEFAULT_LIMIT,
        Some(text) => parse_limit(&text)?,
    };
    let order = parse_order(query_param(req, "order").as_deref())?;
    let cursor = query_param(req, "cursor");
    let page = match query_param(req, "sku") {
        Some(_) if order == Order::Newest => {
            return Err(ApiError::InvalidParameter {
                name: "order",
                reason: "cannot be combined with sku (a SKU names at most one product)".into(),
            });
        }
        Some(_) if cursor.is_some() => {
            return Err(ApiError::InvalidParameter {
                name: "cursor",
                reason: "cannot be combined with sku (a SKU's answer is a single page)".into(),
            });
        }
        Some(sku) => by_sku::find(db, &sku).await?,
        None => return cached::page(db, cache, order, limit, cursor.as_deref()).await,
    };
    json(200, &PageBody { items: page.items, next_cursor: page.next_cursor })
}

pub fn parse_limit(text: &str) -> Result<i32, ApiError> {
    let invalid = || ApiError::InvalidParameter {
        name: "limit",
        reason: format!("must be an integer from 1 to {MAX_LIMIT}, got {text:?}"),
    };
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match text.parse::<i32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(invalid()),
    }
}

/// From the parameters API Gateway extracted, or else from the raw query string (requests
/// built by hand).
fn query_param(req: &Request, name: &str) -> Option<String> {
    if let Some(v) = req.query_string_parameters_ref().and_then(|q| q.first(name)) {
        return Some(v.to_owned());
    }
    req.uri()
        .query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_1_to_500() {
        assert_eq!(parse_limit("1").unwrap(), 1);
        assert_eq!(parse_limit("500").unwrap(), 500);
        for bad in ["0", "501", "-1", "1.5", "abc", "", "99999999999", " 5"] {
            assert_eq!(parse_limit(bad).unwrap_err().status(), 400, "{bad}");
        }
    }
}
