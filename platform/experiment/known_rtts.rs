//! What the host knows of pairs' peer-to-peer RTTs, across the experiment's scenes.
//!
//! A pair's RTT is a property of the two participants' networks, not of the scene
//! that measured it, so one store serves every multiplayer scene: a pair measured in
//! one scene's waitroom is not probed again in the next one while the measurement is
//! fresh. Freshness is the reading scene's `probe.cache_secs`; the store keeps a
//! measurement for the longest `cache_secs` of any scene, and forgets a participant's
//! pairs when their session ends (nothing outlives its participants).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::protocol::{ParticipantId, ProbeId};

/// A pair's RTT as a probe measured it (accepted or rejected), reused while fresh.
#[derive(Debug, Clone)]
pub struct Measured {
    pub rtt_ms: f64,
    pub at: Duration,
    pub probe: ProbeId,
}

/// A pair in canonical order.
pub fn pair(a: ParticipantId, b: ParticipantId) -> (ParticipantId, ParticipantId) {
    if a <= b { (a, b) } else { (b, a) }
}

/// Measured pairs, the only writer of them.
#[derive(Debug, Default)]
pub struct KnownRtts {
    measured: BTreeMap<(ParticipantId, ParticipantId), Measured>,
    /// The longest any scene reuses a measurement (0: nothing is kept).
    keep_for: Duration,
    /// When the store's expiry timer fires next, if one is armed.
    forget_at: Option<Duration>,
}

impl KnownRtts {
    /// A store that keeps measurements for `keep_for` (the longest `cache_secs`).
    pub fn new(keep_for: Duration) -> Self {
        Self { measured: BTreeMap::new(), keep_for, forget_at: None }
    }

    /// Remembers the RTT `probe` measured between `a` and `b`; returns when the expiry
    /// timer must fire, if it must be armed (one at a time).
    pub fn remember(
        &mut self,
        a: ParticipantId,
        b: ParticipantId,
        rtt_ms: f64,
        probe: ProbeId,
        now: Duration,
    ) -> Option<Duration> {
        if self.keep_for.is_zero() {
            return None;
        }
        self.measured.insert(pair(a, b), Measured { rtt_ms, at: now, probe });
        self.arm(now + self.keep_for)
    }

    /// The RTT measured between `a` and `b` less than `fresh_for` ago.
    pub fn get(&self, a: ParticipantId, b: ParticipantId, now: Duration, fresh_for: Duration) -> Option<&Measured> {
        self.measured.get(&pair(a, b)).filter(|m| m.at + fresh_for > now)
    }

    /// The expiry timer fired: drops what no scene may reuse any more, and returns
    /// when the timer must fire next, if anything is left.
    pub fn expire(&mut self, now: Duration) -> Option<Duration> {
        if self.forget_at.is_some_and(|f| f <= now) {
            self.forget_at = None;
        }
        let keep_for = self.keep_for;
        self.measured.retain(|_, m| m.at + keep_for > now);
        let next = self.measured.values().map(|m| m.at + keep_for).min()?;
        self.arm(next)
    }

    /// Forgets every pair of `id` (their session ended).
    pub fn forget(&mut self, id: ParticipantId) {
        self.measured.retain(|(a, b), _| *a != id && *b != id);
    }

    /// How many pairs are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.measured.len()
    }

    /// Whether no pair is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.measured.is_empty()
    }

    /// `at` if the timer must be armed for it (none armed, or one armed later).
    fn arm(&mut self, at: Duration) -> Option<Duration> {
        if self.forget_at.is_none_or(|f| at < f) {
            self.forget_at = Some(at);
            return Some(at);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(n: u128) -> ParticipantId {
        ParticipantId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn a_measurement_is_fresh_for_the_reader_and_kept_for_the_longest_reader() {
        let mut known = KnownRtts::new(Duration::from_secs(300));
        let probe = ProbeId("probe_x".into());
        assert_eq!(
            known.remember(pid(2), pid(1), 40.0, probe.clone(), Duration::from_secs(10)),
            Some(Duration::from_secs(310))
        );
        assert_eq!(known.remember(pid(1), pid(3), 50.0, probe, Duration::from_secs(20)), None, "one timer armed");
        let at = Duration::from_secs(100);
        assert_eq!(known.get(pid(1), pid(2), at, Duration::from_secs(300)).map(|m| m.rtt_ms), Some(40.0));
        assert!(known.get(pid(1), pid(2), at, Duration::from_secs(60)).is_none(), "stale for a 60 s reader");
        assert_eq!(known.expire(Duration::from_secs(310)), Some(Duration::from_secs(320)));
        assert_eq!(known.len(), 1);
        known.forget(pid(3));
        assert!(known.is_empty());
        assert_eq!(known.expire(Duration::from_secs(320)), None);
    }

    #[test]
    fn nothing_is_kept_when_no_scene_reuses_measurements() {
        let mut known = KnownRtts::new(Duration::ZERO);
        assert_eq!(known.remember(pid(1), pid(2), 40.0, ProbeId("probe_x".into()), Duration::ZERO), None);
        assert!(known.is_empty());
    }
}
