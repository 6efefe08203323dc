//! Log budgets: refusals and policy lines over their budget are counted, not logged one
//! by one; a player over the game's input budget leaves the game.

use std::time::Duration;

use super::cells::has;
use super::{Harness, PAIR, secs};
use crate::eventlog::Event;
use crate::experiment::budget::{POLICY_LINES_PER_MIN, REFUSALS_PER_MIN};
use crate::experiment::state::Place;
use crate::matchmaking::{Candidate, Matchmaker, PolicyError, WaitroomView};
use crate::protocol::{ClientMsg, OutcomeReason, ParticipantId, ProbeId, ServerMsg};

fn count(h: &Harness, pred: impl Fn(&Event) -> bool) -> usize {
    h.log.iter().filter(|(_, e)| pred(e)).count()
}

#[test]
fn refusals_over_the_budget_are_counted_in_one_event_when_the_minute_is_over() {
    let mut h = Harness::new(PAIR);
    let a = h.arrive();
    let stranger = ProbeId("probe_not-yours".to_owned());
    for _ in 0..100 {
        h.send(a, ClientMsg::ProbeReady { probe: stranger.clone(), seq: None });
    }
    // Every message is still answered; the log holds the budget's worth.
    assert_eq!(h.sent(a).iter().filter(|m| matches!(m, ServerMsg::Error { .. })).count(), 100);
    assert_eq!(count(&h, |e| matches!(e, Event::Refused { .. })), REFUSALS_PER_MIN as usize);
    h.wait(secs(61));
    let suppressed = h.log.iter().find_map(|(_, e)| match e {
        Event::LogSuppressed { participant: Some(p), what, count, .. } if *p == a && what == "refused" => Some(*count),
        _ => None,
    });
    assert_eq!(suppressed, Some(100 - REFUSALS_PER_MIN));
    // A new minute, a new budget.
    h.send(a, ClientMsg::ProbeReady { probe: stranger, seq: None });
    assert_eq!(count(&h, |e| matches!(e, Event::Refused { .. })), REFUSALS_PER_MIN as usize + 1);
}

#[test]
fn a_player_over_the_input_budget_leaves_the_game_and_nothing_is_dropped_silently() {
    let mut h = Harness::new(
        &PAIR.replace("max_duration_secs: 100}", "max_duration_secs: 100, max_input_bytes_per_min: 1024}"),
    );
    let (a, b) = (h.arrive(), h.arrive());
    let probe = h.probes_of(a)[0].clone();
    h.measure(&probe, Some(10.0));
    let game = h.game_of(a).expect("playing");
    h.send(b, ClientMsg::GameRelay { game, need: 0, seq: None });
    let input = serde_json::json!("x".repeat(200));
    for from in [0, 2, 4] {
        let inputs = vec![input.clone(), input.clone()];
        h.send(a, ClientMsg::GameInputs { game, from, inputs, hashes: Vec::new(), seq: None });
    }
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::InputLimit));
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::GameEnd { reason, .. } if reason == "partner_left")));
    // What was relayed was logged: two batches fit, the third ended the game.
    assert_eq!(count(&h, |e| matches!(e, Event::GameInputs { .. })), 2);
    assert_eq!(h.sent(b).iter().filter(|m| matches!(m, ServerMsg::GameInputs { .. })).count(), 2);
}

/// A policy that logs a new line on every call (identical lines would only be
/// counted) and never groups anyone.
struct Chatty(u64);

impl Matchmaker for Chatty {
    fn name(&self) -> &str {
        "chatty"
    }
    fn find_match(
        &mut self,
        _: &Candidate,
        _: &WaitroomView<'_>,
        _: usize,
    ) -> Result<Option<Vec<ParticipantId>>, PolicyError> {
        Ok(None)
    }
    fn take_log(&mut self) -> Vec<String> {
        self.0 += 1;
        vec![format!("thinking about it ({})", self.0)]
    }
}

#[test]
fn a_chatty_policy_is_held_to_its_lines_per_minute() {
    let yaml = PAIR.replace("group_size: 2", "group_size: 16").replace("timeout_secs: 60}", "timeout_secs: 3600}");
    let mut h = Harness::new(&yaml);
    h.state.set_policy(0, Box::new(Chatty(0)));
    for _ in 0..15 {
        h.arrive();
    }
    // 15 waiting, each asked every second: 900 calls a minute, each with a line.
    h.wait(Duration::from_secs(600));
    let lines = count(&h, |e| matches!(e, Event::PolicyLog { .. })) as u64;
    let suppressed: u64 = h
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::LogSuppressed { scene: Some(_), what, count, .. } if what == "policy_log" => Some(*count),
            _ => None,
        })
        .sum();
    // Ten minutes and the start of an eleventh.
    assert!(lines <= 11 * POLICY_LINES_PER_MIN, "the log holds the budget per minute: {lines}");
    assert!(suppressed > 0);
    assert!(lines + suppressed >= 9 * 900, "every line is logged or counted: {lines} + {suppressed}");
}
