//! Lambda entry point: configuration and the database handle are built once per container;
//! every invocation borrows them.

use http_api::lambda_http::{self, Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Local runs read .env; variables already set win. Lambda has no .env file.
    let _ = dotenvy::dotenv();
    http_api::logging::init();
    let db = match http_api::startup::db_from_env() {
        Ok(db) => db,
        Err(e) => {
            tracing::error!(error = %e, "bad configuration; not starting");
            eprintln!("create-product: {e}");
            std::process::exit(2);
        }
    };
    http_api::startup::warm_up(&db).await;
    let db = &db;
    lambda_http::run(service_fn(move |req| async move { Ok::<_, Error>(create_product::handler(db, req).await) })).await
}
