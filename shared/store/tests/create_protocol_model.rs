//! Exhaustive model check of the create protocol (`store::dao::protocol`, the very state
//! machine the DAO runs) with stateright.
//!
//! The world: one SKU, one Idempotency-Key, and a few concurrent creates of that SKU, with
//! and without the key. Every database operation is atomic where it applies (lightweight
//! transactions are linearizable; plain writes are single-row), but anything can go wrong
//! around it, in any order:
//! - an operation applies and its answer is lost (a timeout after the write), or it does not
//!   apply yet and may still apply at any later moment (a write stuck in a coordinator, a
//!   batch-log or Paxos replay), or it is refused outright (Unavailable);
//! - a pending SKU claim expires at any moment (its TTL is short; no timing is assumed);
//! - a create gives up at any step (its deadline) or is killed (a Lambda stopped), leaving
//!   whatever it sent in flight;
//! - creates run in any interleaving, and a retry under the same key can start at any time.
//!
//! What must hold in every reachable state is listed in `properties`.

use std::collections::BTreeSet;

use stateright::{Checker, Expectation, Model, Property};
use store::dao::protocol::{Answer, Claim, CreateProtocol, Op, Reply, Step};

/// What an answer says, independently of who gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Final {
    Created(u8),
    Duplicate(u8),
}

type Machine = CreateProtocol<u8, (), Final>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SkuRow {
    id: u8,
    committed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct KeyRow {
    id: u8,
    stored: Option<Final>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Status {
    NotStarted,
    Running,
    Answered(Answer<u8, Final>),
    Killed,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Attempt {
    keyed: bool,
    machine: Machine,
    status: Status,
    steps: u8,
}

/// A write that was sent and may still land: the operation, with the id and answer it
/// carried when sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Late {
    op: LateOp,
    id: u8,
    record: Option<Final>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum LateOp {
    ClaimKey,
    ClaimSku,
    CommitSku,
    WriteProduct,
    ReleaseSku,
    Record,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct World {
    sku: Option<SkuRow>,
    key: Option<KeyRow>,
    products: BTreeSet<u8>,
    attempts: Vec<Attempt>,
    late: Vec<Late>,
    /// A property broken at the moment of a transition (checked by `properties`).
    broken: Option<&'static str>,
    /// How many more things may go wrong (lost or stuck answers, refusals, expiries,
    /// deadlines, kills): bounding them keeps the exploration finite and small enough to
    /// be exhaustive.
    faults_left: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Delivery {
    /// Applies now; the answer arrives.
    Ok,
    /// Applies now; the answer is lost (timeout).
    AppliedLost,
    /// Does not apply now (it may later); the answer is lost (timeout).
    Stuck,
    /// Refused before doing anything (Unavailable, Overloaded).
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Action {
    Start(usize),
    Deliver(usize, Delivery),
    LateApplies(usize),
    ClaimExpires,
    GiveUp(usize),
    Kill(usize),
}

struct CreateModel {
    /// (keyed, fresh id) of each create.
    creates: Vec<(bool, u8)>,
    max_steps: u8,
    faults: u8,
}

impl World {
    /// Runs `late` against the rows; the reply the database would give.
    fn apply(&mut self, late: &Late) -> Reply<u8, (), Final> {
        let id = late.id;
        match late.op {
            LateOp::ClaimKey => match &self.key {
                None => {
                    self.key = Some(KeyRow { id, stored: None });
                    Reply::KeyClaimed
                }
                Some(k) => Reply::KeyHeld {
                    same_request: true,
                    id: k.id,
                    stored: k.stored,
                },
            },
            LateOp::ClaimSku => match &self.sku {
                None => {
                    self.sku = Some(SkuRow {
                        id,
                        committed: false,
                    });
                    Reply::SkuClaimed
                }
                Some(row) => Reply::SkuHeld(claim(row)),
            },
            LateOp::CommitSku => match &mut self.sku {
                Some(row) if row.id == id && !row.committed => {
                    row.committed = true;
                    Reply::Committed
                }
                other => Reply::CommitRefused(other.as_ref().map(claim)),
            },
            LateOp::WriteProduct => {
                self.products.insert(id);
                Reply::Done
            }
            LateOp::ReleaseSku => {
                if self
                    .sku
                    .as_ref()
                    .is_some_and(|row| row.id == id && !row.committed)
                {
                    self.sku = None;
                }
                Reply::Done
            }
            LateOp::Record => {
                // Rewrites the whole row: the id and the answer.
                self.key = Some(KeyRow {
                    id,
                    stored: late.record,
                });
                Reply::Done
            }
        }
    }
}

fn claim(row: &SkuRow) -> Claim<u8, ()> {
    Claim {
        id: row.id,
        committed: row.committed,
        product: Some(()),
    }
}

/// What `attempt`'s running operation writes, as sent now.
fn as_sent(attempt: &Attempt) -> Option<Late> {
    let m = &attempt.machine;
    let id = *m.id();
    let (op, id) = match m.running()? {
        Op::ClaimKey => (LateOp::ClaimKey, id),
        Op::ClaimSku => (LateOp::ClaimSku, id),
        Op::CommitSku => (LateOp::CommitSku, id),
        Op::WriteOurs => (LateOp::WriteProduct, id),
        Op::WriteHolder(c) => (LateOp::WriteProduct, c.id),
        Op::ReleaseSku => (LateOp::ReleaseSku, id),
        Op::Record => (LateOp::Record, id),
        Op::Backoff => return None,
    };
    Some(Late {
        op,
        id,
        record: m.decided().map(|a| final_of(a, id)),
    })
}

fn final_of(answer: &Answer<u8, Final>, own_id: u8) -> Final {
    match answer {
        Answer::Created => Final::Created(own_id),
        Answer::Duplicate(x) => Final::Duplicate(*x),
        Answer::Replayed(s) => *s,
        other => panic!("no final answer in {other:?}"),
    }
}

/// The final answer an attempt gave, if it gave one (201, 409 or a replay of either).
fn final_answer(a: &Attempt) -> Option<Final> {
    match &a.status {
        Status::Answered(
            answer @ (Answer::Created | Answer::Duplicate(_) | Answer::Replayed(_)),
        ) => Some(final_of(answer, *a.machine.id())),
        _ => None,
    }
}

impl World {
    fn answer(&mut self, i: usize, step: Step<u8, (), Final>) {
        let Step::Answer(answer) = step else {
            self.attempts[i].status = Status::Running;
            return;
        };
        let a = &self.attempts[i];
        if let Answer::Unavailable { may_exist: false } = answer {
            let id = *a.machine.id();
            let exists = self.products.contains(&id)
                || self.sku.as_ref().is_some_and(|r| r.id == id && r.committed);
            if exists {
                self.broken = Some("a 503 said not created while the product exists");
            }
        }
        self.attempts[i].status = Status::Answered(answer);
    }
}

impl Model for CreateModel {
    type State = World;
    type Action = Action;

    fn init_states(&self) -> Vec<World> {
        let attempts = self
            .creates
            .iter()
            .map(|&(keyed, id)| Attempt {
                keyed,
                machine: Machine::new(id, keyed),
                status: Status::NotStarted,
                steps: 0,
            })
            .collect();
        vec![World {
            sku: None,
            key: None,
            products: BTreeSet::new(),
            attempts,
            late: Vec::new(),
            broken: None,
            faults_left: self.faults,
        }]
    }

    fn actions(&self, w: &World, actions: &mut Vec<Action>) {
        let faulty = w.faults_left > 0;
        for (i, a) in w.attempts.iter().enumerate() {
            match a.status {
                Status::NotStarted => actions.push(Action::Start(i)),
                Status::Running => {
                    let in_time = a.steps < self.max_steps;
                    if in_time {
                        actions.push(Action::Deliver(i, Delivery::Ok));
                    }
                    if in_time && faulty && as_sent(a).is_some() {
                        actions.push(Action::Deliver(i, Delivery::AppliedLost));
                        actions.push(Action::Deliver(i, Delivery::Stuck));
                        actions.push(Action::Deliver(i, Delivery::Refused));
                    }
                    // Out of steps, the deadline is reached whatever the fault budget.
                    if faulty || !in_time {
                        actions.push(Action::GiveUp(i));
                    }
                    if faulty {
                        actions.push(Action::Kill(i));
                    }
                }
                _ => {}
            }
        }
        for i in 0..w.late.len() {
            actions.push(Action::LateApplies(i));
        }
        if faulty && w.sku.as_ref().is_some_and(|r| !r.committed) {
            actions.push(Action::ClaimExpires);
        }
    }

    fn next_state(&self, last: &World, action: Action) -> Option<World> {
        let mut w = last.clone();
        let is_fault = match &action {
            Action::Deliver(_, d) => *d != Delivery::Ok,
            Action::GiveUp(i) => w.attempts[*i].steps < self.max_steps,
            Action::Kill(_) | Action::ClaimExpires => true,
            Action::Start(_) | Action::LateApplies(_) => false,
        };
        if is_fault {
            w.faults_left -= 1;
        }
        match action {
            Action::Start(i) => {
                let step = w.attempts[i].machine.start();
                w.answer(i, step);
            }
            Action::Deliver(i, delivery) => {
                w.attempts[i].steps += 1;
                let sent = as_sent(&w.attempts[i]);
                let reply = match (delivery, &sent) {
                    (_, None) => Reply::Done,
                    (Delivery::Ok, Some(op)) => w.apply(op),
                    (Delivery::AppliedLost, Some(op)) => {
                        w.apply(op);
                        Reply::Failed {
                            may_have_applied: true,
                        }
                    }
                    (Delivery::Stuck, Some(op)) => {
                        w.late.push(op.clone());
                        w.late.sort();
                        Reply::Failed {
                            may_have_applied: true,
                        }
                    }
                    (Delivery::Refused, Some(_)) => Reply::Failed {
                        may_have_applied: false,
                    },
                };
                let step = w.attempts[i].machine.on(reply);
                w.answer(i, step);
            }
            Action::LateApplies(j) => {
                let late = w.late.remove(j);
                w.apply(&late);
            }
            Action::ClaimExpires => w.sku = None,
            Action::GiveUp(i) => {
                // The deadline fired with an operation in flight: it may still land.
                if let Some(op) = as_sent(&w.attempts[i]) {
                    w.late.push(op);
                    w.late.sort();
                }
                let step = w.attempts[i].machine.give_up();
                w.answer(i, step);
            }
            Action::Kill(i) => {
                if let Some(op) = as_sent(&w.attempts[i]) {
                    w.late.push(op);
                    w.late.sort();
                }
                w.attempts[i].status = Status::Killed;
            }
        }
        Some(w)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("no two products share the SKU", |_, w: &World| {
                w.products.len() <= 1
                    && w.products
                        .iter()
                        .all(|id| w.sku.as_ref().is_some_and(|r| r.id == *id && r.committed))
            }),
            Property::always(
                "every 201 and 409 names a listed product",
                |_, w: &World| {
                    w.attempts.iter().filter_map(final_answer).all(|f| match f {
                        Final::Created(x) | Final::Duplicate(x) => w.products.contains(&x),
                    })
                },
            ),
            Property::always(
                "every stored answer names a listed product",
                |_, w: &World| match w.key.as_ref().and_then(|k| k.stored) {
                    Some(Final::Created(x) | Final::Duplicate(x)) => w.products.contains(&x),
                    None => true,
                },
            ),
            Property::always(
                "an Idempotency-Key always gives the same answer",
                |_, w: &World| {
                    let mut answers: BTreeSet<Final> = w
                        .attempts
                        .iter()
                        .filter(|a| a.keyed)
                        .filter_map(final_answer)
                        .collect();
                    answers.extend(w.key.as_ref().and_then(|k| k.stored));
                    answers.len() <= 1
                },
            ),
            Property::always(
                "a create without a key that said not created never creates",
                |_, w: &World| {
                    w.attempts
                        .iter()
                        .filter(|a| !a.keyed)
                        .all(|a| match a.status {
                            Status::Answered(Answer::Unavailable { may_exist: false }) => {
                                let id = *a.machine.id();
                                // Checked in every later state too: never, not only not yet.
                                !w.products.contains(&id)
                                    && !w.sku.as_ref().is_some_and(|r| r.id == id && r.committed)
                            }
                            _ => true,
                        })
                },
            ),
            Property::always(
                "a 503 says not created only when nothing exists",
                |_, w: &World| w.broken.is_none(),
            ),
            Property::sometimes("a create succeeds", |_, w: &World| {
                w.attempts
                    .iter()
                    .any(|a| matches!(a.status, Status::Answered(Answer::Created)))
            }),
            Property::sometimes("a duplicate is refused", |_, w: &World| {
                w.attempts
                    .iter()
                    .any(|a| matches!(a.status, Status::Answered(Answer::Duplicate(_))))
            }),
            Property::sometimes("a keyed retry replays", |_, w: &World| {
                w.attempts
                    .iter()
                    .any(|a| matches!(a.status, Status::Answered(Answer::Replayed(_))))
            }),
            Property::sometimes("a keyed retry resumes and creates", |_, w: &World| {
                w.attempts
                    .iter()
                    .any(|a| a.keyed && matches!(a.status, Status::Answered(Answer::Created)))
                    && w.attempts
                        .iter()
                        .filter(|a| a.keyed)
                        .map(|a| *a.machine.id())
                        .collect::<BTreeSet<_>>()
                        .len()
                        == 1
            }),
            Property::sometimes("a 503 admits the product may exist", |_, w: &World| {
                w.attempts.iter().any(|a| {
                    matches!(
                        a.status,
                        Status::Answered(Answer::Unavailable { may_exist: true })
                    )
                })
            }),
        ]
    }
}

/// Explores every state; each `always` property must hold in all of them, and each
/// `sometimes` property named in `reached` must hold in one (so the model is not vacuous).
fn check(model: CreateModel, label: &str, reached: &[&'static str]) {
    let always: Vec<&'static str> = model
        .properties()
        .iter()
        .filter(|p| p.expectation == Expectation::Always)
        .map(|p| p.name)
        .collect();
    let checker = model.checker().spawn_bfs().join();
    println!(
        "{label}: {} states explored ({} unique), depth {}",
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth()
    );
    for name in always {
        checker.assert_no_discovery(name);
    }
    for name in reached {
        checker.assert_any_discovery(name);
    }
}

#[test]
fn two_keyed_retries_and_a_plain_create_of_one_sku() {
    // Two requests under one Idempotency-Key (a client and its retry), each with the fresh
    // id its process drew, racing a create of the same SKU without a key.
    let model = CreateModel {
        creates: vec![(true, 1), (true, 2), (false, 3)],
        max_steps: 6,
        faults: 3,
    };
    check(
        model,
        "keyed x2 + plain",
        &[
            "a create succeeds",
            "a duplicate is refused",
            "a keyed retry replays",
            "a keyed retry resumes and creates",
            "a 503 admits the product may exist",
        ],
    );
}

#[test]
fn three_plain_creates_of_one_sku() {
    let model = CreateModel {
        creates: vec![(false, 1), (false, 2), (false, 3)],
        max_steps: 6,
        faults: 3,
    };
    check(
        model,
        "plain x3",
        &[
            "a create succeeds",
            "a duplicate is refused",
            "a 503 admits the product may exist",
        ],
    );
}
