//! A multiplayer scene's room: its waitroom (arrival order, each participant's record
//! as the policy sees it), its pending matches, the pairs that recently failed a probe
//! here, its games, and its policy instance. Measured RTTs are not the room's: they
//! hold across scenes (`known_rtts`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::game::Game;
use crate::matchmaking::{Candidate, Matchmaker};
use crate::protocol::{GameId, ParticipantId, ProbeId};

/// A proposed group being probed before it is confirmed.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: uuid::Uuid,
    pub members: Vec<ParticipantId>,
    /// One probe per pair; removed as each is accepted.
    pub open_probes: Vec<ProbeId>,
    /// Every accepted pair: its probe (whose channel the pages keep for the game; none
    /// for a pair accepted on its cached RTT), the peers and the decided RTT.
    pub rtts: Vec<(Option<ProbeId>, ParticipantId, ParticipantId, f64)>,
    /// Once its pairs are accepted, with `waitroom.ready_check`: who confirmed, and by
    /// when everyone must.
    pub ready: Option<(std::collections::BTreeSet<ParticipantId>, Duration)>,
    /// Seats the module's `bot` fills (`fill_with_bots_after_secs`: one member, held
    /// for the ready-check); 0 for a group of participants.
    pub filled: u32,
}

/// One waiting participant.
#[derive(Debug, Clone)]
pub struct Entry {
    pub candidate: Candidate,
    /// When the waitroom timeout applies.
    pub deadline: Duration,
    /// Disconnected participants are kept (grace period) but not offered to the policy.
    pub connected: bool,
    /// The pending match this participant is being probed for.
    pub pending: Option<uuid::Uuid>,
    /// The waiting count this participant was last told (coalesced status).
    pub seen: Option<u32>,
    /// Why they are not matched yet (the last decisions about them).
    pub why: super::why::Record,
    /// The ready-check they missed (`missed: waitroom`): not offered again until they
    /// confirm it after all.
    pub absent: Option<String>,
    /// Held for their earlier partners (`reunion`): that group's game, and until when.
    pub reunite: Option<(GameId, Duration)>,
    /// With `conditions.entry.match: within`, their entry condition: they are grouped
    /// with, and counted among, those of the same condition only.
    pub partition: Option<usize>,
}

impl Entry {
    pub fn available(&self) -> bool {
        self.connected && self.pending.is_none() && self.absent.is_none()
    }
}

/// The room of one multiplayer scene.
pub struct Room {
    pub scene: usize,
    pub group_size: usize,
    pub policy: Box<dyn Matchmaker>,
    /// Waiting participants in arrival order.
    pub order: Vec<ParticipantId>,
    pub entries: HashMap<ParticipantId, Entry>,
    pub pending: HashMap<uuid::Uuid, Pending>,
    /// Sorted pair → when it may be proposed again.
    pub failed: BTreeMap<(ParticipantId, ParticipantId), Duration>,
    /// How long a measured RTT is reused here (`probe.cache_secs`).
    pub cache_for: Duration,
    /// When the room's next failure runs out (its `Forget` timer).
    pub forget_at: Option<Duration>,
    pub games: HashMap<GameId, Game>,
    /// When the room's matching tick fires next, if it runs (a policy that depends on
    /// time, someone waiting).
    pub tick_at: Option<Duration>,
    /// The waiting count changed since the status was last sent.
    pub dirty: bool,
    /// When the next coalesced status goes out, if one is scheduled.
    pub status_at: Option<Duration>,
    /// When the last coalesced status went out.
    pub last_status: Option<Duration>,
    /// Policy faults so far (errors and invalid answers).
    pub faults: u64,
    /// Where the next matching pass starts: the first participant the last one did not
    /// ask, when its work budget ran out.
    pub resume_at: Option<ParticipantId>,
}

pub use super::known_rtts::pair;

impl Room {
    pub fn new(scene: usize, group_size: usize, policy: Box<dyn Matchmaker>) -> Self {
        Self {
            scene,
            group_size,
            policy,
            order: Vec::new(),
            entries: HashMap::new(),
            pending: HashMap::new(),
            failed: BTreeMap::new(),
            cache_for: Duration::ZERO,
            forget_at: None,
            games: HashMap::new(),
            tick_at: None,
            dirty: false,
            status_at: None,
            last_status: None,
            faults: 0,
            resume_at: None,
        }
    }

    /// Adds a participant, keeping the order oldest first (a participant put back after
    /// a game that never started keeps their original place).
    pub fn insert(&mut self, entry: Entry) {
        let joined = entry.candidate.joined_at;
        let at =
            self.order.iter().rposition(|id| self.entries.get(id).is_some_and(|e| e.candidate.joined_at <= joined));
        self.order.insert(at.map_or(0, |i| i + 1), entry.candidate.id);
        self.entries.insert(entry.candidate.id, entry);
        self.dirty = true;
    }

    /// Removes a participant from the waitroom (not from pending bookkeeping).
    pub fn remove(&mut self, id: ParticipantId) -> Option<Entry> {
        let entry = self.entries.remove(&id)?;
        self.order.retain(|p| *p != id);
        self.dirty = true;
        Some(entry)
    }

    /// How many wait in `pid`'s part of the room (everyone, unless the room is
    /// partitioned by condition): the count `pid` is shown.
    pub fn waiting_with(&self, pid: ParticipantId) -> u32 {
        let Some(partition) = self.entries.get(&pid).map(|e| e.partition) else { return 0 };
        if partition.is_none() {
            return self.entries.len() as u32;
        }
        self.entries.values().filter(|e| e.partition == partition).count() as u32
    }

    /// Available participants in arrival order.
    pub fn available(&self) -> Vec<ParticipantId> {
        self.order.iter().filter(|id| self.entries.get(id).is_some_and(Entry::available)).copied().collect()
    }

    /// Remembers that `a` and `b` may not be grouped until `until`.
    pub fn remember_failure(&mut self, a: ParticipantId, b: ParticipantId, until: Duration) {
        self.failed.insert(pair(a, b), until);
        for (me, other) in [(a, b), (b, a)] {
            if let Some(e) = self.entries.get_mut(&me)
                && !e.candidate.avoid.contains(&other)
            {
                e.candidate.avoid.push(other);
            }
        }
    }

    /// Forgets failures whose memory ran out (whether there were any).
    pub fn forget_failures(&mut self, now: Duration) -> bool {
        let expired: Vec<_> = self.failed.iter().filter(|(_, until)| **until <= now).map(|(p, _)| *p).collect();
        let any = !expired.is_empty();
        for (a, b) in expired {
            self.forgive(a, b);
        }
        any
    }

    /// When the next failure runs out, if any is held.
    pub fn next_expiry(&self) -> Option<Duration> {
        self.failed.values().copied().min()
    }

    /// Forgets every failure of `id`'s pairs (they left the room for good): nothing
    /// outlives its participants.
    pub fn forget_pairs_of(&mut self, id: ParticipantId) {
        self.failed.retain(|(a, b), _| *a != id && *b != id);
    }

    /// `a` and `b` may be grouped again.
    fn forgive(&mut self, a: ParticipantId, b: ParticipantId) {
        self.failed.remove(&pair(a, b));
        for (me, other) in [(a, b), (b, a)] {
            if let Some(e) = self.entries.get_mut(&me) {
                e.candidate.avoid.retain(|p| *p != other);
            }
        }
    }

    /// How long the longest-waiting of `members` (those still in the room) has waited.
    pub fn longest_wait(&self, members: &[ParticipantId], now: Duration) -> Duration {
        members
            .iter()
            .filter_map(|m| self.entries.get(m))
            .map(|e| now.saturating_sub(e.candidate.joined_at))
            .max()
            .unwrap_or_default()
    }

    /// Failed pairs, both still waiting, whose measured RTT (`known`, fresh for this
    /// room) passes `threshold` (given the longer wait of the two): forgiven, and
    /// returned with their RTT and threshold.
    pub fn relax_failures(
        &mut self,
        now: Duration,
        known: &super::known_rtts::KnownRtts,
        threshold: impl Fn(Duration) -> Option<f64>,
    ) -> Vec<(ParticipantId, ParticipantId, f64, f64)> {
        let eligible: Vec<_> = self
            .failed
            .keys()
            .filter(|(a, b)| self.entries.contains_key(a) && self.entries.contains_key(b))
            .filter_map(|&(a, b)| {
                let rtt = known.get(a, b, now, self.cache_for)?.rtt_ms;
                let limit = threshold(self.longest_wait(&[a, b], now))?;
                (rtt <= limit).then_some((a, b, rtt, limit))
            })
            .collect();
        for (a, b, _, _) in &eligible {
            self.forgive(*a, *b);
        }
        eligible
    }

    /// Whom `id` must currently avoid (for a participant (re)entering the room).
    pub fn avoid_list(&self, id: ParticipantId) -> Vec<ParticipantId> {
        self.failed
            .keys()
            .filter_map(|(a, b)| {
                if *a == id {
                    Some(*b)
                } else if *b == id {
                    Some(*a)
                } else {
                    None
                }
            })
            .collect()
    }
}
