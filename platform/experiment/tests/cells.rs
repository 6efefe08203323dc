//! One test per cell of the place × event table for the waitroom places: waiting,
//! pending (proposed, probes not started), probing (probes running) × arrive, leave,
//! disconnect, reconnect, timeout, probe accepted, probe rejected, probe timed out.
//! The in-game cells and larger groups are in `games.rs`.

use super::{Harness, PAIR, secs};
use crate::experiment::state::Place;
use crate::protocol::{ClientMsg, ErrorCode, OutcomeReason, ServerMsg};

pub(super) fn has(msgs: &[ServerMsg], pred: impl Fn(&ServerMsg) -> bool) -> bool {
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

pub(super) fn proposed(started: bool) -> (Harness, crate::protocol::ParticipantId, crate::protocol::ParticipantId) {
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
fn probing_a_trio_then_every_silent_pair_is_timed_out_and_remembered() {
    let mut h = Harness::new(&PAIR.replace("group_size: 2", "group_size: 3"));
    let (a, b, c) = (h.arrive(), h.arrive(), h.arrive());
    assert_eq!(h.probes_of(a).len(), 2, "a trio: every pair probed");
    // One pair measures in time; the two pairs with c stay silent.
    let ab = h.probes_of(a).into_iter().find(|p| h.peers(p).contains(&b)).unwrap();
    h.measure(&ab, Some(10.0));
    h.wait(secs(15));
    let mut outcomes = h.probe_outcomes();
    outcomes.sort();
    assert_eq!(outcomes, ["accepted", "timed_out", "timed_out"], "no silent pair is merely aborted");
    assert!(h.avoids(a, c) && h.avoids(b, c), "both silent pairs are remembered");
    assert!(!h.avoids(a, b), "the pair that measured is not held against anyone");
}

#[test]
fn away_on_a_solo_scene_then_the_grace_passes_the_session_waits_until_its_max_duration() {
    let yaml = r#"
id: t
title: T
session: {reconnect_grace_secs: 30, max_duration_secs: 3600}
scenes:
  - {id: consent, kind: consent, body: Agree?}
  - {id: end, kind: end}
"#;
    let mut h = Harness::new(yaml);
    let p = h.arrive();
    h.wait(secs(60));
    h.disconnect(p);
    h.wait(secs(600)); // a laptop asleep for ten minutes
    assert_eq!(h.place(p), Place::Scene(0), "nobody waits on a consent page: no expiry after the grace");
    h.reconnect(p);
    h.disconnect(p);
    h.wait(secs(3000)); // past an hour since the session started
    assert_eq!(h.place(p), Place::Over(0, OutcomeReason::Expired));
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

#[test]
fn pending_or_probing_then_a_takeover_by_the_tabs_token_aborts_and_proposes_afresh() {
    for started in [false, true] {
        let (mut h, a, b) = proposed(started);
        let old = h.probes_of(a)[0].clone();
        h.reconnect(a); // same token, new socket, old socket not yet closed: a reload
        assert!(has(&h.sent(b), |m| matches!(m, ServerMsg::ProbeAbort { probe, .. } if *probe == old)));
        assert!(!h.avoids(a, b), "a reload is not held against the pair");
        let fresh = h.probes_of(a);
        assert_eq!(fresh.len(), 1, "proposed again at once");
        assert_ne!(fresh[0], old);
    }
}
