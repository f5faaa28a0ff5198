//! One client connection. The reader (this task) decodes frames in order and handles the
//! handshake itself; each statement (QUERY, PREPARE, EXECUTE, BATCH) runs on its own task so
//! many streams progress at once and answer out of order. A writer task drains a channel of
//! encoded responses, coalescing whatever is queued into one socket write.
//!
//! Malformed input (bad header, unknown opcode, undecodable body, truncated frame) is
//! answered with a ProtocolError and closes this connection only.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::describe;
use super::coordinator;
use super::hook::{HookAction, Operation, RequestInfo};
use crate::auth::{SaslSession, SaslStep};
use crate::engine::{BatchRequest, Copies, ExecContext, Outcome, Prepared, QueryParams, StatementKind};
use crate::error::{CqlError, CqlResult, ErrorKind};
use crate::protocol::frame::{self, Header, ReadFrame, flag};
use crate::protocol::request::{BatchFrame, BatchStatement, Request, strip_custom_payload};
use crate::protocol::response;
use crate::replication::reach::Reach;
use crate::replication::{Admission, Apply, Replay};

/// Above this many queued bytes the writer stops gathering and writes.
const WRITE_BATCH: usize = 256 * 1024;

/// What this node offers in SUPPORTED. Compression is not offered (and refused at STARTUP).
const SUPPORTED: &[(&str, &[&str])] =
    &[("CQL_VERSION", &["3.4.6"]), ("COMPRESSION", &[]), ("PROTOCOL_VERSIONS", frame::SUPPORTED_VERSIONS)];

struct Conn {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Outgoing>,
    /// Cancelled when the node drops its connections or stops.
    cancel: CancellationToken,
    keyspace: Mutex<Option<Arc<str>>>,
    user: Mutex<Option<Arc<str>>>,
}

impl Conn {
    fn send(&self, frame: BytesMut) {
        self.send_holding(frame, None);
    }

    /// Queues a response; `permit` (the request's in-flight slot) is released only once the
    /// response is written, so a client that never reads cannot make us buffer without bound.
    fn send_holding(&self, frame: BytesMut, permit: Option<OwnedSemaphorePermit>) {
        // A closed writer means the connection is going away; the answer has nowhere to go.
        let _ = self.tx.send(Outgoing { frame, permit });
    }

    fn send_error(&self, stream: i16, err: &CqlError) {
        let mut out = BytesMut::new();
        response::error(&mut out, stream, err);
        self.send(out);
    }

    fn keyspace(&self) -> Option<Arc<str>> {
        self.keyspace.lock().clone()
    }
}

/// One encoded response on its way to the socket.
struct Outgoing {
    frame: BytesMut,
    permit: Option<OwnedSemaphorePermit>,
}

enum Phase {
    AwaitStartup,
    Authenticating(Box<dyn SaslSession>),
    Ready,
}

pub(super) async fn serve<S>(stream: S, shared: Arc<Shared>, cancel: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (read_half, write_half) = tokio::io::split(stream);
    let (tx, rx) = mpsc::unbounded_channel();
    shared.tracker.spawn(write_loop(write_half, rx, cancel.clone()));
    // Ends the helpers tied to this reader (event forwarding) once it stops reading.
    let reading = cancel.child_token();
    let _reading_guard = reading.clone().drop_guard();
    let in_flight = Arc::new(Semaphore::new(shared.max_in_flight));
    let conn = Arc::new(Conn { shared, tx, cancel, keyspace: Mutex::new(None), user: Mutex::new(None) });
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let mut phase = Phase::AwaitStartup;
    let mut registered_schema = false;
    let mut registered_status = false;

    loop {
        let permit = tokio::select! {
            _ = conn.cancel.cancelled() => return,
            p = in_flight.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let read = tokio::select! {
            _ = conn.cancel.cancelled() => return,
            r = frame::read_frame(&mut reader) => r,
        };
        let (header, body) = match read {
            Ok(ReadFrame::Frame(h, b)) => (h, b),
            Ok(ReadFrame::Closed) => return,
            Err(e) => {
                tracing::debug!(error = %e, "connection read failed");
                return;
            }
            Ok(ReadFrame::Truncated { stream }) => {
                conn.send_error(stream, &CqlError::protocol("Connection closed in the middle of a frame"));
                return;
            }
            Ok(ReadFrame::Refused(e)) => {
                let (version, stream) = match &e {
                    frame::HeaderError::UnsupportedVersion { reply_version, stream, .. } => (*reply_version, *stream),
                    frame::HeaderError::Malformed { stream, .. } => (frame::VERSION, *stream),
                };
                tracing::debug!(message = %e.message(), "refusing frame");
                let mut out = BytesMut::new();
                response::error_in_version(&mut out, version, stream, &CqlError::protocol(e.message()));
                conn.send(out);
                return;
            }
        };
        let request = match decode(&header, body) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(message = %e.message, "malformed request");
                conn.send_error(header.stream, &e);
                return;
            }
        };
        let stream = header.stream;
        match (&mut phase, request) {
            // Cassandra refuses even OPTIONS mid-authentication (ServerConnection.validateNewMessage).
            (Phase::Authenticating(_), other @ (Request::Options | Request::Startup(_) | Request::Register(_) | Request::Query { .. } | Request::Prepare { .. } | Request::Execute { .. } | Request::Batch(_))) => conn.send_error(
                stream,
                &CqlError::protocol(format!("Unexpected message {}, expecting SASL_RESPONSE", name(&other))),
            ),
            (_, Request::Options) => {
                let mut out = BytesMut::new();
                response::supported(&mut out, stream, SUPPORTED);
                conn.send(out);
            }
            (Phase::AwaitStartup, Request::Startup(options)) => match check_startup(&options) {
                Err(e) => conn.send_error(stream, &e),
                Ok(()) => {
                    let mut out = BytesMut::new();
                    match &conn.shared.authenticator {
                        Some(auth) => {
                            response::authenticate(&mut out, stream, auth.class_name());
                            phase = Phase::Authenticating(auth.new_session());
                        }
                        None => {
                            response::ready(&mut out, stream);
                            phase = Phase::Ready;
                        }
                    }
                    conn.send(out);
                }
            },
            (Phase::AwaitStartup, other) => conn.send_error(
                stream,
                &CqlError::protocol(format!("Unexpected message {}, expecting STARTUP or OPTIONS", name(&other))),
            ),
            (Phase::Authenticating(session), Request::AuthResponse(token)) => {
                // The SASL code is pluggable: a panic there must not take the node down.
                let step = std::panic::catch_unwind(AssertUnwindSafe(|| session.evaluate(token.as_deref())))
                    .unwrap_or_else(|_| Err(CqlError::server("authenticator failed")));
                let mut out = BytesMut::new();
                match step {
                    Ok(SaslStep::Challenge(t)) => response::auth_challenge(&mut out, stream, t.as_deref()),
                    Ok(SaslStep::Success { user, token }) => {
                        tracing::debug!(%user, "authenticated");
                        *conn.user.lock() = Some(user.into());
                        response::auth_success(&mut out, stream, token.as_deref());
                        phase = Phase::Ready;
                    }
                    Err(e) => {
                        // A failed exchange starts over, as each SASL negotiator is one-shot.
                        if let Some(auth) = &conn.shared.authenticator {
                            phase = Phase::Authenticating(auth.new_session());
                        }
                        response::error(&mut out, stream, &e);
                    }
                }
                conn.send(out);
            }
            (Phase::Ready, Request::Register(events)) => match check_events(&events) {
                Err(e) => conn.send_error(stream, &e),
                Ok((schema, status)) => {
                    if schema && !registered_schema {
                        registered_schema = true;
                        let events = conn.shared.engine.schema_events();
                        conn.shared.tracker.spawn(forward_events(conn.clone(), events, reading.clone(), response::schema_event));
                    }
                    // Only a cluster's nodes change status; a lone node has nothing to push.
                    if let (true, false, Some(seat)) = (status, registered_status, &conn.shared.replicas) {
                        registered_status = true;
                        let events = seat.replicas.subscribe();
                        conn.shared.tracker.spawn(forward_events(conn.clone(), events, reading.clone(), crate::replication::status_event));
                    }
                    let mut out = BytesMut::new();
                    response::ready(&mut out, stream);
                    conn.send(out);
                }
            },
            (Phase::Ready, request @ (Request::Query { .. } | Request::Prepare { .. } | Request::Execute { .. } | Request::Batch(_))) => {
                let conn = conn.clone();
                conn.shared.tracker.clone().spawn(async move {
                    let mut out = BytesMut::with_capacity(128);
                    match run(&conn, stream, request, &mut out).await {
                        Ok(()) => conn.send_holding(out, Some(permit)),
                        Err(Interrupted::Fail(e)) => {
                            let mut out = BytesMut::new();
                            response::error(&mut out, stream, &e);
                            conn.send_holding(out, Some(permit));
                        }
                        Err(Interrupted::Dropped) => {}
                    }
                });
            }
            (Phase::Ready, other) => conn.send_error(
                stream,
                &CqlError::protocol(format!("Unexpected message {}, the connection is already initialized", name(&other))),
            ),
        }
    }
}

fn decode(header: &Header, body: Bytes) -> CqlResult<Request> {
    let body = if header.flags & flag::CUSTOM_PAYLOAD != 0 { strip_custom_payload(body)? } else { body };
    Request::decode(header.opcode, body)
}

fn name(req: &Request) -> &'static str {
    match req {
        Request::Startup(_) => "STARTUP",
        Request::Options => "OPTIONS",
        Request::AuthResponse(_) => "AUTH_RESPONSE",
        Request::Register(_) => "REGISTER",
        Request::Query { .. } => "QUERY",
        Request::Prepare { .. } => "PREPARE",
        Request::Execute { .. } => "EXECUTE",
        Request::Batch(_) => "BATCH",
    }
}

fn check_startup(options: &std::collections::HashMap<String, String>) -> CqlResult<()> {
    let Some(cql) = options.get("CQL_VERSION") else {
        return Err(CqlError::protocol("Missing value CQL_VERSION in STARTUP message"));
    };
    // Like Cassandra, accept any version from 3 up (drivers send 3.0.0, 3.4.5, even 4.0.0).
    let major = cql.split('.').next().and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(m) if m >= 3 => {}
        Some(_) => {
            return Err(CqlError::protocol(format!(
                "CQL version {cql} is not supported by the binary protocol (supported version are >= 3.0.0)"
            )));
        }
        None => return Err(CqlError::protocol(format!("Invalid version value: {cql}"))),
    }
    // SUPPORTED offers no compression; refuse it in Cassandra's words for each case.
    if let Some(c) = options.get("COMPRESSION").filter(|c| !c.is_empty()) {
        return Err(CqlError::protocol(match c.to_ascii_lowercase().as_str() {
            "snappy" => "This instance does not support Snappy compression".to_string(),
            "lz4" => "This instance does not support LZ4 compression".to_string(),
            other => format!("Unknown compression algorithm: {other}"),
        }));
    }
    Ok(())
}

/// Validates REGISTER's event types; returns whether SCHEMA_CHANGE and STATUS_CHANGE are
/// among them (TOPOLOGY_CHANGE is accepted: nodes never join or leave here).
fn check_events(events: &[String]) -> CqlResult<(bool, bool)> {
    let (mut schema, mut status) = (false, false);
    for e in events {
        match e.as_str() {
            "SCHEMA_CHANGE" => schema = true,
            "STATUS_CHANGE" => status = true,
            "TOPOLOGY_CHANGE" => {}
            other => return Err(CqlError::protocol(format!("Invalid value '{other}' for Event.Type"))),
        }
    }
    Ok((schema, status))
}

/// Pushes one kind of server event (SCHEMA_CHANGE, or STATUS_CHANGE: a node known down or
/// back up) to a connection that REGISTERed for it, until the connection stops reading.
async fn forward_events<T: Clone>(
    conn: Arc<Conn>,
    mut events: broadcast::Receiver<T>,
    reading: CancellationToken,
    encode: fn(&mut BytesMut, &T),
) {
    loop {
        let change = tokio::select! {
            _ = reading.cancelled() => return,
            c = events.recv() => c,
        };
        match change {
            Ok(change) => {
                let mut out = BytesMut::new();
                encode(&mut out, &change);
                conn.send(out);
            }
            // A slow client missed some events; drivers re-read the schema or topology on the next one.
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(mut w: W, mut rx: mpsc::UnboundedReceiver<Outgoing>, cancel: CancellationToken) {
    let mut batch = BytesMut::with_capacity(64 * 1024);
    let mut permits = Vec::new();
    loop {
        let first = tokio::select! {
            _ = cancel.cancelled() => return,
            f = rx.recv() => f,
        };
        let Some(first) = first else { break };
        batch.unsplit(first.frame);
        permits.push(first.permit);
        // Gather what else is already queued so a burst of answers costs one write.
        while batch.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(next) => {
                    batch.extend_from_slice(&next.frame);
                    permits.push(next.permit);
                }
                Err(_) => break,
            }
        }
        let written = tokio::select! {
            _ = cancel.cancelled() => return,
            r = w.write_all(&batch) => r,
        };
        if written.is_err() {
            return;
        }
        batch.clear();
        permits.clear();
    }
    // Every sender is gone (the reader stopped): flush what was answered, then close.
    let _ = w.shutdown().await;
}

enum Interrupted {
    Fail(CqlError),
    /// The hook dropped the connections, or the node is stopping: answer nothing.
    Dropped,
}

impl From<CqlError> for Interrupted {
    fn from(e: CqlError) -> Self {
        Interrupted::Fail(e)
    }
}

/// Runs engine code, turning a panic into a ServerError for this request only.
fn guarded<T>(f: impl FnOnce() -> CqlResult<T>) -> CqlResult<T> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(panicked)
}

/// `guarded` for an engine call that waits (a Paxos round pauses between ballots).
async fn guarded_async<T>(f: impl std::future::Future<Output = CqlResult<T>>) -> CqlResult<T> {
    use futures::FutureExt;
    AssertUnwindSafe(f).catch_unwind().await.unwrap_or_else(panicked)
}

fn panicked<T>(panic: Box<dyn std::any::Any + Send>) -> CqlResult<T> {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "engine panicked");
    Err(CqlError::server(format!("java.lang.RuntimeException: internal error: {what}")))
}

struct HookCall<'a> {
    operation: Operation,
    kind: StatementKind,
    query: &'a str,
    is_lwt: bool,
    write_type: Option<&'static str>,
    consistency: Option<crate::types::Consistency>,
    serial_consistency: Option<crate::types::Consistency>,
}

/// The hook's look at a statement's raw text, before the engine parses it.
fn check_before_parse(conn: &Conn, query: &str) -> CqlResult<()> {
    match conn.shared.hook.as_ref().and_then(|h| h.before_parse(query)) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// What the hook asked to do once the statement has run (`HookDecision::after_apply`).
#[must_use = "the statement's answer must go through `after_run`"]
struct AfterRun(Option<(Option<std::time::Duration>, HookAction)>);

/// Consults the node's hook, if any: waits its delay, then proceeds, fails or drops; or, when
/// it asks to act after the statement, hands that back for `after_run`.
async fn consult_hook(conn: &Conn, keyspace: Option<&str>, call: HookCall<'_>) -> Result<AfterRun, Interrupted> {
    let Some(hook) = &conn.shared.hook else { return Ok(AfterRun(None)) };
    let user = conn.user.lock().clone();
    let info = RequestInfo {
        operation: call.operation,
        kind: call.kind,
        query: call.query,
        consistency: call.consistency,
        serial_consistency: call.serial_consistency,
        is_lwt: call.is_lwt,
        write_type: call.write_type,
        keyspace,
        node: &conn.shared.info,
        user: user.as_deref(),
    };
    let decision = std::panic::catch_unwind(AssertUnwindSafe(|| hook.before(&info)))
        .map_err(|_| Interrupted::Fail(CqlError::server("request hook failed")))?;
    if decision.after_apply {
        return Ok(AfterRun(Some((decision.delay, decision.action))));
    }
    act(conn, decision.delay, decision.action).await?;
    Ok(AfterRun(None))
}

/// Once the statement has run (and succeeded): what the hook asked for after it, if anything.
async fn after_run(conn: &Conn, after: AfterRun) -> Result<(), Interrupted> {
    match after.0 {
        None => Ok(()),
        Some((delay, action)) => act(conn, delay, action).await,
    }
}

/// Waits the hook's delay, then proceeds, fails or drops every client connection.
async fn act(conn: &Conn, delay: Option<std::time::Duration>, action: HookAction) -> Result<(), Interrupted> {
    if let Some(delay) = delay {
        tokio::select! {
            _ = conn.cancel.cancelled() => return Err(Interrupted::Dropped),
            _ = tokio::time::sleep(delay) => {}
        }
    }
    match action {
        HookAction::Proceed => Ok(()),
        HookAction::Fail(e) => Err(Interrupted::Fail(e)),
        HookAction::DropConnections => {
            if let Some(hook) = &conn.shared.hook {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| hook.on_drop_connections()));
            }
            conn.shared.drop_connections();
            Err(Interrupted::Dropped)
        }
    }
}

fn unprepared(id: &[u8]) -> CqlError {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    CqlError::new(
        ErrorKind::Unprepared { id: id.to_vec() },
        format!(
            "Prepared query with ID {hex} not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)"
        ),
    )
}

async fn run(conn: &Conn, stream: i16, request: Request, out: &mut BytesMut) -> Result<(), Interrupted> {
    let engine = &conn.shared.engine;
    let keyspace = conn.keyspace();
    let ks = keyspace.as_deref();
    let ctx = ExecContext { keyspace: ks, node: &conn.shared.info, copies: None };
    match request {
        Request::Query { query, params } => {
            if let Some(what) = describe::parse(&query) {
                let call = HookCall {
                    operation: Operation::Query,
                    kind: StatementKind::Other,
                    query: &query,
                    is_lwt: false,
                    write_type: None,
                    consistency: Some(params.consistency),
                    serial_consistency: None,
                };
                let after = consult_hook(conn, ks, call).await?;
                let outcome = guarded(|| describe::execute(engine, &ctx, &what))?;
                after_run(conn, after).await?;
                response::result(out, stream, &outcome, false);
                return Ok(());
            }
            check_before_parse(conn, &query)?;
            let prepared = guarded(|| engine.prepare(&query, ks))?;
            execute(conn, stream, Operation::Query, &prepared, &params, false, out).await
        }
        Request::Execute { id, params } => {
            let prepared = guarded(|| Ok(engine.prepared(&id)))?.ok_or_else(|| unprepared(&id))?;
            let skip = params.skip_metadata;
            execute(conn, stream, Operation::Execute, &prepared, &params, skip, out).await
        }
        Request::Prepare { query } => {
            check_before_parse(conn, &query)?;
            let prepared = guarded(|| engine.prepare(&query, ks))?;
            let call = HookCall {
                operation: Operation::Prepare,
                kind: prepared.kind,
                query: &prepared.query,
                is_lwt: prepared.is_lwt,
                write_type: None,
                consistency: None,
                serial_consistency: None,
            };
            let after = consult_hook(conn, ks, call).await?;
            after_run(conn, after).await?;
            response::prepared(out, stream, &prepared);
            Ok(())
        }
        Request::Batch(batch) => {
            let request = resolve_batch(conn, ks, batch)?;
            let text = request.statements.iter().map(|(p, _)| p.query.as_str()).collect::<Vec<_>>().join("; ");
            let call = HookCall {
                operation: Operation::Batch,
                kind: StatementKind::Batch,
                query: &text,
                is_lwt: request.statements.iter().any(|(p, _)| p.is_lwt),
                write_type: Some(engine.batch_write_type(&request)),
                consistency: Some(request.consistency),
                serial_consistency: request.serial_consistency,
            };
            let after = consult_hook(conn, ks, call).await?;
            let outcome = match &conn.shared.replicas {
                None => guarded_async(engine.serve_batch(&ctx, &request)).await?,
                // Boxed: one node's request future stays as small as it was.
                Some(seat) => Box::pin(coordinated_batch(conn, seat, ctx, request)).await?,
            };
            after_run(conn, after).await?;
            response::result(out, stream, &outcome, false);
            Ok(())
        }
        Request::Startup(_) | Request::Options | Request::AuthResponse(_) | Request::Register(_) => {
            Err(CqlError::protocol("unexpected request").into())
        }
    }
}

async fn execute(
    conn: &Conn,
    stream: i16,
    operation: Operation,
    prepared: &Prepared,
    params: &QueryParams,
    skip_metadata: bool,
    out: &mut BytesMut,
) -> Result<(), Interrupted> {
    let keyspace = conn.keyspace();
    let ks = keyspace.as_deref();
    let call = HookCall {
        operation,
        kind: prepared.kind,
        query: &prepared.query,
        is_lwt: prepared.is_lwt,
        write_type: conn.shared.engine.write_type(prepared, &params.values),
        consistency: Some(params.consistency),
        serial_consistency: params.serial_consistency,
    };
    let after = consult_hook(conn, ks, call).await?;
    let ctx = ExecContext { keyspace: ks, node: &conn.shared.info, copies: None };
    let outcome = match &conn.shared.replicas {
        None => guarded_async(conn.shared.engine.serve(&ctx, prepared, params)).await?,
        // Boxed: one node's request future stays as small as it was.
        Some(seat) => Box::pin(coordinated(conn, seat, ctx, prepared, params)).await?,
    };
    if let Outcome::SetKeyspace(k) = &outcome {
        *conn.keyspace.lock() = Some(Arc::from(k.as_str()));
    }
    after_run(conn, after).await?;
    response::result(out, stream, &outcome, skip_metadata);
    Ok(())
}

/// A QUERY/EXECUTE in a multi-node cluster: admitted by the replica layer, run on the replicas
/// it reaches, hinted to the others.
async fn coordinated(
    conn: &Conn,
    seat: &super::ReplicaSeat,
    ctx: ExecContext<'_>,
    prepared: &Prepared,
    params: &QueryParams,
) -> Result<Outcome, Interrupted> {
    let (engine, ks) = (&conn.shared.engine, ctx.keyspace);
    let admission = guarded(|| Ok(coordinator::statement(seat, engine, prepared, params)))?;
    let (reach, timeout) = admit(conn, seat, ks, admission, || Replay::Statement(prepared.clone(), params.clone())).await?;
    let mut params = std::borrow::Cow::Borrowed(params);
    if prepared.kind.is_write() && needs_stamp(&reach, prepared.is_lwt, params.timestamp) {
        params.to_mut().timestamp = Some(engine.next_timestamp());
    }
    let read = |t: i64| reach.as_ref().map_or_else(Vec::new, |r| r.read_from(t));
    let copies = reach.as_ref().map(|r| Copies { write: &r.write, read: &read, repair: r.repair });
    let ctx = ExecContext { copies: copies.as_ref(), ..ctx };
    let outcome = guarded_async(engine.serve(&ctx, prepared, &params)).await;
    let replay = || Replay::Statement(prepared.clone(), params.clone().into_owned());
    finish(conn, seat, ks, reach.as_ref(), timeout, prepared.is_lwt, outcome, replay).await
}

/// The same for a BATCH.
async fn coordinated_batch(conn: &Conn, seat: &super::ReplicaSeat, ctx: ExecContext<'_>, mut request: BatchRequest) -> Result<Outcome, Interrupted> {
    let (engine, ks) = (&conn.shared.engine, ctx.keyspace);
    let admission = guarded(|| Ok(coordinator::batch(seat, engine, &request)))?;
    let is_lwt = request.statements.iter().any(|(p, _)| p.is_lwt);
    let (reach, timeout) = admit(conn, seat, ks, admission, || Replay::Batch(request.clone())).await?;
    if needs_stamp(&reach, is_lwt, request.timestamp) {
        request.timestamp = Some(engine.next_timestamp());
    }
    let read = |t: i64| reach.as_ref().map_or_else(Vec::new, |r| r.read_from(t));
    let copies = reach.as_ref().map(|r| Copies { write: &r.write, read: &read, repair: r.repair });
    let ctx = ExecContext { copies: copies.as_ref(), ..ctx };
    let outcome = guarded_async(engine.serve_batch(&ctx, &request)).await;
    let replay = || Replay::Batch(request.clone());
    finish(conn, seat, ks, reach.as_ref(), timeout, is_lwt, outcome, replay).await
}

/// A timeout to answer once the replicas that answer have applied the write.
type Pending = Option<(std::time::Duration, CqlError)>;

/// Acts on the replica layer's decision: an immediate refusal, a timeout with nothing
/// applied now (or kept on the batch log), or the replicas to run the request on — with the
/// timeout to answer afterwards when some replica it needed never answered.
async fn admit(
    conn: &Conn,
    seat: &super::ReplicaSeat,
    ks: Option<&str>,
    admission: Admission,
    replay: impl FnOnce() -> Replay,
) -> Result<(Option<Reach>, Pending), Interrupted> {
    let (wait, error) = match admission {
        Admission::Proceed(reach) => return Ok((reach, None)),
        Admission::Refuse(e) => return Err(e.into()),
        Admission::TimeOut { after, error, apply: Apply::Now(reach) } => return Ok((Some(reach), Some((after, error)))),
        Admission::TimeOut { after, error, apply: Apply::Later } => {
            seat.replicas.log_for_replay(seat.index, ks, conn.shared.info.clone(), replay());
            (after, error)
        }
        Admission::TimeOut { after, error, apply: Apply::Never } => (after, error),
    };
    wait_out(conn, wait).await?;
    Err(error.into())
}

/// Whether a write must carry its coordinator's timestamp before it runs: it leaves hints,
/// which must apply at the timestamp the live replicas got. A conditional write's hint takes
/// the timestamp after its Paxos round instead (`finish`).
fn needs_stamp(reach: &Option<Reach>, is_lwt: bool, timestamp: Option<i64>) -> bool {
    !is_lwt && timestamp.is_none() && reach.as_ref().is_some_and(|r| !r.hint.is_empty())
}

/// After the replicas that answer ran the request: hints for the replicas that did not get
/// the write, then the timeout if one is pending (the request's own answer is lost in it, as
/// the coordinator's would be), else the answer.
#[allow(clippy::too_many_arguments)]
async fn finish(
    conn: &Conn,
    seat: &super::ReplicaSeat,
    ks: Option<&str>,
    reach: Option<&Reach>,
    timeout: Pending,
    is_lwt: bool,
    outcome: CqlResult<Outcome>,
    replay: impl FnOnce() -> Replay,
) -> Result<Outcome, Interrupted> {
    if let (Some(r), Ok(o)) = (reach, &outcome)
        && !r.hint.is_empty()
    {
        let info = conn.shared.info.clone();
        match (is_lwt, o) {
            // A conditional write that applied: its commit is hinted at a timestamp after its
            // ballot; one that did not apply wrote nothing.
            (true, Outcome::Rows(rows)) if applied(rows) => {
                let ballot = conn.shared.engine.next_timestamp();
                seat.replicas.hint(ks, info, &r.hint, replay(), Some(ballot));
            }
            (true, _) => {}
            (false, Outcome::Void) => seat.replicas.hint(ks, info, &r.hint, replay(), None),
            (false, _) => {}
        }
    }
    if let Some((wait, error)) = timeout {
        wait_out(conn, wait).await?;
        return Err(error.into());
    }
    Ok(outcome?)
}

/// The `[applied]` column of a conditional write's answer.
fn applied(rows: &crate::engine::Rows) -> bool {
    rows.rows.first().and_then(|r| r.first()).is_some_and(|v| v.as_deref() == Some(&[1u8][..]))
}

async fn wait_out(conn: &Conn, wait: std::time::Duration) -> Result<(), Interrupted> {
    tokio::select! {
        _ = conn.cancel.cancelled() => Err(Interrupted::Dropped),
        _ = tokio::time::sleep(wait) => Ok(()),
    }
}

fn resolve_batch(conn: &Conn, ks: Option<&str>, batch: BatchFrame) -> CqlResult<BatchRequest> {
    let engine = &conn.shared.engine;
    let mut statements = Vec::with_capacity(batch.statements.len());
    for (stmt, values) in batch.statements {
        let prepared = match stmt {
            BatchStatement::Query(text) => guarded(|| engine.prepare(&text, ks))?,
            BatchStatement::Prepared(id) => guarded(|| Ok(engine.prepared(&id)))?.ok_or_else(|| unprepared(&id))?,
        };
        statements.push((prepared, values));
    }
    Ok(BatchRequest {
        batch_type: batch.batch_type,
        statements,
        consistency: batch.consistency,
        serial_consistency: batch.serial_consistency,
        timestamp: batch.timestamp,
    })
}
