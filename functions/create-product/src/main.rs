//! Lambda entry point: configuration and the database handle are built once per container;
//! every invocation borrows them.

use http_api::lambda_http::{self, Error, service_fn};
use store::{Config, Db};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Local runs read .env; variables already set win. Lambda has no .env file.
    let _ = dotenvy::dotenv();
    http_api::logging::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            tracing::error!(error = %e, "bad configuration; not starting");
            eprintln!("create-product: {e}");
            std::process::exit(2);
        }
    };
    let db = Db::new(config);
    // Connect during init when possible; if the cluster is down, requests answer 503 and
    // reconnect later. Never exit here: Lambda would restart the init in a loop.
    if let Err(e) = db.warm_up().await {
        tracing::warn!(error = %e, "cluster not reachable at start; will retry on requests");
    }
    let db = &db;
    lambda_http::run(service_fn(move |req| async move { Ok::<_, Error>(create_product::handler(db, req).await) })).await
}
