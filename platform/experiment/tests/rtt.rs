//! What the host knows of pairs' RTTs: a pair measured recently is not probed again
//! (`probe.cache_secs`), and `relax` raises the threshold as the group's longest-waiting
//! member waits — a pair whose probe failed is eligible again once its measured RTT
//! passes the raised threshold.

use super::{Harness, PAIR, secs};
use crate::eventlog::Event;
use crate::experiment::state::Place;
use crate::protocol::ParticipantId;

fn cached(h: &Harness) -> Vec<(ParticipantId, ParticipantId, f64, Option<f64>)> {
    h.log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::ProbeCached { offerer, answerer, rtt_ms, threshold_ms, .. } => {
                Some((*offerer, *answerer, *rtt_ms, *threshold_ms))
            }
            _ => None,
        })
        .collect()
}

fn started(h: &Harness) -> usize {
    h.log.iter().filter(|(_, e)| matches!(e, Event::ProbeStarted { .. })).count()
}

/// A trio whose pair a–b measured 30 ms while both pairs with c failed: a and b wait
/// again, with their RTT known.
fn trio_with_a_known_pair(yaml: &str) -> (Harness, ParticipantId, ParticipantId) {
    let mut h = Harness::new(yaml);
    let (a, b, c) = (h.arrive(), h.arrive(), h.arrive());
    assert_eq!(started(&h), 3);
    let ab = h.probes_of(a).into_iter().find(|p| h.peers(p).contains(&b)).unwrap();
    h.measure(&ab, Some(30.0));
    let ac = h.probes_of(a).into_iter().find(|p| h.peers(p).contains(&c)).unwrap();
    h.measure(&ac, Some(500.0));
    assert!(h.probes_of(a).is_empty() && h.probes_of(c).is_empty(), "the group was dropped");
    assert_eq!((h.place(a), h.place(b)), (Place::Waiting(0), Place::Waiting(0)));
    (h, a, b)
}

#[test]
fn a_pair_measured_recently_is_not_probed_again() {
    let trio = PAIR.replace("group_size: 2", "group_size: 3");
    let (mut h, a, b) = trio_with_a_known_pair(&trio);
    let before = started(&h);
    let d = h.arrive();
    assert_eq!(started(&h) - before, 2, "only the pairs with the newcomer are probed");
    assert_eq!(cached(&h), vec![(a, b, 30.0, Some(80.0))], "the known pair is logged as cached");
    for probe in h.probes_of(d) {
        h.measure(&probe, Some(20.0));
    }
    let game = h.game_of(a).expect("the group plays");
    assert_eq!(h.game_of(b), Some(game));
    assert_eq!(h.game_of(d), Some(game));
}

#[test]
fn cache_secs_zero_always_probes_and_an_old_measurement_is_not_reused() {
    let trio = PAIR.replace("group_size: 3", "").replace("group_size: 2", "group_size: 3");
    let off = trio.replace("failed_pair_memory_secs: 600", "failed_pair_memory_secs: 600, cache_secs: 0");
    let (mut h, _, _) = trio_with_a_known_pair(&off);
    let before = started(&h);
    h.arrive();
    assert_eq!(started(&h) - before, 3, "every pair probed");
    assert!(cached(&h).is_empty());

    let short = trio.replace("failed_pair_memory_secs: 600", "failed_pair_memory_secs: 600, cache_secs: 5");
    let (mut h, _, _) = trio_with_a_known_pair(&short);
    h.wait(secs(6));
    let before = started(&h);
    h.arrive();
    assert_eq!(started(&h) - before, 3, "measured 6 s ago, cached for 5: probed again");
}

#[test]
fn a_cached_rtt_that_fails_the_threshold_of_the_moment_is_measured_again() {
    // Without a memory of failures, a rejected pair is proposed again at once: its
    // cached 120 ms fails the 80 ms threshold, so it is probed afresh, not rejected
    // (nor accepted) from the cache.
    let yaml = PAIR.replace("failed_pair_memory_secs: 600", "failed_pair_memory_secs: 0");
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let first = h.probes_of(a)[0].clone();
    h.measure(&first, Some(120.0));
    let again = h.probes_of(a);
    assert_eq!(again.len(), 1, "probed again");
    assert_ne!(again[0], first);
    assert_eq!(h.peers(&again[0]).iter().filter(|p| **p == b).count(), 1);
    assert!(cached(&h).is_empty());
}

#[test]
fn relax_makes_a_failed_pair_eligible_once_its_rtt_passes_the_raised_threshold() {
    let yaml = PAIR.replace(
        "    probe: {",
        "    relax: [{after_secs: 20, max_p2p_rtt_ms: 100}, {after_secs: 40, max_p2p_rtt_ms: 150}]\n    probe: {",
    );
    let mut h = Harness::new(&yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let probe = h.probes_of(a)[0].clone();
    h.measure(&probe, Some(120.0));
    assert!(h.avoids(a, b), "rejected against 80 ms and remembered");
    h.wait(secs(25));
    assert!(h.avoids(a, b), "100 ms after 20 s is not enough for 120 ms");
    assert_eq!(h.place(a), Place::Waiting(0));
    h.wait(secs(20));
    // The longer-waiting of the two has waited 40 s: 150 ms, and 120 ms passes.
    let eligible: Vec<_> = h
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::PairEligible { rtt_ms, threshold_ms, .. } => Some((*rtt_ms, *threshold_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(eligible, vec![(120.0, 150.0)]);
    assert_eq!(cached(&h), vec![(a, b, 120.0, Some(150.0))], "grouped on the cached RTT, no new probe");
    assert_eq!(h.game_of(a), h.game_of(b));
    assert!(h.game_of(a).is_some());
}

#[test]
fn relax_raises_the_threshold_probes_are_judged_against_by_the_longest_wait() {
    let yaml = PAIR.replace("    probe: {", "    relax: [{after_secs: 30, max_p2p_rtt_ms: 150}]\n    probe: {");
    let mut h = Harness::new(&yaml);
    let a = h.arrive();
    h.wait(secs(35));
    let b = h.arrive(); // b has just come; a has waited 35 s
    let probe = h.probes_of(a)[0].clone();
    h.measure(&probe, Some(120.0));
    assert!(h.game_of(a).is_some() && h.game_of(a) == h.game_of(b), "judged against 150 ms");
    let threshold = h.log.iter().find_map(|(_, e)| match e {
        Event::ProbeFinished { threshold_ms, .. } => *threshold_ms,
        _ => None,
    });
    assert_eq!(threshold, Some(150.0), "the threshold applied is logged");
}

#[test]
fn what_is_known_of_a_pair_goes_with_its_participants() {
    // A rejected pair is remembered (failure and RTT) for minutes; once both have left
    // the waitroom for good, nothing of them is held, and a single timer at most.
    let mut h = Harness::new(PAIR);
    let (a, b) = (h.arrive(), h.arrive());
    let probe = h.probes_of(a)[0].clone();
    h.measure(&probe, Some(120.0));
    assert_eq!((h.state.rooms[&0].failed.len(), h.state.known_rtts.len()), (1, 1));
    h.wait(secs(61)); // both time out of the waitroom
    assert!(matches!(h.place(a), Place::Over(..)) && matches!(h.place(b), Place::Over(..)));
    assert!(h.state.rooms[&0].failed.is_empty() && h.state.known_rtts.is_empty());
    assert!(h.state.timer_count() <= 4, "{} timers", h.state.timer_count());
}

/// Two rounds, each a probed multiplayer scene; the second caches for `cache`.
fn two_rounds(cache: &str) -> String {
    let round = |id: &str, cache: &str| {
        format!(
            "  - id: {id}\n    kind: multiplayer\n    group_size: 2\n    max_p2p_rtt_ms: 80\n    probe: {{timeout_secs: 15{cache}}}\n    waitroom: {{timeout_secs: 60}}\n    game: {{module: experiments/games/demo.js, countdown_secs: 0, max_duration_secs: 100}}\n"
        )
    };
    format!("id: t\ntitle: T\nscenes:\n{}{}  - id: end\n    kind: end\n", round("one", ""), round("two", cache))
}

/// A pair plays the first round on a 30 ms probe and finishes it at `after`.
fn first_round_played(yaml: &str, after: std::time::Duration) -> (Harness, ParticipantId, ParticipantId) {
    let mut h = Harness::new(yaml);
    let (a, b) = (h.arrive(), h.arrive());
    let probe = h.probes_of(a)[0].clone();
    h.measure(&probe, Some(30.0));
    let game = h.game_of(a).expect("the first round plays");
    h.wait(after);
    for p in [a, b] {
        let result = Some(serde_json::json!({"score": 1}));
        h.send(
            p,
            crate::protocol::ClientMsg::GameComplete { game, result, tick: Some(9), hash: Some("h".into()), seq: None },
        );
    }
    (h, a, b)
}

#[test]
fn a_pair_measured_in_one_scene_is_not_probed_again_in_the_next() {
    let (h, a, b) = first_round_played(&two_rounds(""), secs(5));
    assert_eq!(started(&h), 1, "the second round reuses the first round's measurement");
    assert_eq!(cached(&h), vec![(a, b, 30.0, Some(80.0))]);
    let game = h.game_of(a).expect("the second round plays at once");
    assert_eq!(h.game_of(b), Some(game));
    assert_eq!(h.place(a), Place::Playing(1, game));
}

#[test]
fn the_reading_scene_decides_how_fresh_a_measurement_must_be() {
    // The second round reuses measurements for 3 s only: the pair's, 5 s old, is not.
    let (h, a, _) = first_round_played(&two_rounds(", cache_secs: 3"), secs(5));
    assert_eq!(started(&h), 2, "probed again in the second round");
    assert!(cached(&h).is_empty());
    assert_eq!(h.place(a), Place::Waiting(1));
}
