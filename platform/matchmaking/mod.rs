//! Matchmaking policies: the [`Matchmaker`] trait (the contract that the built-in FIFO
//! and the sandboxed WebAssembly plugins both implement), the record a policy sees of
//! each waiting participant, and the host's validation of every answer.
//!
//! A policy is untrusted: the host checks that a proposed group has exactly
//! `group_size` distinct ids, all currently waiting and available, includes the
//! arriving participant, and contains no pair that recently failed its probe. A fault
//! (error or invalid answer) is logged and the experiment's fallback decides.

mod fifo;

use std::collections::BTreeMap;
use std::time::Duration;

pub use fifo::{ComposedFifo, Fifo, follows};

use crate::protocol::ParticipantId;

/// What a policy knows of one waiting participant.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: ParticipantId,
    /// When the participant entered the waitroom (experiment time).
    pub joined_at: Duration,
    /// Median round trip between the participant and the host.
    pub server_rtt_ms: Option<f64>,
    /// Attributes the experiment shares with the policy (`matchmaker.attributes`).
    pub attributes: BTreeMap<String, String>,
    /// Everyone this participant has played with in this experiment.
    pub previous_partners: Vec<ParticipantId>,
    /// Participants this one may not be grouped with now (their probe failed recently).
    pub avoid: Vec<ParticipantId>,
}

/// The waiting participants offered to a policy, oldest first, without copying their
/// records: by index, by iteration, or all at once.
///
/// A view made by [`WaitroomView::lazy`] walks the room only as far as it is read:
/// iterating the oldest few costs a few, while `len`, `get` and `all` list it once.
pub struct WaitroomView<'a> {
    now: Duration,
    source: Source<'a>,
}

type Walk<'a> = Box<dyn Fn() -> Box<dyn Iterator<Item = &'a Candidate> + 'a> + 'a>;

enum Source<'a> {
    Listed(Vec<&'a Candidate>),
    Lazy { walk: Walk<'a>, listed: std::cell::OnceCell<Vec<&'a Candidate>> },
}

impl std::fmt::Debug for WaitroomView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitroomView").field("now", &self.now).field("waiting", &self.all()).finish()
    }
}

impl<'a> WaitroomView<'a> {
    /// A view of `waiting`, already listed.
    pub fn new(now: Duration, waiting: Vec<&'a Candidate>) -> Self {
        Self { now, source: Source::Listed(waiting) }
    }

    /// A view that walks `walk()` (oldest first) only as far as it is read.
    pub fn lazy<I>(now: Duration, walk: impl Fn() -> I + 'a) -> Self
    where
        I: Iterator<Item = &'a Candidate> + 'a,
    {
        let walk: Walk<'a> = Box::new(move || Box::new(walk()));
        Self { now, source: Source::Lazy { walk, listed: std::cell::OnceCell::new() } }
    }

    fn listed(&self) -> &[&'a Candidate] {
        match &self.source {
            Source::Listed(v) => v,
            Source::Lazy { walk, listed } => listed.get_or_init(|| walk().collect()),
        }
    }

    pub fn len(&self) -> usize {
        self.listed().len()
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    pub fn get(&self, index: usize) -> Option<&'a Candidate> {
        self.listed().get(index).copied()
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = &'a Candidate> + '_> {
        match &self.source {
            Source::Lazy { walk, listed } if listed.get().is_none() => walk(),
            _ => Box::new(self.listed().iter().copied()),
        }
    }

    pub fn all(&self) -> &[&'a Candidate] {
        self.listed()
    }

    /// The current experiment time.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// How long `c` has waited, in milliseconds.
    pub fn waited_ms(&self, c: &Candidate) -> u64 {
        self.now.saturating_sub(c.joined_at).as_millis() as u64
    }

    pub fn contains(&self, id: ParticipantId) -> bool {
        self.iter().any(|c| c.id == id)
    }
}

/// A policy could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy trapped: {0}")]
    Trap(String),
    #[error("the policy exceeded its {0:?} deadline")]
    Deadline(Duration),
    #[error("the policy exceeded its memory limit")]
    Memory,
    #[error("the policy failed: {0}")]
    Other(String),
    /// The instance is down after a fault and not re-created yet: the fallback decides
    /// (not a new fault).
    #[error("the policy is restarting after a fault")]
    Unavailable,
}

/// A matchmaking policy. Calls are synchronous and bounded by a deadline (the host
/// runs each experiment's actor on its own thread, so a slow policy never stalls the
/// sockets).
pub trait Matchmaker: Send {
    /// For logs: `fifo`, or the plugin file.
    fn name(&self) -> &str;

    /// Whether asking again with an unchanged waitroom may give another answer as time
    /// passes (e.g. a threshold relaxed with waiting time). Such a policy is asked for
    /// every waiting participant on each `matchmaker.tick_secs`; one that does not is
    /// asked only when the waitroom changes. Unknown code must answer true.
    fn depends_on_time(&self) -> bool {
        true
    }

    /// A participant entered the waitroom (for stateful policies).
    fn on_join(&mut self, _candidate: &Candidate) -> Result<(), PolicyError> {
        Ok(())
    }

    /// A participant left the waitroom (matched, timed out or gone).
    fn on_leave(&mut self, _id: ParticipantId) -> Result<(), PolicyError> {
        Ok(())
    }

    /// A full group including `arriving`, chosen among `waiting` (which does not contain
    /// `arriving`), or `None` to wait. Must not assume it is the only caller.
    fn find_match(
        &mut self,
        arriving: &Candidate,
        waiting: &WaitroomView<'_>,
        group_size: usize,
    ) -> Result<Option<Vec<ParticipantId>>, PolicyError>;

    /// Whether the measured peer-to-peer RTT of a pair rules it out (`now` is the
    /// experiment time, for waiting times). The default is the contract's: no threshold
    /// → accept; no RTT → reject; equal → accept; above → reject.
    fn should_reject_for_rtt(
        &mut self,
        _pair: (&Candidate, &Candidate),
        rtt_ms: Option<f64>,
        max_p2p_rtt_ms: Option<f64>,
        _now: Duration,
    ) -> Result<bool, PolicyError> {
        Ok(default_reject_for_rtt(rtt_ms, max_p2p_rtt_ms))
    }

    /// The host refused the policy's last answer: a stateful policy starts afresh
    /// (a plugin's instance is discarded and re-created by a later [`Matchmaker::recover`]).
    fn reset(&mut self) {}

    /// Called on each room tick: a policy that is down after a fault and whose pause
    /// has passed is re-created now. `None` when there was nothing to do; otherwise
    /// how many waiting participants the fresh instance was told, or why it failed.
    fn recover(&mut self, _now: Duration) -> Option<Result<usize, PolicyError>> {
        None
    }

    /// SHA-256 (hex) of the policy's file, for the log of a reload.
    fn fingerprint(&self) -> Option<String> {
        None
    }

    /// Work done by all calls so far (for the pass budget), in the units of
    /// [`crate::plugin::WORK_PER_MS`]: executed instructions plus a fixed cost per
    /// host call, a count that a simulation reproduces. A native policy does none.
    fn work(&self) -> u64 {
        0
    }

    /// Lines the policy logged during its last call (they go to the event log with the
    /// decision).
    fn take_log(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// How long its calls took, for `/metrics`: counts per bucket of
    /// [`CALL_BUCKETS_US`] (and above), the sum in microseconds, and the count. `None`
    /// for a native policy (whose calls are not timed).
    fn call_times(&self) -> Option<CallTimes> {
        None
    }
}

/// Upper bounds (µs) of the policy call latency histogram's buckets.
pub const CALL_BUCKETS_US: [u64; 8] = [10, 50, 100, 500, 1_000, 5_000, 20_000, 100_000];

/// A policy call latency histogram: bucket counts, sum (µs), count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallTimes {
    pub buckets: Vec<u64>,
    pub sum_us: u64,
    pub count: u64,
}

impl CallTimes {
    pub fn observe(&mut self, took: Duration) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; CALL_BUCKETS_US.len() + 1];
        }
        let us = took.as_micros() as u64;
        let i = CALL_BUCKETS_US.iter().position(|b| us <= *b).unwrap_or(CALL_BUCKETS_US.len());
        self.buckets[i] += 1;
        self.sum_us += us;
        self.count += 1;
    }

    pub fn add(&mut self, other: &CallTimes) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; CALL_BUCKETS_US.len() + 1];
        }
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.sum_us += other.sum_us;
        self.count += other.count;
    }
}

/// No threshold → accept; no RTT → reject; RTT equal to the threshold → accept.
pub fn default_reject_for_rtt(rtt_ms: Option<f64>, max_p2p_rtt_ms: Option<f64>) -> bool {
    match (max_p2p_rtt_ms, rtt_ms) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(max), Some(rtt)) => rtt > max,
    }
}

/// Why a policy's group was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAnswer {
    #[error("{0} is not an available waiting participant")]
    UnknownId(ParticipantId),
    #[error("{0} appears twice")]
    Duplicate(ParticipantId),
    #[error("the group does not include the arriving participant")]
    MissingArriving,
    #[error("the group has {got} members; the experiment needs {expected}")]
    WrongSize { expected: usize, got: usize },
    #[error("{0} and {1} failed their probe recently and may not be grouped")]
    AvoidedPair(ParticipantId, ParticipantId),
}

/// Checks a proposed group against the view it was chosen from.
pub fn validate(
    group: &[ParticipantId],
    arriving: &Candidate,
    waiting: &WaitroomView<'_>,
    group_size: usize,
) -> Result<(), InvalidAnswer> {
    if group.len() != group_size {
        return Err(InvalidAnswer::WrongSize { expected: group_size, got: group.len() });
    }
    let mut members: Vec<&Candidate> = Vec::with_capacity(group.len());
    for id in group {
        if members.iter().any(|m| m.id == *id) {
            return Err(InvalidAnswer::Duplicate(*id));
        }
        let member = if *id == arriving.id { Some(arriving) } else { waiting.iter().find(|c| c.id == *id) };
        members.push(member.ok_or(InvalidAnswer::UnknownId(*id))?);
    }
    if !group.contains(&arriving.id) {
        return Err(InvalidAnswer::MissingArriving);
    }
    for (i, a) in members.iter().enumerate() {
        if let Some(b) = members[i + 1..].iter().find(|b| a.avoid.contains(&b.id) || b.avoid.contains(&a.id)) {
            return Err(InvalidAnswer::AvoidedPair(a.id, b.id));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn candidate(n: u128, joined_ms: u64) -> Candidate {
        Candidate {
            id: ParticipantId(uuid::Uuid::from_u128(n)),
            joined_at: Duration::from_millis(joined_ms),
            server_rtt_ms: None,
            attributes: BTreeMap::new(),
            previous_partners: Vec::new(),
            avoid: Vec::new(),
        }
    }

    #[test]
    fn rtt_rule_matches_the_contract() {
        assert!(!default_reject_for_rtt(Some(500.0), None), "no threshold accepts");
        assert!(!default_reject_for_rtt(None, None), "no threshold accepts even without a measurement");
        assert!(default_reject_for_rtt(None, Some(80.0)), "no RTT rejects");
        assert!(!default_reject_for_rtt(Some(80.0), Some(80.0)), "equal accepts");
        assert!(default_reject_for_rtt(Some(80.001), Some(80.0)), "above rejects");
        assert!(!default_reject_for_rtt(Some(10.0), Some(80.0)));
    }

    #[test]
    fn validation_refuses_every_kind_of_bad_group() {
        let (a, b, mut c) = (candidate(1, 0), candidate(2, 0), candidate(3, 0));
        c.avoid.push(b.id);
        let view = WaitroomView::new(Duration::ZERO, vec![&b, &c]);
        let stranger = ParticipantId(uuid::Uuid::from_u128(9));
        assert_eq!(validate(&[a.id, b.id], &a, &view, 2), Ok(()));
        assert_eq!(validate(&[a.id], &a, &view, 2), Err(InvalidAnswer::WrongSize { expected: 2, got: 1 }));
        assert_eq!(validate(&[a.id, stranger], &a, &view, 2), Err(InvalidAnswer::UnknownId(stranger)));
        assert_eq!(validate(&[a.id, a.id], &a, &view, 2), Err(InvalidAnswer::Duplicate(a.id)));
        assert_eq!(validate(&[b.id, c.id, a.id], &a, &view, 3), Err(InvalidAnswer::AvoidedPair(b.id, c.id)));
        let d = candidate(4, 0);
        let view = WaitroomView::new(Duration::ZERO, vec![&b, &d]);
        assert_eq!(validate(&[b.id, d.id], &a, &view, 2), Err(InvalidAnswer::MissingArriving));
    }
}
