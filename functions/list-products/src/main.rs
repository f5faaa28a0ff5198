//! Lambda entry point: configuration, metrics and the database handle are built once per
//! container; every invocation borrows them.

use http_api::lambda_http::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (db, telemetry) = http_api::startup::init_function("list-products").await;
    let db = &db;
    http_api::startup::run(&telemetry, move |req| async move { Ok::<_, Error>(list_products::handler(db, req).await) }).await
}
