//! Lambda entry point: configuration, the write policy, metrics, the database handle and the
//! page cache (if configured) are built once per container; every invocation borrows them.

use http_api::identity::WritePolicy;
use http_api::lambda_http::Error;

// One thread: Lambda hands a process one request at a time, and on the multi-thread runtime
// the driver's connection tasks and the handler woke each other across threads (futexes),
// nearly half of a warm invocation's CPU (issue 11).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (db, telemetry) = http_api::startup::init_function("create-product").await;
    let writers = match WritePolicy::from_env() {
        Ok(policy) => policy,
        Err(e) => {
            tracing::error!(error = %e, "bad configuration; not starting");
            eprintln!("create-product: {e}");
            std::process::exit(2);
        }
    };
    if writers == WritePolicy::Off {
        tracing::warn!("STORE_AUTH=off: every write is allowed (local runs only)");
    }
    let cache = http_api::startup::init_cache("create-product", &db).await;
    let (db, writers, cache) = (&db, &writers, cache.as_ref());
    http_api::startup::run(&telemetry, move |req| async move {
        Ok::<_, Error>(create_product::handler_with_cache(db, writers, cache, req).await)
    })
    .await
}
