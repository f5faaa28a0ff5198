//! Metrics through one facade (`metrics`), with the backend chosen by `STORE_METRICS`:
//! - `prometheus` (what `make run` sets): Prometheus text on `GET /metrics` from each function
//!   process. `cargo lambda watch` runs one process per function (more with `--concurrency`),
//!   each on a port of its own, so each writes a file-based service discovery target file
//!   into `STORE_METRICS_TARGETS_DIR`, which Prometheus watches (observability/prometheus.yml).
//! - `emf` (what the template sets): CloudWatch Embedded Metric Format on stdout, flushed after
//!   every invocation, namespace `StoreManager`, dimension `function`: no agent, no network call.
//! - unset or `off`: nothing is recorded (the tests).
//!
//! The names are `store::telemetry`'s.

use std::path::{Path, PathBuf};
use std::time::Duration;

use metrics::Unit;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use store::telemetry as names;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const METRICS_VAR: &str = "STORE_METRICS";
pub const ADDR_VAR: &str = "STORE_METRICS_ADDR";
pub const TARGETS_DIR_VAR: &str = "STORE_METRICS_TARGETS_DIR";
pub const ANNOUNCE_HOST_VAR: &str = "STORE_METRICS_ANNOUNCE_HOST";
/// The CloudWatch namespace of the EMF metrics (the template's alarms and dashboard name it).
pub const NAMESPACE: &str = "StoreManager";

/// Latency buckets (seconds): a warm request takes milliseconds, a create with retries up to
/// its deadline (8 s by default).
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The backend this process records into.
pub enum Telemetry {
    Off,
    /// Serving on this port; `target_file` is the discovery file written for it.
    Prometheus { port: u16, target_file: Option<PathBuf> },
    Emf(&'static metrics_cloudwatch_embedded::Collector),
}

impl Telemetry {
    /// From the environment; a bad value stops start-up naming the variable.
    pub async fn from_env(function: &'static str) -> Result<Self, String> {
        Self::from_lookup(function, |name| std::env::var(name).ok()).await
    }

    pub async fn from_lookup(function: &'static str, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mode = lookup(METRICS_VAR).unwrap_or_default();
        let telemetry = match mode.trim() {
            "" | "off" => return Ok(Telemetry::Off),
            "prometheus" => prometheus(function, &lookup).await?,
            "emf" => {
                let collector = metrics_cloudwatch_embedded::Builder::new()
                    .cloudwatch_namespace(NAMESPACE)
                    .with_dimension("function", function)
                    .init()
                    .map_err(|e| format!("{METRICS_VAR}=emf: {e}"))?;
                Telemetry::Emf(collector)
            }
            other => return Err(format!("invalid {METRICS_VAR}: {other:?} is not prometheus, emf or off")),
        };
        describe();
        Ok(telemetry)
    }
}

fn describe() {
    metrics::describe_counter!(names::HTTP_REQUESTS, Unit::Count, "requests answered, by route and status");
    metrics::describe_histogram!(names::HTTP_DURATION, Unit::Seconds, "time to answer, by route");
    metrics::describe_counter!(names::DB_ERRORS, Unit::Count, "database errors, by kind");
    metrics::describe_counter!(names::SKU_CONFLICTS, Unit::Count, "creates answered 409");
    metrics::describe_counter!(names::IDEMPOTENT_REPLAYS, Unit::Count, "answers replayed for an Idempotency-Key");
    metrics::describe_counter!(names::COLD_STARTS, Unit::Count, "container starts");
    metrics::describe_histogram!(names::INIT_DURATION, Unit::Seconds, "init, from main to ready");
    metrics::describe_histogram!(names::CONNECT_DURATION, Unit::Seconds, "connecting to the cluster");
}

/// The route a request matched, as API Gateway names it; anything else is one `other`, so a
/// scan of random paths cannot grow the number of series.
pub fn route_of(method: &str, path: &str) -> &'static str {
    let path = path.trim_end_matches('/');
    match (method, path) {
        ("POST", "/products") => "POST /products",
        ("GET", "/products") => "GET /products",
        ("GET", p) if p.strip_prefix("/products/").is_some_and(|id| !id.is_empty() && !id.contains('/')) => {
            "GET /products/{id}"
        }
        _ => "other",
    }
}

/// One answered request.
pub fn request_answered(route: &'static str, status: u16, took: Duration) {
    metrics::counter!(names::HTTP_REQUESTS, "route" => route, "status" => status.to_string()).increment(1);
    metrics::histogram!(names::HTTP_DURATION, "route" => route).record(took.as_secs_f64());
}

/// Writes what the EMF collector holds to stdout, where Lambda sends it to CloudWatch Logs,
/// in one write (the collector writes a document at a time: a system call each). A failed
/// write loses these metrics, never the answer.
pub fn flush_emf(collector: &metrics_cloudwatch_embedded::Collector) {
    use std::io::Write;
    let mut documents = Vec::with_capacity(1024);
    let written = collector.flush(&mut documents).and_then(|()| std::io::stdout().lock().write_all(&documents));
    if let Err(e) = written {
        tracing::warn!(error = %e, "could not write the invocation's metrics");
    }
}

/// The init of this container, once.
pub fn cold_start(took: Duration) {
    metrics::counter!(names::COLD_STARTS).increment(1);
    metrics::histogram!(names::INIT_DURATION).record(took.as_secs_f64());
}

async fn prometheus(function: &'static str, lookup: &impl Fn(&str) -> Option<String>) -> Result<Telemetry, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| format!("{METRICS_VAR}=prometheus: {e}"))?;
    // Port 0 by default: several processes of one function each get their own. The exporter's
    // own listener cannot say which port it got, and discovery needs it, so we bind here.
    let addr = lookup(ADDR_VAR).unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(addr.trim())
        .await
        .map_err(|e| format!("invalid {ADDR_VAR}: cannot listen on {addr:?}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(serve(listener, handle.clone()));
    // Histograms keep their samples until upkeep folds them into buckets.
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    });
    let target_file = match lookup(TARGETS_DIR_VAR).filter(|d| !d.trim().is_empty()) {
        Some(dir) => {
            let host = lookup(ANNOUNCE_HOST_VAR).unwrap_or_else(|| bound.ip().to_string());
            Some(announce(Path::new(dir.trim()), function, &host, bound.port()).map_err(|e| format!("{TARGETS_DIR_VAR}: {e}"))?)
        }
        None => None,
    };
    tracing::info!(%bound, target_file = ?target_file, "metrics on http://{bound}/metrics");
    Ok(Telemetry::Prometheus { port: bound.port(), target_file })
}

/// Writes `<dir>/<function>-<pid>.json` for Prometheus's file-based discovery, whole (a
/// rename), after removing the files of processes that are gone.
fn announce(dir: &Path, function: &str, host: &str, port: u16) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    remove_stale(dir);
    let pid = std::process::id();
    let target = serde_json::json!([{ "targets": [format!("{host}:{port}")], "labels": { "function": function } }]);
    let path = dir.join(format!("{function}-{pid}.json"));
    let partial = dir.join(format!(".{function}-{pid}.json.tmp"));
    std::fs::write(&partial, serde_json::to_vec(&target).unwrap_or_default())?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// A target file whose process no longer runs (where /proc tells) would leave Prometheus
/// scraping a closed port forever.
fn remove_stale(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.strip_suffix(".json").and_then(|stem| stem.rsplit('-').next()).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `GET /metrics` and nothing else; one short response per connection.
async fn serve(listener: TcpListener, handle: PrometheusHandle) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let handle = handle.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), answer(stream, &handle)).await;
        });
    }
}

async fn answer(mut stream: TcpStream, handle: &PrometheusHandle) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let (status, content_type, body) = if head.starts_with(b"GET /metrics ") || head.starts_with(b"GET /metrics?") {
        ("200 OK", "text/plain; version=0.0.4", handle.render())
    } else {
        ("404 Not Found", "text/plain", "only GET /metrics\n".to_owned())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_the_api_gateway_route_keys_and_nothing_else_grows_the_series() {
        assert_eq!(route_of("POST", "/products"), "POST /products");
        assert_eq!(route_of("GET", "/products/"), "GET /products");
        assert_eq!(route_of("GET", "/products/6f1d0c7e-8d8a-4b0e-9d4c-2f6a1c3b5e7d"), "GET /products/{id}");
        assert_eq!(route_of("GET", "/products/a/b"), "other");
        assert_eq!(route_of("DELETE", "/products"), "other");
        assert_eq!(route_of("GET", "/admin"), "other");
    }

    #[test]
    fn a_target_file_is_written_whole_and_stale_ones_are_removed() {
        let dir = std::env::temp_dir().join(format!("store-targets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A pid no process has (above the kernel's pid_max of 2^22).
        let stale = dir.join("create-product-4294967.json");
        std::fs::write(&stale, "[]").unwrap();
        let path = announce(&dir, "list-products", "api", 9123).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(written, serde_json::json!([{"targets": ["api:9123"], "labels": {"function": "list-products"}}]));
        if Path::new("/proc/self").exists() {
            assert!(!stale.exists(), "the file of a process that is gone stays");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
