//! The in-game cells of the place × event table, groups larger than two, and the
//! countdown.

use super::cells::{has, proposed};
use super::{Harness, PAIR, secs};
use crate::eventlog::Event;
use crate::experiment::state::Place;
use crate::protocol::{ClientMsg, ErrorCode, GameId, OutcomeReason, ServerMsg};
use serde_json::json;

fn inputs(game: GameId, from: u64, moves: &[&str]) -> ClientMsg {
    let inputs = moves.iter().map(|m| if m.is_empty() { json!(null) } else { json!(m) }).collect();
    ClientMsg::GameInputs { game, from, inputs, hashes: Vec::new(), seq: None }
}

fn complete(game: GameId, tick: u64, hash: &str) -> ClientMsg {
    let result = Some(json!({"score": 3}));
    ClientMsg::GameComplete { game, result, tick: Some(tick), hash: Some(hash.into()), seq: None }
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
    h.send(b, inputs(game, 0, &["up", "up"]));
    assert_eq!(h.game_of(a), Some(game), "the game waits through the grace period");
    h.reconnect(a);
    let caught_up = |m: &ServerMsg| {
        matches!(m, ServerMsg::StartGame { game: g, inputs, slot, .. }
        if *g == game && inputs[1 - *slot] == vec![json!("up"), json!("up")])
    };
    assert!(has(&h.sent(a), caught_up), "start_game again, with the partner's inputs so far");
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
    h.send(a, complete(game, 40, "abc"));
    assert!(h.game_of(a).is_some(), "waits for every player");
    h.send(b, complete(game, 40, "abc"));
    assert_eq!((h.place(a), h.place(b)), (Place::Finished(1), Place::Finished(1)));
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::GameEnd { reason, .. } if reason == "completed")));
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

// ---- lockstep inputs ----

#[test]
fn inputs_are_logged_and_forwarded_only_once_the_group_plays_over_the_relay() {
    let (mut h, a, b, game) = playing();
    h.send(a, inputs(game, 0, &["", "up"]));
    assert!(!has(&h.sent(b), |m| matches!(m, ServerMsg::GameInputs { .. })), "peer-to-peer: nothing relayed");
    let logged = |h: &Harness| h.log.iter().filter(|(_, e)| matches!(e, Event::GameInputs { .. })).count();
    assert_eq!(logged(&h), 1);
    // b's channel failed: b gets a's inputs from tick 1, and both are told.
    h.send(b, ClientMsg::GameRelay { game, need: 1, seq: None });
    let sent_b = h.sent(b);
    assert!(has(&sent_b, |m| matches!(m, ServerMsg::GameRelay { .. })));
    assert!(has(
        &sent_b,
        |m| matches!(m, ServerMsg::GameInputs { from: 1, inputs, .. } if *inputs == vec![json!("up")])
    ));
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::GameRelay { .. })));
    h.send(b, ClientMsg::GameRelay { game, need: 2, seq: None });
    let switches = h.log.iter().filter(|(_, e)| matches!(e, Event::GameRelay { .. })).count();
    assert_eq!(switches, 1, "the switch is logged once");
    h.take();
    // A resend overlapping what the host holds forwards only what is new.
    h.send(a, inputs(game, 1, &["up", "left"]));
    let forwarded: Vec<ServerMsg> =
        h.sent(b).into_iter().filter(|m| matches!(m, ServerMsg::GameInputs { .. })).collect();
    assert!(
        matches!(&forwarded[..], [ServerMsg::GameInputs { from: 2, inputs, .. }] if *inputs == vec![json!("left")])
    );
    assert!(h.log.iter().any(|(_, e)| matches!(e, Event::GameInputs { relayed: true, from: 2, .. })));
}

#[test]
fn bad_inputs_end_the_senders_game_and_the_partner_moves_on() {
    for bad in [inputs(GameId(uuid::Uuid::nil()), 5, &["up"]), inputs(GameId(uuid::Uuid::nil()), 0, &["up"; 65])] {
        let (mut h, a, b, game) = playing();
        let bad = match bad {
            ClientMsg::GameInputs { from, inputs, hashes, seq, .. } => {
                ClientMsg::GameInputs { game, from, inputs, hashes, seq }
            }
            other => other,
        };
        h.send(a, bad);
        assert_eq!(h.place(a), Place::Over(0, OutcomeReason::InvalidInput));
        assert_eq!(h.place(b), Place::Over(0, OutcomeReason::PartnerLeft));
        assert!(h.log.iter().any(|(_, e)| matches!(e, Event::Refused { message, .. } if message == "game_inputs")));
    }
}

#[test]
fn inputs_far_ahead_of_the_game_clock_are_refused() {
    let (mut h, a, _, game) = playing();
    let far = vec![json!(null); 64];
    let mut from = 0;
    // 20 ticks/s: after 2 s the clock allows about 2 + 5 s of ticks plus the delay.
    h.wait(secs(2));
    while from < 150 {
        h.send(a, ClientMsg::GameInputs { game, from, inputs: far.clone(), hashes: Vec::new(), seq: None });
        from += 64;
    }
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::InvalidInput));
}

#[test]
fn copies_whose_hashes_differ_end_the_game_as_a_desync() {
    let (mut h, a, b, game) = playing();
    let with_hash = |hash: &str| ClientMsg::GameInputs {
        game,
        from: 0,
        inputs: vec![json!(null); 20],
        hashes: vec![(19, hash.to_owned())],
        seq: None,
    };
    h.send(a, with_hash("aaaa"));
    assert!(h.game_of(a).is_some(), "one report alone decides nothing");
    h.send(b, with_hash("bbbb"));
    assert_eq!((h.place(a), h.place(b)), (Place::Finished(1), Place::Finished(1)), "both move on");
    assert!(has(&h.sent(a), |m| matches!(m, ServerMsg::GameEnd { reason, .. } if reason == "desync")));
    let desync = h.log.iter().find_map(|(_, e)| match e {
        Event::GameDesync { tick, hashes, .. } => Some((*tick, hashes.clone())),
        _ => None,
    });
    let (tick, mut hashes) = desync.expect("the desync is logged");
    hashes.sort();
    assert_eq!((tick, hashes), (19, vec![Some("aaaa".into()), Some("bbbb".into())]));
}

#[test]
fn copies_that_end_differently_are_a_desync() {
    let (mut h, a, b, game) = playing();
    h.send(a, complete(game, 40, "abc"));
    h.send(b, complete(game, 41, "abc"));
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::GameEnd { reason, .. } if reason == "desync")));
}

#[test]
fn a_hidden_page_is_logged_and_its_partner_told() {
    let (mut h, a, b, game) = playing();
    h.send(a, ClientMsg::Visibility { hidden: true, seq: None });
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::PartnerVisibility { hidden: true, game: g, .. } if *g == game)));
    assert!(h.log.iter().any(
        |(_, e)| matches!(e, Event::Visibility { participant, hidden: true, game: Some(_) } if *participant == a)
    ));
}

#[test]
fn the_pair_may_signal_during_the_countdown() {
    let mut h =
        Harness::new(&PAIR.replace("    max_p2p_rtt_ms: 80\n", "").replace("countdown_secs: 0", "countdown_secs: 3"));
    let (a, b) = (h.arrive(), h.arrive());
    let game = h.game_of(a).expect("matched");
    h.send(a, ClientMsg::GameSignal { game, to: b, signal: json!({"sdp": "offer"}), seq: None });
    assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::GameSignal { from, .. } if *from == a)));
    h.send(a, inputs(game, 0, &["up"]));
    assert!(
        has(&h.sent(a), |m| matches!(m, ServerMsg::Error { code: ErrorCode::InvalidState, .. })),
        "inputs wait for the start"
    );
}

#[test]
fn catch_ups_are_limited_so_a_page_cannot_make_the_host_resend_the_game_in_a_loop() {
    let (mut h, a, b, game) = playing();
    h.send(a, inputs(game, 0, &["up", "up", "up"]));
    let catch_ups = |h: &mut Harness| h.sent(b).iter().filter(|m| matches!(m, ServerMsg::GameInputs { .. })).count();
    h.send(b, ClientMsg::GameRelay { game, need: 0, seq: None });
    assert_eq!(catch_ups(&mut h), 1);
    h.take();
    for _ in 0..10 {
        h.send(b, ClientMsg::GameRelay { game, need: 0, seq: None });
    }
    assert_eq!(catch_ups(&mut h), 0, "asked again at once: nothing resent");
    h.wait(secs(1));
    h.take();
    h.send(b, ClientMsg::GameRelay { game, need: 1, seq: None });
    assert_eq!(catch_ups(&mut h), 1, "a second later, what is missing");
}
