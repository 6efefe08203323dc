//! The experiments random sequences run against (variations of [`PAIR`]), and the
//! failing policy one of them uses.

use std::time::Duration;

use super::{Harness, PAIR};
use crate::matchmaking::{Candidate, Fifo, Matchmaker, PolicyError, WaitroomView};
use crate::protocol::ParticipantId;

/// A policy that fails in every way a plugin can, in turn: a fault (then down until a
/// tick re-creates it), an invalid answer, otherwise FIFO; each call is expensive work,
/// so passes run out of budget.
#[derive(Default)]
pub struct Flaky {
    calls: u64,
    down: bool,
}

impl Matchmaker for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }

    fn find_match(
        &mut self,
        arriving: &Candidate,
        waiting: &WaitroomView<'_>,
        size: usize,
    ) -> Result<Option<Vec<ParticipantId>>, PolicyError> {
        self.calls += 1;
        if self.down {
            return Err(PolicyError::Unavailable);
        }
        match self.calls % 7 {
            0 => {
                self.down = true;
                Err(PolicyError::Trap("flaky".into()))
            }
            3 => Ok(Some(vec![arriving.id; size])),
            _ => Ok(Fifo::group(arriving, waiting, size)),
        }
    }

    fn recover(&mut self, _now: Duration) -> Option<Result<usize, PolicyError>> {
        std::mem::take(&mut self.down).then_some(Ok(0))
    }

    fn reset(&mut self) {
        self.down = true;
    }

    fn work(&self) -> u64 {
        self.calls * 3_000_000
    }

    fn take_log(&mut self) -> Vec<String> {
        vec![format!("call {}", self.calls % 3)]
    }
}

/// The experiments sequences run against: each a variation of [`PAIR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Pairs,
    Trios,
    /// Trios where a bot takes the seat of a player who left.
    BotSeat,
    /// Pairs that backfill a left seat, and a waitroom filled with bots after 30 s.
    Backfill,
    Countdown,
    /// Trios with short probe and waitroom timeouts and a countdown.
    TrioTimeouts,
    /// Pairs with a policy that faults, answers wrongly and spends its pass budget.
    FlakyPolicy,
    /// Probed trios with a ready-check whose absent members wait again.
    ReadyCheck,
    /// Pairs of two entry conditions grouped within their condition, with backfill
    /// and bot fill.
    Conditions,
    /// The same, one condition not told about bots: the host plays their bot seats
    /// and takes over seats of players who leave.
    Untold,
}

impl Variant {
    pub const ALL: [Variant; 10] = [
        Variant::Pairs,
        Variant::Trios,
        Variant::BotSeat,
        Variant::Backfill,
        Variant::Countdown,
        Variant::TrioTimeouts,
        Variant::FlakyPolicy,
        Variant::ReadyCheck,
        Variant::Conditions,
        Variant::Untold,
    ];

    pub fn yaml(self) -> String {
        match self {
            Variant::Pairs => PAIR.to_owned(),
            Variant::Trios => PAIR.replace("group_size: 2", "group_size: 3"),
            Variant::BotSeat => PAIR.replace("group_size: 2", "group_size: 3\n    on_dropout: bot"),
            Variant::Backfill => PAIR
                .replace("    max_p2p_rtt_ms: 80\n", "")
                .replace("group_size: 2", "group_size: 2\n    on_dropout: backfill\n    backfill_secs: 20")
                .replace("waitroom: {timeout_secs: 60}", "waitroom: {timeout_secs: 60, fill_with_bots_after_secs: 30}"),
            Variant::Countdown => PAIR.replace("countdown_secs: 0", "countdown_secs: 3"),
            Variant::TrioTimeouts => PAIR
                .replace("group_size: 2", "group_size: 3")
                .replace("timeout_secs: 15,", "timeout_secs: 4,")
                .replace("waitroom: {timeout_secs: 60}", "waitroom: {timeout_secs: 9}")
                .replace("countdown_secs: 0", "countdown_secs: 2"),
            Variant::ReadyCheck => PAIR.replace("group_size: 2", "group_size: 3").replace(
                "waitroom: {timeout_secs: 60}",
                "waitroom: {timeout_secs: 60, fill_with_bots_after_secs: 20, ready_check: {timeout_secs: 5, missed: waitroom}}",
            ),
            Variant::Conditions => Variant::Backfill
                .yaml()
                .replace("scenes:", "conditions:\n  entry: {list: [told, untold]}\nscenes:"),
            Variant::Untold => Variant::Conditions.yaml().replace(
                "fill_with_bots_after_secs: 30}",
                "fill_with_bots_after_secs: 30, tell_about_bots: {told: true, untold: false}}",
            ),
            Variant::FlakyPolicy => {
                PAIR.replace("group_size: 2", "group_size: 2\n    matchmaker: {pass_budget_ms: 1, tick_secs: 1}")
            }
        }
    }

    /// The policy the variant replaces the experiment's with, if any.
    pub fn policy(self) -> Option<Box<dyn Matchmaker>> {
        (self == Variant::FlakyPolicy).then(|| Box::new(Flaky::default()) as Box<dyn Matchmaker>)
    }

    /// A fresh harness for the variant.
    pub fn harness(self) -> Harness {
        let mut h = Harness::new(&self.yaml());
        self.arm(&mut h);
        h
    }

    /// Puts the variant's policy in `h`.
    pub fn arm(self, h: &mut Harness) {
        if let Some(policy) = self.policy() {
            h.state.set_policy(0, policy);
        }
    }
}
