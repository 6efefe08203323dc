//! Log budgets: nobody can grow the event log without bound. Each source — a
//! participant's refused messages, a participant's game input, a room's policy lines —
//! may log so much per minute. Beyond it, refusals and policy lines are not logged one
//! by one: a single `log_suppressed` event counts them when the minute is over. Game
//! input is different, since dropping it would lose data: a player over their input
//! budget leaves the game (`input_limit`), and the others are told as for a partner who
//! left.

use std::collections::HashMap;
use std::time::Duration;

use super::state::State;
use super::timers::Timer;
use crate::eventlog::Event;
use crate::protocol::ParticipantId;

/// The interval budgets are counted over.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Refused messages of one participant logged per minute.
pub const REFUSALS_PER_MIN: u64 = 30;
/// Policy log lines of one room logged per minute, and their bytes.
pub const POLICY_LINES_PER_MIN: u64 = 600;
pub const POLICY_BYTES_PER_MIN: u64 = 256 * 1024;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Refusals(ParticipantId),
    GameInput(ParticipantId),
    /// The policy of the multiplayer scene at this index.
    PolicyLog(usize),
    /// The pass budget of the multiplayer scene at this index (one event a minute).
    PolicyBudget(usize),
}

/// One source's use of the current window.
#[derive(Debug, Default)]
pub struct Use {
    since: Duration,
    /// Units (events or lines) and bytes logged in this window.
    units: u64,
    bytes: u64,
    /// Units not logged in this window.
    suppressed: u64,
}

/// Every source's use.
#[derive(Debug, Default)]
pub struct Budgets {
    uses: HashMap<Source, Use>,
}

impl Budgets {
    /// Counts `units` and `bytes` for `source` at `now`; whether they fit in
    /// `max_units`/`max_bytes` for this window. What did not fit is counted as
    /// suppressed, and the first time in a window the caller must schedule the flush
    /// ([`Timer::Suppressed`]): `Err(Some(window end))`.
    pub fn take(
        &mut self,
        source: Source,
        (units, bytes): (u64, u64),
        (max_units, max_bytes): (u64, u64),
        now: Duration,
    ) -> Result<(), Option<Duration>> {
        let u = self.uses.entry(source).or_insert_with(|| Use { since: now, ..Use::default() });
        if now >= u.since + WINDOW && u.suppressed == 0 {
            *u = Use { since: now, ..Use::default() };
        }
        if u.units + units <= max_units && u.bytes + bytes <= max_bytes {
            u.units += units;
            u.bytes += bytes;
            return Ok(());
        }
        u.suppressed += units;
        Err((u.suppressed == units).then_some(u.since + WINDOW))
    }

    /// Ends `source`'s window: how many units were suppressed in it.
    pub fn close_window(&mut self, source: Source) -> u64 {
        self.uses.remove(&source).map_or(0, |u| u.suppressed)
    }

    /// Forgets a participant's budgets (their session is over), with what is still to
    /// be reported.
    pub fn forget(&mut self, pid: ParticipantId) -> Vec<(Source, u64)> {
        [Source::Refusals(pid), Source::GameInput(pid)]
            .into_iter()
            .map(|s| (s, self.close_window(s)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

impl State {
    /// Logs `event` if `source` has budget for it (`units`, `bytes`); otherwise counts
    /// it as suppressed.
    pub(super) fn log_within(
        &mut self,
        source: Source,
        cost: (u64, u64),
        max: (u64, u64),
        event: Event,
        now: Duration,
    ) {
        match self.budgets.take(source, cost, max, now) {
            Ok(()) => self.log(event),
            Err(Some(window_end)) => self.timers.schedule(window_end, Timer::Suppressed(source)),
            Err(None) => {}
        }
    }

    /// Logs a refused message of `pid`, within their budget.
    pub(super) fn log_refusal(&mut self, pid: ParticipantId, event: Event) {
        let now = self.now;
        self.log_within(Source::Refusals(pid), (1, 0), (REFUSALS_PER_MIN, u64::MAX), event, now);
    }

    /// Logs a policy's lines (scene at `scene`), within the room's budget.
    /// (`policy_log`, with the participant the call was about; nothing when empty).
    pub(super) fn log_policy_lines(
        &mut self,
        scene: usize,
        policy: String,
        about: ParticipantId,
        lines: Vec<String>,
        repeats: u64,
    ) {
        if lines.is_empty() {
            return;
        }
        let cost = (lines.len() as u64, lines.iter().map(|l| l.len() as u64).sum());
        let scene_id = self.experiment.scenes[scene].id().to_string();
        let event = Event::PolicyLog { scene: scene_id, policy, arriving: about, lines, repeats };
        let (now, max) = (self.now, (POLICY_LINES_PER_MIN, POLICY_BYTES_PER_MIN));
        self.log_within(Source::PolicyLog(scene), cost, max, event, now);
    }

    /// Counts `bytes` of game input of `pid`; false when it is over the game's budget.
    pub(super) fn game_input_fits(&mut self, pid: ParticipantId, bytes: u64, max_per_min: u64) -> bool {
        let now = self.now;
        let fits = self.budgets.take(Source::GameInput(pid), (1, bytes), (u64::MAX, max_per_min), now).is_ok();
        if !fits {
            self.budgets.close_window(Source::GameInput(pid)); // nothing is suppressed: they leave
        }
        fits
    }

    /// A window with suppressed events ended: one event counts them.
    pub(super) fn flush_suppressed(&mut self, source: Source) {
        let count = self.budgets.close_window(source);
        if count > 0 {
            self.log_suppressed(source, count);
        }
    }

    pub(super) fn log_suppressed(&mut self, source: Source, count: u64) {
        let (participant, scene, what) = match source {
            Source::Refusals(p) => (Some(p), None, "refused"),
            Source::GameInput(p) => (Some(p), None, "game_inputs"),
            Source::PolicyLog(scene) => (None, Some(self.experiment.scenes[scene].id().to_string()), "policy_log"),
            Source::PolicyBudget(scene) => {
                (None, Some(self.experiment.scenes[scene].id().to_string()), "policy_budget")
            }
        };
        self.log(Event::LogSuppressed { participant, scene, what: what.to_owned(), count });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_budget_per_window_and_the_rest_is_counted_once() {
        let mut b = Budgets::default();
        let s = Source::PolicyLog(0);
        let t = Duration::from_secs;
        assert_eq!(b.take(s, (2, 10), (3, 100), t(0)), Ok(()));
        assert_eq!(b.take(s, (1, 10), (3, 100), t(1)), Ok(()));
        assert_eq!(b.take(s, (1, 10), (3, 100), t(2)), Err(Some(t(60))), "the first excess asks for a flush");
        assert_eq!(b.take(s, (1, 10), (3, 100), t(3)), Err(None));
        assert_eq!(b.close_window(s), 2);
        assert_eq!(b.take(s, (1, 10), (3, 100), t(61)), Ok(()), "a new window");
        assert_eq!(b.take(s, (1, 95), (3, 100), t(62)), Err(Some(t(121))), "bytes count too");
    }
}
