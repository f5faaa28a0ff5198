//! Lambda entry point: configuration, metrics, the database handle and the page cache
//! (if configured) are built once per container; every invocation borrows them.

use http_api::lambda_http::Error;

// One thread: Lambda hands a process one request at a time, and on the multi-thread runtime
// the driver's connection tasks and the handler woke each other across threads (futexes),
// nearly half of a warm invocation's CPU (issue 11).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (db, telemetry) = http_api::startup::init_function("list-products").await;
    let cache = http_api::startup::init_cache("list-products", &db).await;
    let (db, cache) = (&db, cache.as_ref());
    http_api::startup::run(&telemetry, move |req| async move {
        Ok::<_, Error>(list_products::handler_with_cache(db, cache, req).await)
    })
    .await
}
