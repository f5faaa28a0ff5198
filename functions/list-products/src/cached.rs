//! Cache-aside for list pages (`page_cache`): a hit answers from Redis, a miss reads the
//! database and stores the page under the version it read first. The answer says which in
//! `Cache-Status` (RFC 9211). `?sku=` lookups and single products are not cached.

use http_api::ApiError;
use http_api::lambda_http::http::HeaderValue;
use http_api::lambda_http::{Body, Response};
use http_api::response::json_text;
use page_cache::{Lookup, PageCache};
use store::{Db, Page};

use crate::order::Order;
use crate::PageBody;

/// A page of the listing, through the cache when there is one.
pub async fn page(db: &Db, cache: Option<&PageCache>, order: Order, limit: i32, cursor: Option<&str>) -> Result<Response<Body>, ApiError> {
    let Some(cache) = cache else {
        return json_text(200, render(read(db, order, limit, cursor).await?)?);
    };
    // Cursors are signed: a page cached with one key's cursors is no use under another.
    let request = format!("{order:?}|{limit}|{}|{}", cursor.unwrap_or(""), db.config().cursor_key.id());
    let (body, status) = match cache.lookup(&request).await {
        Lookup::Hit(body) => (body, "hit"),
        Lookup::Miss(version) => {
            let body = render(read(db, order, limit, cursor).await?)?;
            let stored = cache.store(version, &request, &body).await;
            (body, if stored { "fwd=miss; stored" } else { "fwd=miss" })
        }
        Lookup::Unavailable => (render(read(db, order, limit, cursor).await?)?, "fwd=miss; detail=unavailable"),
    };
    let mut response = json_text(200, body)?;
    if let Ok(value) = HeaderValue::from_str(&format!("store-manager; {status}")) {
        response.headers_mut().insert("cache-status", value);
    }
    Ok(response)
}

async fn read(db: &Db, order: Order, limit: i32, cursor: Option<&str>) -> Result<Page, ApiError> {
    Ok(match order {
        Order::Newest => db.list_newest(limit, cursor).await?,
        Order::Token => db.list_products(limit, cursor).await?,
    })
}

fn render(page: Page) -> Result<String, ApiError> {
    serde_json::to_string(&PageBody { items: page.items, next_cursor: page.next_cursor }).map_err(|_| ApiError::Internal)
}
