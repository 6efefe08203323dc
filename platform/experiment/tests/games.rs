//! The in-game cells of the place × event table, groups larger than two, and the
//! countdown.

use super::cells::{has, proposed};
use super::{Harness, PAIR, secs};
use crate::experiment::state::Place;
use crate::protocol::{ClientMsg, ErrorCode, OutcomeReason, ServerMsg};

// ---- in game ----

fn playing() -> (Harness, crate::protocol::ParticipantId, crate::protocol::ParticipantId, crate::protocol::GameId) {
    let (mut h, a, b) = proposed(false);
    let probe = h.probes_of(a)[0].clone();
    h.measure(&probe, Some(10.0));
    let game = h.game_of(a).expect("playing");
    h.take();
    (h, a, b, game)
}

#[test]
fn in_game_then_someone_arrives_waits() {
    let (mut h, a, _, game) = playing();
    let c = h.arrive();
    assert_eq!(h.place(c), Place::Waiting(0));
    assert!(h.probes_of(c).is_empty());
    assert_eq!(h.game_of(a), Some(game));
}

#[test]
fn in_game_then_leave_waitroom_is_refused() {
    let (mut h, a, _, game) = playing();
    h.send(a, ClientMsg::LeaveWaitroom { seq: None });
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::Error { code: ErrorCode::InvalidState, .. })));
    assert_eq!(h.game_of(a), Some(game));
}

#[test]
fn in_game_then_disconnect_and_reconnect_resumes_the_game() {
    let (mut h, a, b, game) = playing();
    h.disconnect(a);
    h.send(b, ClientMsg::GameAction { game, action: serde_json::json!({"move": "up"}), seq: None });
    assert_eq!(h.game_of(a), Some(game), "the game waits through the grace period");
    h.reconnect(a);
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::StartGame { game: g, .. } if *g == game)));
}

#[test]
fn in_game_then_a_partner_staying_away_ends_it_with_the_partner_left_outcome() {
    let (mut h, a, b, _) = playing();
    h.disconnect(a);
    h.wait(secs(30));
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::Expired));
    assert_eq!(h.place(b), Place::Over(0, OutcomeReason::PartnerLeft));
    let sent = h.sent(b);
    assert!(has(&sent, |m| matches!(m, ServerMsg::GameEnd { reason, .. } if reason == "partner_left")));
    assert!(has(&sent, |m| matches!(m, ServerMsg::Outcome { reason: OutcomeReason::PartnerLeft, .. })));
}

#[test]
fn in_game_then_the_time_limit_moves_everyone_on() {
    let (mut h, a, b, _) = playing();
    h.wait(secs(100));
    assert_eq!((h.place(a), h.place(b)), (Place::Finished(1), Place::Finished(1)));
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::GameEnd { reason, .. } if reason == "time_limit")));
}

#[test]
fn in_game_then_completion_by_all_moves_everyone_on() {
    let (mut h, a, b, game) = playing();
    h.send(a, ClientMsg::GameComplete { game, result: Some(serde_json::json!({"score": 3})), seq: None });
    assert!(h.game_of(a).is_some(), "waits for every player");
    h.send(b, ClientMsg::GameComplete { game, result: None, seq: None });
    assert_eq!((h.place(a), h.place(b)), (Place::Finished(1), Place::Finished(1)));
}

#[test]
fn in_game_then_probe_messages_and_strangers_are_refused() {
    let (mut h, a, b, game) = playing();
    let c = h.arrive();
    h.take();
    h.send(c, ClientMsg::GameSignal { game, to: a, signal: serde_json::json!({"sdp": "x"}), seq: None });
    assert!(has(&h.sent(c), |m| matches!(m, ServerMsg::Error { code: ErrorCode::InvalidState, .. })));
    assert!(h.sent(a).is_empty(), "nothing reaches a from a stranger");
    h.send(a, ClientMsg::GameSignal { game, to: c, signal: serde_json::json!({}), seq: None });
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::Error { code: ErrorCode::NotAPeer, .. })));
    h.send(a, ClientMsg::GameSignal { game, to: b, signal: serde_json::json!({"sdp": "y"}), seq: None });
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::GameSignal { from, .. } if *from == a)));
}

// ---- groups larger than two ----

#[test]
fn a_trio_is_probed_pair_by_pair_and_one_bad_pair_drops_the_group() {
    let mut h = Harness::new(&PAIR.replace("group_size: 2", "group_size: 3"));
    let (a, b, c) = (h.arrive(), h.arrive(), h.arrive());
    let all: std::collections::BTreeSet<_> = [a, b, c].iter().flat_map(|p| h.probes_of(*p)).collect();
    assert_eq!(all.len(), 3, "n(n-1)/2 probes");
    let probes: Vec<_> = all.into_iter().collect();
    h.measure(&probes[0], Some(10.0));
    h.measure(&probes[1], Some(200.0));
    assert!(h.probes_of(a).is_empty() && h.probes_of(b).is_empty() && h.probes_of(c).is_empty());
    let mut outcomes = h.probe_outcomes();
    outcomes.sort();
    assert_eq!(outcomes, ["aborted", "accepted", "rejected"]);
    assert!([a, b, c].iter().all(|p| h.place(*p) == Place::Waiting(0)));
}

#[test]
fn a_trio_with_every_pair_accepted_plays() {
    let mut h = Harness::new(&PAIR.replace("group_size: 2", "group_size: 3"));
    let (a, b, c) = (h.arrive(), h.arrive(), h.arrive());
    let probes: std::collections::BTreeSet<_> = [a, b, c].iter().flat_map(|p| h.probes_of(*p)).collect();
    for p in &probes {
        h.measure(p, Some(30.0));
    }
    let game = h.game_of(a).expect("all pairs accepted");
    assert_eq!((h.game_of(b), h.game_of(c)), (Some(game), Some(game)));
}

#[test]
fn without_a_threshold_the_group_is_created_at_once() {
    let mut h = Harness::new(&PAIR.replace("    max_p2p_rtt_ms: 80\n", ""));
    let a = h.arrive();
    let b = h.arrive();
    assert!(h.probes_of(a).is_empty());
    assert!(h.game_of(a).is_some() && h.game_of(a) == h.game_of(b));
}

#[test]
fn a_countdown_delays_the_synchronized_start() {
    let mut h =
        Harness::new(&PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace("countdown_secs: 0", "countdown_secs: 3"));
    let a = h.arrive();
    let b = h.arrive();
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::MatchFound { countdown_secs, .. } if *countdown_secs == 3.0)));
    assert!(!has(&h.sent(a), |m| matches!(m, ServerMsg::StartGame { .. })));
    h.take();
    h.wait(secs(3));
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::StartGame { .. })));
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::StartGame { .. })));
}

#[test]
fn a_partner_lost_during_the_countdown_sends_the_other_back_to_the_waitroom() {
    let mut h =
        Harness::new(&PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace("countdown_secs: 0", "countdown_secs: 60"));
    let a = h.arrive();
    h.wait(secs(5));
    let b = h.arrive();
    h.disconnect(b);
    h.wait(secs(30));
    assert_eq!(h.place(b), Place::Over(0, OutcomeReason::Expired));
    assert_eq!(h.place(a), Place::Waiting(0), "the game never started: back to waiting");
    h.take();
    h.wait(secs(25));
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::WaitroomTimeout), "with the original waitroom deadline");
}
