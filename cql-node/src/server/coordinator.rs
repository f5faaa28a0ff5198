//! The coordinator step of a node in a multi-node cluster: before a statement runs, the
//! cluster's replica layer (`crate::replication`) says whether enough replicas answer for its
//! consistency level. Requests the engine will refuse anyway (bad consistency for the
//! statement, values that do not bind) go straight to the engine, so its error comes first,
//! as Cassandra validates before it looks at replicas.

use super::ReplicaSeat;
use crate::engine::{BatchRequest, Engine, Prepared, QueryParams, StatementKind};
use crate::replication::{Admission, Shape};
use crate::types::Consistency;

fn is_serial(c: Consistency) -> bool {
    matches!(c, Consistency::Serial | Consistency::LocalSerial)
}

/// The request's shape, or `None` when the engine must answer first (or nothing is routed).
fn shape(
    kind: StatementKind,
    is_lwt: bool,
    consistency: Consistency,
    serial: Option<Consistency>,
    write_type: impl FnOnce() -> Option<&'static str>,
) -> Option<Shape> {
    match kind {
        StatementKind::Select if consistency == Consistency::Any => None,
        StatementKind::Select if is_serial(consistency) => Some(Shape::SerialRead { consistency }),
        StatementKind::Select => Some(Shape::Read { consistency }),
        k if k.is_write() && is_serial(consistency) => None,
        k if k.is_write() && is_lwt => match serial {
            Some(s) if !is_serial(s) => None,
            _ => Some(Shape::Cas { serial }),
        },
        k if k.is_write() => Some(Shape::Write { consistency, write_type: write_type()? }),
        _ => None,
    }
}

/// The decision for one QUERY/EXECUTE.
pub(super) fn statement(seat: &ReplicaSeat, engine: &Engine, prepared: &Prepared, params: &QueryParams) -> Admission {
    let write_type = || engine.write_type(prepared, &params.values);
    let Some(shape) = shape(prepared.kind, prepared.is_lwt, params.consistency, params.serial_consistency, write_type) else {
        return Admission::Proceed(None);
    };
    match engine.routing(prepared, &params.values) {
        Some(routing) => seat.replicas.admit(seat.index, &routing, shape),
        None => Admission::Proceed(None),
    }
}

/// The decision for one BATCH.
pub(super) fn batch(seat: &ReplicaSeat, engine: &Engine, request: &BatchRequest) -> Admission {
    let is_lwt = request.statements.iter().any(|(p, _)| p.is_lwt);
    let write_type = || Some(engine.batch_write_type(request));
    let Some(shape) = shape(StatementKind::Batch, is_lwt, request.consistency, request.serial_consistency, write_type) else {
        return Admission::Proceed(None);
    };
    match engine.batch_routing(request) {
        Some(routing) => seat.replicas.admit(seat.index, &routing, shape),
        None => Admission::Proceed(None),
    }
}
