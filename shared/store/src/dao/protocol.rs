//! The create protocol as a pure state machine: what to do next, given what the database
//! answered. No I/O and no clock here, so that the same code runs in the DAO
//! (`dao::create`, which executes each step as a CQL statement within a deadline) and in the
//! model checker (`shared/store/tests/create_protocol_model.rs`, which explores every
//! interleaving of several creates, lost answers, late writes, TTL expiry and crashes).
//!
//! The rows it works on:
//! - the SKU claim (`products_by_sku`), changed only by lightweight transactions, so every
//!   change to it is linearizable: absent, *pending* (with a TTL; it may expire at any
//!   moment) or *committed* (no TTL, never changes again). The committed claim carries the
//!   whole product, so it is the record of truth that the product exists;
//! - the product row (`products`), what the listing reads: written only once the claim is
//!   known committed, by the creator or by whoever meets the committed claim first;
//! - the Idempotency-Key row (`idempotency_keys`): the product id a keyed create uses, and once
//!   known, the final answer.
//!
//! The commit is *conditional* (`... IF product_id = ours AND committed = false`): a create
//! whose claim expired or was taken can never commit over someone else, whatever the timing.
//! Answers are only ever given (and stored under a key) for facts that hold for good: a 201
//! once our claim is committed and the product row written; a 409 once another product's
//! claim is committed and its row written.

/// A SKU claim as the database showed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Claim<I, P> {
    pub id: I,
    pub committed: bool,
    /// The claimed product as stored with the claim (`None` for claims written before the
    /// claim carried it: those were committed together with their product row).
    pub product: Option<P>,
}

/// The final answer to a create.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Answer<I, S> {
    /// Our product exists (claim committed, row written).
    Created,
    /// Another product holds the SKU (committed, row written).
    Duplicate(I),
    /// The answer stored under the Idempotency-Key by an earlier request.
    Replayed(S),
    /// The Idempotency-Key belongs to a request with another body.
    KeyReused,
    /// The database could not finish in time. `may_exist`: whether a product under our id
    /// may exist now or later (false only when that is known not to be so).
    Unavailable { may_exist: bool },
}

/// One database operation the executor must run next.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op<I, P> {
    /// `INSERT INTO idempotency_keys ... IF NOT EXISTS` with our id.
    ClaimKey,
    /// `INSERT INTO products_by_sku ... IF NOT EXISTS USING TTL` as pending, with our product.
    ClaimSku,
    /// `UPDATE products_by_sku SET committed = true, ... IF product_id = ours AND committed = false`.
    CommitSku,
    /// Write our product row.
    WriteOurs,
    /// Write the holder's product row from its committed claim (rolling it forward).
    WriteHolder(Claim<I, P>),
    /// `DELETE FROM products_by_sku ... IF product_id = ours AND committed = false`.
    ReleaseSku,
    /// Store the final answer under the Idempotency-Key.
    Record,
    /// Wait a little, then claim again: another create holds the SKU and has not committed.
    Backoff,
}

/// What the executor saw when it ran the last operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reply<I, P, S> {
    /// Our key claim applied.
    KeyClaimed,
    /// The key exists: from a request with the same body or not, with the id it uses, and
    /// its stored answer once there is one.
    KeyHeld {
        same_request: bool,
        id: I,
        stored: Option<S>,
    },
    /// Our SKU claim applied.
    SkuClaimed,
    /// The SKU is claimed already.
    SkuHeld(Claim<I, P>),
    /// Our commit applied.
    Committed,
    /// Our commit's condition failed; the claim as it is now (`None`: no claim).
    CommitRefused(Option<Claim<I, P>>),
    /// A plain write, release or backoff completed (the answer carries nothing we use).
    Done,
    /// The operation failed. `may_have_applied`: a timeout or a lost connection after
    /// sending, where the write may be applied now or later; false when the database
    /// refused before doing anything (Unavailable, Overloaded...).
    Failed { may_have_applied: bool },
}

/// What to do next: run an operation, or answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step<I, P, S> {
    Run(Op<I, P>),
    Answer(Answer<I, S>),
}

/// One create request's progress. `I` is a product id, `P` a product as a claim carries it,
/// `S` a stored answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreateProtocol<I, P, S> {
    id: I,
    keyed: bool,
    running: Option<Op<I, P>>,
    /// The answer decided, while it is being recorded under the key.
    decided: Option<Answer<I, S>>,
    /// A commit under our id may apply, now or later: one of ours was sent and its outcome
    /// is unknown, or another request under our key may send one.
    commit_in_doubt: bool,
    /// Our claim is known committed.
    committed: bool,
    /// Another product's claim is known committed: ours can never be.
    other_committed: bool,
    /// How many more times a claim whose outcome is unknown is asked again.
    claim_retries: u8,
}

/// A claim (of the key or the SKU) whose Paxos round timed out is asked again this many times
/// at most, before the create gives up on it: once settles all but a few percent of the
/// unknown outcomes Cassandra gives under contention, and each retry is another Paxos round of
/// up to `cas_contention_timeout` (1 s) within the create's deadline.
pub const CLAIM_RETRIES: u8 = 1;

impl<I, P, S> CreateProtocol<I, P, S>
where
    I: Clone + PartialEq,
    P: Clone,
    S: Clone,
{
    /// A new create under the fresh id `id`; `keyed` when it carries an Idempotency-Key.
    pub fn new(id: I, keyed: bool) -> Self {
        CreateProtocol {
            id,
            keyed,
            running: None,
            decided: None,
            // Every request under one key uses one product id: another of them may commit
            // it at any time, so a keyed request never knows its product does not exist
            // (unless another product holds the SKU).
            commit_in_doubt: keyed,
            committed: false,
            other_committed: false,
            claim_retries: CLAIM_RETRIES,
        }
    }

    /// The id the product gets: the fresh one, or the one an earlier request under the same
    /// key chose.
    pub fn id(&self) -> &I {
        &self.id
    }

    pub fn start(&mut self) -> Step<I, P, S> {
        self.run(if self.keyed {
            Op::ClaimKey
        } else {
            Op::ClaimSku
        })
    }

    /// The operation sent last, whose reply `on` expects.
    pub fn running(&self) -> Option<&Op<I, P>> {
        self.running.as_ref()
    }

    /// Feeds the reply to the operation last returned.
    pub fn on(&mut self, reply: Reply<I, P, S>) -> Step<I, P, S> {
        let Some(op) = self.running.take() else {
            return self.give_up();
        };
        match (op, reply) {
            (Op::ClaimKey, Reply::KeyClaimed) => self.run(Op::ClaimSku),
            (
                Op::ClaimKey,
                Reply::KeyHeld {
                    same_request: false,
                    ..
                },
            ) => Step::Answer(Answer::KeyReused),
            (
                Op::ClaimKey,
                Reply::KeyHeld {
                    stored: Some(s), ..
                },
            ) => Step::Answer(Answer::Replayed(s)),
            (
                Op::ClaimKey,
                Reply::KeyHeld {
                    id, stored: None, ..
                },
            ) => {
                // An earlier request under this key got this far without an answer: it may
                // have committed, or may still.
                self.id = id;
                self.run(Op::ClaimSku)
            }

            // A claim that timed out (a Paxos round that ran out of time, or whose proposal
            // was accepted by fewer than a quorum) may or may not hold. Running the same
            // conditional insert again is a new Paxos round, which first completes the one
            // in doubt (as a SERIAL read would) and then reads: it shows our own row if ours
            // won, the holder's if another did, or applies if nothing holds it. Either way the
            // create learns where it stands instead of answering 503.
            (op @ (Op::ClaimKey | Op::ClaimSku), Reply::Failed { may_have_applied: true }) if self.claim_retries > 0 => {
                self.claim_retries -= 1;
                self.run(op)
            }
            (Op::ClaimSku, Reply::SkuClaimed) => self.run(Op::CommitSku),
            (Op::ClaimSku, Reply::SkuHeld(claim)) => self.meet(claim),
            // Our pending claim may exist: release it rather than block the SKU for its TTL.
            (
                Op::ClaimSku,
                Reply::Failed {
                    may_have_applied: true,
                },
            ) => self.run(Op::ReleaseSku),

            (Op::CommitSku, Reply::Committed) => {
                self.committed = true;
                self.run(Op::WriteOurs)
            }
            // Our claim expired or was released (by a retry under our key): claim again.
            (Op::CommitSku, Reply::CommitRefused(None)) => self.run(Op::ClaimSku),
            (Op::CommitSku, Reply::CommitRefused(Some(claim))) if claim.id == self.id => {
                self.meet(claim)
            }
            // Held by another product: a refused update shows only the columns of its
            // condition, so claim again, which either applies (the holder is gone by now)
            // or shows the holder's whole row.
            (Op::CommitSku, Reply::CommitRefused(Some(_))) => self.run(Op::ClaimSku),
            (
                Op::CommitSku,
                Reply::Failed {
                    may_have_applied: false,
                },
            ) => self.run(Op::ReleaseSku),
            // Running the same commit again is safe: if the first applied, the second is
            // refused and shows our committed claim.
            (
                Op::CommitSku,
                Reply::Failed {
                    may_have_applied: true,
                },
            ) => {
                self.commit_in_doubt = true;
                self.run(Op::CommitSku)
            }

            (Op::WriteOurs, Reply::Done) => self.decide(Answer::Created),
            (Op::WriteHolder(claim), Reply::Done) => self.decide(Answer::Duplicate(claim.id)),
            // Plain writes of the same values are safe to repeat.
            (op @ (Op::WriteOurs | Op::WriteHolder(_)), Reply::Failed { .. }) => self.run(op),

            (Op::Record, _) => self.give_up(),
            (Op::Backoff, _) => self.run(Op::ClaimSku),
            (Op::ReleaseSku, _) => Step::Answer(self.unavailable()),

            // Any other failure: nothing of ours is in doubt beyond what is recorded.
            (_, _) => Step::Answer(self.unavailable()),
        }
    }

    /// The answer when time runs out (or the request must stop) now.
    pub fn give_up(&mut self) -> Step<I, P, S> {
        // A commit cut off by the deadline may still apply.
        if matches!(self.running.take(), Some(Op::CommitSku)) {
            self.commit_in_doubt = true;
        }
        match self.decided.take() {
            // The answer is a fact already; storing it was only a shortcut for retries.
            Some(answer) => Step::Answer(answer),
            None => Step::Answer(self.unavailable()),
        }
    }

    fn unavailable(&self) -> Answer<I, S> {
        Answer::Unavailable {
            may_exist: !self.other_committed && (self.committed || self.commit_in_doubt),
        }
    }

    /// The SKU is claimed: by us (an earlier attempt under our key), or by another product.
    fn meet(&mut self, claim: Claim<I, P>) -> Step<I, P, S> {
        match (claim.id == self.id, claim.committed) {
            (true, true) => {
                self.committed = true;
                self.run(Op::WriteOurs)
            }
            (true, false) => self.run(Op::CommitSku),
            (false, true) => {
                self.other_committed = true;
                if claim.product.is_some() {
                    // Its creator may have stopped before writing the product row: write it,
                    // so the product a 409 names is one the listing shows.
                    self.run(Op::WriteHolder(claim))
                } else {
                    self.decide(Answer::Duplicate(claim.id))
                }
            }
            // Being created right now: its outcome decides ours. Never answer 409 for a
            // product that may never exist.
            (false, false) => self.run(Op::Backoff),
        }
    }

    fn decide(&mut self, answer: Answer<I, S>) -> Step<I, P, S> {
        if self.keyed {
            self.decided = Some(answer);
            self.run(Op::Record)
        } else {
            Step::Answer(answer)
        }
    }

    /// The answer being recorded (for the executor to write it).
    pub fn decided(&self) -> Option<&Answer<I, S>> {
        self.decided.as_ref()
    }

    fn run(&mut self, op: Op<I, P>) -> Step<I, P, S> {
        self.running = Some(op.clone());
        Step::Run(op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Machine = CreateProtocol<u8, (), &'static str>;

    fn held(id: u8, committed: bool) -> Claim<u8, ()> {
        Claim {
            id,
            committed,
            product: Some(()),
        }
    }

    #[test]
    fn the_plain_path_claims_commits_and_writes() {
        let mut m = Machine::new(1, false);
        assert_eq!(m.start(), Step::Run(Op::ClaimSku));
        assert_eq!(m.on(Reply::SkuClaimed), Step::Run(Op::CommitSku));
        assert_eq!(m.on(Reply::Committed), Step::Run(Op::WriteOurs));
        assert_eq!(m.on(Reply::Done), Step::Answer(Answer::Created));
    }

    #[test]
    fn a_pending_holder_is_waited_for_and_a_committed_one_rolled_forward() {
        let mut m = Machine::new(1, false);
        m.start();
        assert_eq!(m.on(Reply::SkuHeld(held(2, false))), Step::Run(Op::Backoff));
        assert_eq!(m.on(Reply::Done), Step::Run(Op::ClaimSku));
        assert_eq!(
            m.on(Reply::SkuHeld(held(2, true))),
            Step::Run(Op::WriteHolder(held(2, true)))
        );
        assert_eq!(m.on(Reply::Done), Step::Answer(Answer::Duplicate(2)));
    }

    #[test]
    fn a_commit_in_doubt_is_retried_and_never_reported_as_not_created() {
        let mut m = Machine::new(1, false);
        m.start();
        m.on(Reply::SkuClaimed);
        assert_eq!(
            m.on(Reply::Failed {
                may_have_applied: true
            }),
            Step::Run(Op::CommitSku)
        );
        assert_eq!(
            m.give_up(),
            Step::Answer(Answer::Unavailable { may_exist: true })
        );
    }

    #[test]
    fn a_refused_commit_over_a_vanished_claim_claims_again() {
        let mut m = Machine::new(1, false);
        m.start();
        m.on(Reply::SkuClaimed);
        assert_eq!(m.on(Reply::CommitRefused(None)), Step::Run(Op::ClaimSku));
        assert_eq!(
            m.on(Reply::SkuHeld(held(1, true))),
            Step::Run(Op::WriteOurs)
        );
    }

    #[test]
    fn a_resumed_key_adopts_its_id_and_records_the_answer() {
        let mut m = Machine::new(1, true);
        assert_eq!(m.start(), Step::Run(Op::ClaimKey));
        assert_eq!(
            m.on(Reply::KeyHeld {
                same_request: true,
                id: 7,
                stored: None
            }),
            Step::Run(Op::ClaimSku)
        );
        assert_eq!(*m.id(), 7);
        // Gave up before learning anything: the earlier request may have committed.
        assert_eq!(
            m.clone().give_up(),
            Step::Answer(Answer::Unavailable { may_exist: true })
        );
        assert_eq!(
            m.on(Reply::SkuHeld(held(7, true))),
            Step::Run(Op::WriteOurs)
        );
        assert_eq!(m.on(Reply::Done), Step::Run(Op::Record));
        assert_eq!(
            m.on(Reply::Failed {
                may_have_applied: true
            }),
            Step::Answer(Answer::Created)
        );
    }

    #[test]
    fn a_key_answers_replays_and_refusals_at_once() {
        let mut m = Machine::new(1, true);
        m.start();
        assert_eq!(
            m.on(Reply::KeyHeld {
                same_request: false,
                id: 7,
                stored: None
            }),
            Step::Answer(Answer::KeyReused)
        );
        let mut m = Machine::new(1, true);
        m.start();
        let replay = Reply::KeyHeld {
            same_request: true,
            id: 7,
            stored: Some("201"),
        };
        assert_eq!(m.on(replay), Step::Answer(Answer::Replayed("201")));
    }

    #[test]
    fn a_claim_in_doubt_is_asked_again_before_the_create_gives_up_on_it() {
        let failed = || Reply::Failed { may_have_applied: true };
        let mut m = Machine::new(1, false);
        m.start();
        assert_eq!(m.on(failed()), Step::Run(Op::ClaimSku), "asked again");
        // Our claim won after all: the round that asked completed it and shows it.
        assert_eq!(m.clone().on(Reply::SkuHeld(held(1, false))), Step::Run(Op::CommitSku));
        // Another's won: it is met like any holder.
        assert_eq!(m.clone().on(Reply::SkuHeld(held(2, true))), Step::Run(Op::WriteHolder(held(2, true))));
        assert_eq!(m.on(failed()), Step::Run(Op::ReleaseSku), "once only, then released as before");
        assert_eq!(m.on(Reply::Done), Step::Answer(Answer::Unavailable { may_exist: false }));

        let mut keyed = Machine::new(1, true);
        keyed.start();
        assert_eq!(keyed.on(failed()), Step::Run(Op::ClaimKey), "a key claim in doubt is asked again too");
        assert_eq!(keyed.on(Reply::KeyHeld { same_request: true, id: 1, stored: None }), Step::Run(Op::ClaimSku));
    }
}
