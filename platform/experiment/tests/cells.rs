//! One test per cell of the place × event table: waiting, pending (proposed, probes
//! not started), probing (probes running), in game × arrive, leave, disconnect,
//! reconnect, timeout, probe accepted, probe rejected, probe timed out.

use super::{Harness, PAIR, secs};
use crate::experiment::state::Place;
use crate::protocol::{ClientMsg, ErrorCode, OutcomeReason, ServerMsg};

fn has(msgs: &[ServerMsg], pred: impl Fn(&ServerMsg) -> bool) -> bool {
    msgs.iter().any(pred)
}

// ---- waiting (alone in the waitroom) ----

#[test]
fn waiting_then_someone_arrives_proposes_a_probed_pair() {
    let mut h = Harness::new(PAIR);
    let a = h.arrive();
    assert_eq!(h.place(a), Place::Waiting(0));
    let b = h.arrive();
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::ProbePrepare { peer, .. } if *peer == b)));
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::ProbePrepare { peer, .. } if *peer == a)));
    assert_eq!((h.place(a), h.place(b)), (Place::Waiting(0), Place::Waiting(0)), "candidates stay in the waitroom");
    assert!(!h.available(a) && !h.available(b), "not offered again while pending");
}

#[test]
fn waiting_then_leave_ends_with_the_leave_outcome() {
    let mut h = Harness::new(PAIR);
    let a = h.arrive();
    h.send(a, ClientMsg::LeaveWaitroom { seq: Some(4) });
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::LeftWaitroom));
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::Ack { seq: 4 })));
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::Outcome { reason: OutcomeReason::LeftWaitroom, .. })));
    let b = h.arrive();
    assert!(h.probes_of(b).is_empty(), "the one who left is not proposed");
}

#[test]
fn waiting_then_disconnect_keeps_the_place_but_not_in_proposals() {
    let mut h = Harness::new(PAIR);
    let a = h.arrive();
    h.disconnect(a);
    assert_eq!(h.place(a), Place::Waiting(0));
    let b = h.arrive();
    assert!(h.probes_of(b).is_empty(), "a disconnected participant is not proposed");
    h.reconnect(a);
    assert_eq!(h.probes_of(a).len(), 1, "back and asked for at once: proposed with b");
}

#[test]
fn waiting_then_reconnect_restores_place_and_waiting_time() {
    let mut h = Harness::new(PAIR);
    let a = h.arrive();
    h.wait(secs(20));
    h.disconnect(a);
    h.wait(secs(10));
    h.take();
    h.reconnect(a);
    let sent = h.sent(a);
    assert!(has(&sent, |m| matches!(
        m,
        ServerMsg::Scene { scene: crate::protocol::SceneView::Multiplayer { .. }, .. }
    )));
    assert!(
        has(
            &sent,
            |m| matches!(m, ServerMsg::WaitingRoom { remaining_secs, .. } if (*remaining_secs - 30.0).abs() < 1e-6)
        ),
        "the waitroom clock kept running: {sent:?}"
    );
}

#[test]
fn waiting_then_timeout_applies_the_configured_outcome() {
    let mut h = Harness::new(PAIR);
    let a = h.arrive();
    h.wait(secs(59));
    assert_eq!(h.place(a), Place::Waiting(0));
    h.take();
    h.wait(secs(1));
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::WaitroomTimeout));
    assert!(has(&h.sent(a), |m| matches!(
        m,
        ServerMsg::Outcome { reason: OutcomeReason::WaitroomTimeout, message: Some(_), .. }
    )));
}

#[test]
fn waiting_then_a_probe_message_without_a_probe_is_refused() {
    let mut h = Harness::new(PAIR);
    let a = h.arrive();
    h.take();
    let probe = crate::protocol::ProbeId("probe_nope".into());
    h.send(a, ClientMsg::ProbeResult { probe, rtt_ms: Some(1.0), error: None, seq: None });
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::Error { code: ErrorCode::NotAPeer, .. })));
    assert_eq!(h.place(a), Place::Waiting(0));
}

// ---- pending (proposed; probes prepared, not started) and probing (started) ----

fn proposed(started: bool) -> (Harness, crate::protocol::ParticipantId, crate::protocol::ParticipantId) {
    let mut h = Harness::new(PAIR);
    let a = h.arrive();
    let b = h.arrive();
    if started {
        let probe = h.probes_of(a)[0].clone();
        h.start_probe(&probe);
        assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::ProbeStart { .. })));
    }
    h.take();
    (h, a, b)
}

#[test]
fn pending_or_probing_then_someone_arrives_waits_for_them() {
    for started in [false, true] {
        let (mut h, a, _) = proposed(started);
        let c = h.arrive();
        assert!(h.probes_of(c).is_empty(), "pending candidates are not offered again");
        assert_eq!(h.place(c), Place::Waiting(0));
        assert_eq!(h.probes_of(a).len(), 1);
    }
}

#[test]
fn pending_or_probing_then_leave_aborts_and_frees_the_partner() {
    for started in [false, true] {
        let (mut h, a, b) = proposed(started);
        h.send(a, ClientMsg::LeaveWaitroom { seq: None });
        assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::ProbeAbort { .. })));
        assert!(h.probes_of(b).is_empty());
        assert!(h.available(b), "the partner is back in the pool at once");
        assert!(!h.avoids(a, b), "an aborted probe is not held against the pair");
        assert_eq!(h.probe_outcomes(), ["aborted"]);
    }
}

#[test]
fn pending_or_probing_then_disconnect_aborts_at_once() {
    for started in [false, true] {
        let (mut h, a, b) = proposed(started);
        h.disconnect(a);
        assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::ProbeAbort { .. })));
        assert!(h.available(b) && !h.available(a));
        assert_eq!(h.place(a), Place::Waiting(0), "still in the waitroom during the grace period");
        assert!(!h.avoids(a, b));
    }
}

#[test]
fn pending_or_probing_then_reconnect_is_proposed_again() {
    for started in [false, true] {
        let (mut h, a, b) = proposed(started);
        h.disconnect(a);
        h.reconnect(a);
        assert_eq!(h.probes_of(a).len(), 1, "a new probe for the same pair");
        assert_eq!(h.peers(&h.probes_of(a)[0]).iter().filter(|p| **p == b).count(), 1);
    }
}

#[test]
fn pending_or_probing_then_waitroom_timeout_waits_for_the_probe() {
    for started in [false, true] {
        let yaml = PAIR.replace("waitroom: {timeout_secs: 60}", "waitroom: {timeout_secs: 10}");
        let mut h = Harness::new(&yaml);
        let a = h.arrive();
        h.wait(secs(5));
        let b = h.arrive();
        let probe = h.probes_of(a)[0].clone();
        if started {
            h.start_probe(&probe);
        }
        h.wait(secs(6));
        assert_eq!(h.place(a), Place::Waiting(0), "a's timeout passed during the probe: deferred");
        h.report(a, &probe, Some(20.0));
        h.report(b, &probe, Some(30.0));
        if started {
            assert!(matches!(h.place(a), Place::Playing(..)), "the probe succeeded: they play");
        } else {
            assert!(
                has(&h.sent(a), |m| matches!(m, ServerMsg::Error { code: ErrorCode::InvalidState, .. })),
                "no result before probe_start"
            );
            h.wait(secs(20));
            assert_eq!(h.place(a), Place::Over(0, OutcomeReason::WaitroomTimeout), "timed out once the probe failed");
            assert_eq!(h.place(b), Place::Over(0, OutcomeReason::WaitroomTimeout));
        }
    }
}

#[test]
fn probing_then_accepted_creates_the_game() {
    let (mut h, a, b) = proposed(false);
    let probe = h.probes_of(a)[0].clone();
    h.measure(&probe, Some(80.0));
    let game = h.game_of(a).expect("equal to the threshold is accepted");
    assert_eq!(h.game_of(b), Some(game));
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::MatchFound { .. })));
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::StartGame { slot, .. } if *slot < 2)));
    assert_eq!(h.probe_outcomes(), ["accepted"]);
}

#[test]
fn probing_then_rejected_keeps_both_waiting_and_remembers_the_pair() {
    let (mut h, a, b) = proposed(false);
    let probe = h.probes_of(a)[0].clone();
    h.start_probe(&probe);
    h.report(a, &probe, Some(40.0));
    h.report(b, &probe, Some(80.5)); // the larger report decides
    assert_eq!((h.place(a), h.place(b)), (Place::Waiting(0), Place::Waiting(0)));
    assert!(h.avoids(a, b));
    assert!(h.probes_of(a).is_empty(), "not proposed again while remembered");
    let c = h.arrive();
    assert_eq!(h.probes_of(c).len(), 1, "the newcomer is matched with one of them");
    assert_eq!(h.probe_outcomes(), ["rejected"]);
}

#[test]
fn probing_then_no_rtt_is_rejected() {
    let (mut h, a, b) = proposed(false);
    let probe = h.probes_of(a)[0].clone();
    h.start_probe(&probe);
    h.report(a, &probe, Some(10.0));
    h.report(b, &probe, None);
    assert_eq!(h.probe_outcomes(), ["rejected"]);
    assert!(h.avoids(a, b));
}

#[test]
fn probing_then_timed_out_remembers_the_pair_and_tells_both() {
    let (mut h, a, b) = proposed(true);
    h.wait(secs(15));
    assert_eq!(h.probe_outcomes(), ["timed_out"]);
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::ProbeAbort { .. })));
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::ProbeAbort { .. })));
    assert!(h.avoids(a, b));
    assert_eq!((h.place(a), h.place(b)), (Place::Waiting(0), Place::Waiting(0)));
}

#[test]
fn the_memory_of_a_failed_pair_expires() {
    let yaml = PAIR
        .replace("failed_pair_memory_secs: 600", "failed_pair_memory_secs: 60")
        .replace("timeout_secs: 60}", "timeout_secs: 3600}");
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let probe = h.probes_of(a)[0].clone();
    h.measure(&probe, Some(500.0));
    assert!(h.avoids(a, b));
    h.wait(secs(59));
    assert!(h.avoids(a, b) && h.probes_of(a).is_empty(), "remembered for 60 s");
    h.wait(secs(2));
    assert!(!h.avoids(a, b));
    assert_eq!(h.probes_of(a).len(), 1, "proposed again once forgotten");
}

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
