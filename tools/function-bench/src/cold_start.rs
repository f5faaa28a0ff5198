//! One execution environment's life: start the function's binary as Lambda does (the
//! `AWS_LAMBDA_*` variables, `AWS_LAMBDA_RUNTIME_API` pointing at the stand-in), wait for
//! its first `next` (the end of init), feed it one event, then `warm` more, reading its CPU
//! at each `next`, where it waits idle.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::events::Function;
use crate::runtime_api::{Invocation, NextArrived, Outcome, RuntimeApi};
use crate::usage;

/// Bound on every wait, so a function that died or hangs stops the bench with its log.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// A key of the bench only (64 hex digits), so the function logs no warning about a random one.
const CURSOR_KEY: &str = "62656e63682d6f6e6c792d637572736f722d6b65792d6e6f742d612d73656372";

pub struct ColdStart {
    /// Process start to its first `next`.
    pub init: Duration,
    pub init_cpu: Duration,
    /// The first invocation: event handed out to response received.
    pub first: Duration,
    pub warm: Vec<Duration>,
    pub warm_cpu_per_invocation: Duration,
    pub peak_rss_kb: u64,
    /// Sockets open at the end of init: database connections plus the Runtime API's.
    pub sockets_after_init: usize,
}

pub struct Spec<'a> {
    pub function: Function,
    pub binary: &'a Path,
    pub environment: &'a [(&'static str, String)],
    pub warm: usize,
    pub run: String,
    pub log: &'a Path,
}

pub async fn run(api: &Arc<RuntimeApi>, spec: Spec<'_>) -> Result<ColdStart, String> {
    let log = std::fs::File::create(spec.log).map_err(|e| format!("{}: {e}", spec.log.display()))?;
    let mut command = Command::new(spec.binary);
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", spec.function.name())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", spec.function.name()))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "function-bench")
        .env("AWS_REGION", crate::nodes::REGION)
        .env("AWS_DEFAULT_REGION", crate::nodes::REGION)
        .env("TZ", ":UTC")
        // What the template sets.
        .env("STORE_METRICS", "emf")
        .env("RUST_LOG", "info")
        .env("STORE_CURSOR_KEY", CURSOR_KEY)
        // The bench's own: never read a developer's .env.
        .env("STORE_DOTENV", "off")
        .envs(spec.environment.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("{}: {e}", spec.binary.display()))?;
    let pid = child.id().ok_or("the function exited at once")?;
    let result = drive(api, &spec, pid, started, &mut child).await;
    let _ = child.kill().await;
    let result = result.and_then(|cold| emf_flushed_per_invocation(spec.log, spec.warm + 1).map(|()| cold));
    result.map_err(|e| {
        let tail = std::fs::read_to_string(spec.log).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(10).collect();
        format!("{} ({}): {e}\n  its last lines:\n    {}", spec.function.name(), spec.run, tail.into_iter().rev().collect::<Vec<_>>().join("\n    "))
    })
}

async fn drive(api: &RuntimeApi, spec: &Spec<'_>, pid: u32, started: Instant, child: &mut Child) -> Result<ColdStart, String> {
    let first_next = next(api, child).await?;
    let init = first_next.at - started;
    let init_usage = usage::cpu(pid).map_err(|e| e.to_string())?;
    let sockets_after_init = usage::sockets(pid).map_err(|e| e.to_string())?;
    let first = invoke(api, spec, first_next, 0).await?;

    let mut pending = next(api, child).await?;
    let warm_start = usage::cpu(pid).map_err(|e| e.to_string())?;
    let mut warm = Vec::with_capacity(spec.warm);
    for n in 1..=spec.warm {
        warm.push(invoke(api, spec, pending, n).await?);
        pending = next(api, child).await?;
    }
    let warm_end = usage::cpu(pid).map_err(|e| e.to_string())?;
    if warm_end.threads < warm_start.threads || warm_start.threads < init_usage.threads {
        return Err(format!(
            "a thread exited during the run ({} -> {} -> {} threads): its CPU time would be missing",
            init_usage.threads, warm_start.threads, warm_end.threads
        ));
    }
    let peak_rss_kb = usage::peak_rss_kb(pid).map_err(|e| e.to_string())?;
    drop(pending);
    Ok(ColdStart {
        init,
        init_cpu: init_usage.time,
        first,
        warm_cpu_per_invocation: (warm_end.time - warm_start.time) / spec.warm.max(1) as u32,
        warm,
        peak_rss_kb,
        sockets_after_init,
    })
}

/// The metrics are part of what a warm invocation costs: a run whose log holds fewer EMF
/// documents than invocations (the per-invocation flush lost) is no figure.
fn emf_flushed_per_invocation(log: &Path, invocations: usize) -> Result<(), String> {
    let text = std::fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let documents = text
        .lines()
        .filter(|line| serde_json::from_str::<serde_json::Value>(line).is_ok_and(|doc| doc.get("_aws").is_some()))
        .count();
    if documents < invocations {
        return Err(format!("{documents} EMF documents in the log for {invocations} invocations: metrics were not flushed per invocation"));
    }
    Ok(())
}

async fn next(api: &RuntimeApi, child: &mut Child) -> Result<NextArrived, String> {
    let mut next = api.next.lock().await;
    tokio::select! {
        arrived = next.recv() => arrived.ok_or_else(|| "the Runtime API stopped".to_owned()),
        status = child.wait() => Err(format!("the function exited ({})", status.map(|s| s.to_string()).unwrap_or_default())),
        _ = tokio::time::sleep(STEP_TIMEOUT) => Err(format!("no `next` within {STEP_TIMEOUT:?}")),
    }
}

/// Hands out the `n`-th event and waits for its answer; a status other than the expected
/// one (or an error report) stops the bench: a fast failure is no figure.
async fn invoke(api: &RuntimeApi, spec: &Spec<'_>, arrived: NextArrived, n: usize) -> Result<Duration, String> {
    let request_id = format!("{}-{n}", spec.run);
    let deadline_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(10);
    let sent = Instant::now();
    arrived
        .reply
        .send(Invocation { request_id: request_id.clone(), deadline_ms: deadline_ms.as_millis() as u64, body: spec.function.event(&spec.run, n) })
        .map_err(|_| "the `next` request went away".to_owned())?;
    let mut outcomes = api.outcomes.lock().await;
    let outcome = tokio::time::timeout(STEP_TIMEOUT, outcomes.recv())
        .await
        .map_err(|_| format!("no response to {request_id} within {STEP_TIMEOUT:?}"))?
        .ok_or("the Runtime API stopped")?;
    match outcome {
        Outcome::Response { request_id: id, body, at } if id == request_id => {
            let response: serde_json::Value = serde_json::from_slice(&body).map_err(|e| format!("response to {id} is not JSON: {e}"))?;
            let status = response["statusCode"].as_u64().unwrap_or(0);
            if status != spec.function.expected_status() {
                return Err(format!("{id} answered {status}: {}", response["body"]));
            }
            Ok(at - sent)
        }
        Outcome::Response { request_id: id, .. } => Err(format!("a response for {id} while waiting for {request_id}")),
        Outcome::Error { request_id: id, body } => {
            Err(format!("error reported for {id:?}: {}", String::from_utf8_lossy(&body)))
        }
    }
}
