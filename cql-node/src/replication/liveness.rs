//! What the cluster knows about each node: up, stopped but not yet noticed (the failure
//! detector has not convicted it: requests sent to it just go unanswered), or known down.
//! A clean stop announces itself at once, as a gossip SHUTDOWN does; an abrupt one (kill -9)
//! is noticed only once the detection delay has passed on the engine's clock.

use std::time::Duration;

/// Cassandra convicts a node once `PHI_FACTOR * phi > phi_convict_threshold`, with
/// `PHI_FACTOR = 1 / ln 10`, `phi = silence / mean heartbeat interval` and a threshold of 8:
/// with gossip's 1 s interval, 8 × ln 10 ≈ 18.4 s of silence.
pub const DEFAULT_DETECTION_DELAY: Duration = Duration::from_millis(18_400);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Up,
    /// Stopped abruptly at this engine-clock instant (µs); still believed alive.
    Unnoticed { since_micros: i64 },
    /// Known down: requests are no longer sent to it.
    Down,
}

impl State {
    /// What the failure detector says (the coordinator's view).
    pub fn believed_alive(self) -> bool {
        !matches!(self, State::Down)
    }
    /// Whether it would actually answer.
    pub fn answers(self) -> bool {
        matches!(self, State::Up)
    }
}

/// The liveness of every node, by index.
pub struct Liveness {
    states: Vec<State>,
    delay_micros: i64,
}

/// A node whose known state changed: (index, now up?).
pub type Change = (usize, bool);

impl Liveness {
    pub fn new(nodes: usize, delay: Duration) -> Self {
        Self { states: vec![State::Up; nodes], delay_micros: i64::try_from(delay.as_micros()).unwrap_or(i64::MAX) }
    }

    pub fn state(&self, node: usize) -> State {
        self.states[node]
    }

    /// A clean stop (drain, then a SHUTDOWN gossip): known down at once.
    pub fn stop_cleanly(&mut self, node: usize) -> Option<Change> {
        let was = std::mem::replace(&mut self.states[node], State::Down);
        (was != State::Down).then_some((node, false))
    }

    /// An abrupt stop: nothing is announced; the detector convicts it later.
    pub fn stop_abruptly(&mut self, node: usize, now_micros: i64) {
        if self.states[node] == State::Up {
            self.states[node] = State::Unnoticed { since_micros: now_micros };
        }
    }

    /// The node is serving again; an UP is announced if it was known down.
    pub fn start(&mut self, node: usize) -> Option<Change> {
        let was = std::mem::replace(&mut self.states[node], State::Up);
        (was == State::Down).then_some((node, true))
    }

    /// Convicts now, whatever the delay (Cassandra's `FailureDetector.forceConviction`).
    pub fn convict(&mut self, node: usize) -> Option<Change> {
        match self.states[node] {
            State::Unnoticed { .. } => {
                self.states[node] = State::Down;
                Some((node, false))
            }
            _ => None,
        }
    }

    /// Convicts every node silent for the detection delay by `now_micros`.
    pub fn detect(&mut self, now_micros: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        for (i, s) in self.states.iter_mut().enumerate() {
            let silent = match *s {
                State::Unnoticed { since_micros } => now_micros.saturating_sub(since_micros),
                _ => continue,
            };
            if silent >= self.delay_micros {
                *s = State::Down;
                changes.push((i, false));
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abrupt_stop_is_believed_alive_until_the_delay_passes() {
        let mut l = Liveness::new(3, Duration::from_secs(10));
        l.stop_abruptly(1, 1_000_000);
        assert!(l.state(1).believed_alive() && !l.state(1).answers());
        assert!(l.detect(10_999_999).is_empty());
        assert_eq!(l.detect(11_000_000), [(1, false)]);
        assert!(!l.state(1).believed_alive());
        assert_eq!(l.start(1), Some((1, true)));
        assert_eq!(l.state(1), State::Up);
    }

    #[test]
    fn a_clean_stop_is_known_at_once_and_a_restart_before_detection_announces_nothing() {
        let mut l = Liveness::new(2, Duration::from_secs(10));
        assert_eq!(l.stop_cleanly(0), Some((0, false)));
        l.stop_abruptly(1, 0);
        assert_eq!(l.start(1), None);
        assert_eq!(l.convict(1), None, "a running node is not convicted");
    }
}
