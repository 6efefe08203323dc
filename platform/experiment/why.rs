//! Why a participant is not matched yet: the last decisions that concerned each waiting
//! participant — what the policy answered and said, and the host's own reasons (the
//! pass budget ran out, the policy is restarting, a probe failed) — kept in memory
//! (five each), shown in `/admin/status.json`, and changed only when something new
//! happens: the same decision again only counts up.
//!
//! The policy's lines about a participant are logged the same way: identical lines on
//! consecutive decisions are counted, not written again, and the count is logged
//! (`policy_log` with `repeats`) when the lines change or the participant leaves the
//! waitroom.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use super::state::State;
use crate::protocol::ParticipantId;

/// Decisions kept per participant.
const KEPT: usize = 5;

/// One decision about a waiting participant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Why {
    /// Experiment time of the latest occurrence.
    #[serde(skip)]
    pub at: Duration,
    /// Most reasons are fixed texts: they are not allocated for each decision.
    pub reason: Cow<'static, str>,
    /// What the policy logged with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    /// How many more times the same decision was made since.
    #[serde(skip_serializing_if = "is_zero")]
    pub repeats: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A waiting participant's decisions, and the policy lines last logged about them.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub decisions: VecDeque<Why>,
    said: Option<(Vec<String>, u64)>,
}

impl Record {
    /// Notes a decision: a repeat of the last one only counts.
    pub fn note(&mut self, reason: Cow<'static, str>, lines: &[String], at: Duration) {
        if let Some(last) = self.decisions.back_mut()
            && last.reason == reason
            && last.lines == lines
        {
            last.repeats += 1;
            last.at = at;
            return;
        }
        if self.decisions.len() == KEPT {
            self.decisions.pop_front();
        }
        self.decisions.push_back(Why { at, reason, lines: lines.to_vec(), repeats: 0 });
    }
}

impl State {
    /// Records a decision about `pid` waiting in `scene`.
    pub(super) fn note_why(
        &mut self,
        scene: usize,
        pid: ParticipantId,
        reason: impl Into<Cow<'static, str>>,
        lines: &[String],
    ) {
        let now = self.now;
        if let Some(entry) = self.rooms.get_mut(&scene).and_then(|r| r.entries.get_mut(&pid)) {
            entry.why.note(reason.into(), lines, now);
        }
    }

    /// Logs the lines the policy said deciding about `pid`, unless they repeat the
    /// last ones (then they are counted).
    pub(super) fn log_decision_lines(&mut self, scene: usize, policy: String, pid: ParticipantId, lines: Vec<String>) {
        if lines.is_empty() {
            return;
        }
        let Some(entry) = self.rooms.get_mut(&scene).and_then(|r| r.entries.get_mut(&pid)) else {
            return self.log_policy_lines(scene, policy, pid, lines, 0);
        };
        match &mut entry.why.said {
            Some((said, repeats)) if *said == lines => *repeats += 1,
            said => {
                let before = said.replace((lines.clone(), 0));
                if let Some((old, repeats)) = before.filter(|(_, n)| *n > 0) {
                    self.log_policy_lines(scene, policy.clone(), pid, old, repeats);
                }
                self.log_policy_lines(scene, policy, pid, lines, 0);
            }
        }
    }

    /// A participant leaves the waitroom: the count of repeated lines is logged.
    pub(super) fn flush_repeats(&mut self, scene: usize, pid: ParticipantId, record: Record) {
        if let Some((lines, repeats)) = record.said.filter(|(_, n)| *n > 0) {
            let policy = self.rooms[&scene].policy.name().to_owned();
            self.log_policy_lines(scene, policy, pid, lines, repeats);
        }
    }
}

/// A waiting participant as `/admin/status.json` shows them.
#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    pub participant: ParticipantId,
    pub scene: String,
    pub waited_secs: f64,
    /// `available`, `away` (disconnected, within the grace period) or `probing`.
    pub state: &'static str,
    /// The last decisions about them, oldest first; `ago_secs` since the latest
    /// occurrence.
    pub decisions: Vec<(f64, Why)>,
}

/// Most waiting participants listed in a status (the longest waiting).
pub const LISTED: usize = 200;

/// Everyone waiting, longest first (at most [`LISTED`]).
pub fn waiting(state: &State, now: Duration) -> Vec<Waiting> {
    let mut all: Vec<Waiting> = state
        .rooms
        .iter()
        .flat_map(|(scene, room)| {
            let id = state.experiment.scenes[*scene].id().to_string();
            room.order.iter().filter_map(move |pid| {
                let e = room.entries.get(pid)?;
                Some(Waiting {
                    participant: *pid,
                    scene: id.clone(),
                    waited_secs: now.saturating_sub(e.candidate.joined_at).as_secs_f64(),
                    state: if !e.connected {
                        "away"
                    } else if let Some(pending) = e.pending {
                        // A pending match is probed, then (with one) ready-checked.
                        match room.pending.get(&pending) {
                            Some(p) if p.ready.is_some() => "ready_check",
                            _ => "probing",
                        }
                    } else if e.absent.is_some() {
                        "missed_ready_check"
                    } else {
                        "available"
                    },
                    decisions: e
                        .why
                        .decisions
                        .iter()
                        .map(|w| (now.saturating_sub(w.at).as_secs_f64(), w.clone()))
                        .collect(),
                })
            })
        })
        .collect();
    all.sort_by(|a, b| b.waited_secs.total_cmp(&a.waited_secs));
    all.truncate(LISTED);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_decision_counts_up_and_only_five_are_kept() {
        let mut r = Record::default();
        let t = Duration::from_secs;
        r.note("no group".into(), &["scanned 3".into()], t(1));
        r.note("no group".into(), &["scanned 3".into()], t(2));
        assert_eq!(r.decisions.len(), 1);
        assert_eq!((r.decisions[0].repeats, r.decisions[0].at), (1, t(2)));
        r.note("no group".into(), &["scanned 4".into()], t(3));
        assert_eq!(r.decisions.len(), 2, "other lines are another decision");
        for i in 0..10 {
            r.note(format!("reason {i}").into(), &[], t(4 + i));
        }
        assert_eq!(r.decisions.len(), KEPT);
        assert_eq!(r.decisions.back().map(|w| w.reason.as_ref()), Some("reason 9"));
    }
}
