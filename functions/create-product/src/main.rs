//! Lambda entry point: configuration and the database handle are built once per container;
//! every invocation borrows them.

use http_api::lambda_http::{self, Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let db = http_api::startup::init_function("create-product").await;
    let db = &db;
    lambda_http::run(service_fn(move |req| async move {
        Ok::<_, Error>(create_product::handler(db, req).await)
    }))
    .await
}
