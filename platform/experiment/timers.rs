//! The state machine's deadlines: a min-heap of (time, what), so that finding the next
//! deadline and the due ones costs O(log n) per timer instead of a scan of every
//! session, room entry, probe and game on every tick.
//!
//! Timers are never cancelled: whoever handles a due timer checks that it still
//! applies (the participant is still away, the probe still running, ...) and ignores
//! it otherwise. A stale timer costs one heap entry until its time, and at most one
//! wake-up. Since stale timers pile up with events (a participant taking their session
//! over again and again restarts their group's probes each time), the heap is
//! compacted when it holds far more than what is alive needs ([`State::compact_timers`]):
//! what it holds is bounded by the participants, probes and games alive, not by history.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::Duration;

use super::state::State;
use crate::protocol::{GameId, ParticipantId, ProbeId};

/// What a deadline is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timer {
    /// A participant's reconnect grace runs out.
    Away(ParticipantId),
    /// A participant's waitroom timeout in the room of this scene.
    Waitroom(usize, ParticipantId),
    /// A participant has waited long enough to play with bots (`fill_with_bots_after_secs`).
    BotFill(usize, ParticipantId),
    /// A game's countdown ends, or its duration limit.
    Game(usize, GameId),
    /// A probe's deadline.
    Probe(ProbeId),
    /// A ready-check's deadline (the scene, the pending match).
    Ready(usize, uuid::Uuid),
    /// A participant's wait for their earlier partners (`reunion`) runs out.
    Reunion(usize, ParticipantId),
    /// A room's matching tick (policies whose answer depends on time).
    RoomTick(usize),
    /// A room's remembered probe failures may run out.
    Forget(usize),
    /// Measured RTTs may run out (`known_rtts`).
    ForgetRtts,
    /// A room's coalesced `waiting_room` status goes out.
    Status(usize),
    /// A participant whose part ended has been shown it long enough: close the socket.
    Linger(ParticipantId),
    /// A log budget's window with suppressed events ended: count them.
    Suppressed(super::budget::Source),
}

#[derive(Debug)]
struct Due {
    at: Duration,
    /// Scheduling order: timers due at the same time fire in the order they were set.
    seq: u64,
    timer: Timer,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Pending deadlines, earliest first.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<Due>>,
    seq: u64,
    /// Timers kept by the last compaction.
    kept: usize,
}

impl Timers {
    /// Fires `timer` at `at` (or at the next tick, if `at` has passed).
    pub fn schedule(&mut self, at: Duration, timer: Timer) {
        self.seq += 1;
        self.heap.push(Reverse(Due { at, seq: self.seq, timer }));
    }

    /// The earliest deadline, stale or not.
    pub fn next(&self) -> Option<Duration> {
        self.heap.peek().map(|Reverse(d)| d.at)
    }

    /// Removes and returns every timer due at `now`, earliest first.
    pub fn pop_due(&mut self, now: Duration) -> Vec<Timer> {
        let mut due = Vec::new();
        while self.heap.peek().is_some_and(|Reverse(d)| d.at <= now) {
            let Reverse(d) = self.heap.pop().expect("peeked");
            due.push(d.timer);
        }
        due
    }

    /// Timers held (stale ones included), for tests of boundedness.
    pub fn count(&self) -> usize {
        self.heap.len()
    }

    /// Keeps only the timers for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(Duration, &Timer) -> bool) {
        self.heap.retain(|Reverse(d)| keep(d.at, &d.timer));
        self.kept = self.heap.len();
    }
}

/// Timers held per thing alive before the heap is compacted.
const TIMERS_PER_ALIVE: usize = 4;
/// Timers always allowed, stale or not.
const TIMERS_SLACK: usize = 32;

impl State {
    /// Drops timers that no longer apply once they outnumber what is alive (and twice
    /// what the last compaction kept, so that a heap of timers that all apply is not
    /// scanned again and again). Dropping a stale timer changes nothing but a wake-up
    /// that would have done nothing.
    pub(super) fn compact_timers(&mut self) {
        let held = self.timers.count();
        let games: usize = self.rooms.values().map(|r| r.games.len()).sum();
        let alive = self.participants.len() + self.probes.len() + self.rooms.len() + games;
        if held <= TIMERS_PER_ALIVE * alive + TIMERS_SLACK || held < 2 * self.timers.kept {
            return;
        }
        let mut timers = std::mem::take(&mut self.timers);
        timers.retain(|_, timer| match timer {
            Timer::Away(pid) => self.expires_at(*pid).is_some(),
            Timer::Waitroom(scene, pid) | Timer::BotFill(scene, pid) | Timer::Reunion(scene, pid) => {
                self.rooms.get(scene).is_some_and(|r| r.entries.contains_key(pid))
            }
            Timer::Game(scene, game) => self.rooms.get(scene).is_some_and(|r| r.games.contains_key(game)),
            Timer::Probe(id) => self.probes.contains_key(id),
            Timer::Ready(scene, id) => self.rooms.get(scene).is_some_and(|r| r.pending.contains_key(id)),
            Timer::Linger(pid) => self.participants.contains_key(pid),
            // A few per room, or one per log budget.
            Timer::RoomTick(_) | Timer::Forget(_) | Timer::ForgetRtts | Timer::Status(_) | Timer::Suppressed(_) => true,
        });
        self.timers = timers;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_come_out_earliest_first_and_ties_in_scheduling_order() {
        let mut t = Timers::default();
        let s = Duration::from_secs;
        t.schedule(s(5), Timer::RoomTick(2));
        t.schedule(s(1), Timer::Status(1));
        t.schedule(s(1), Timer::RoomTick(1));
        t.schedule(s(9), Timer::Forget(0));
        assert_eq!(t.next(), Some(s(1)));
        assert_eq!(t.pop_due(s(0)), vec![]);
        assert_eq!(t.pop_due(s(5)), vec![Timer::Status(1), Timer::RoomTick(1), Timer::RoomTick(2)]);
        assert_eq!(t.next(), Some(s(9)));
        assert_eq!(t.count(), 1);
    }
}
