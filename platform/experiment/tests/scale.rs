//! Work proportional to change: coalesced status, no periodic policy calls for a
//! policy that does not depend on time, ended sessions evicted, timers bounded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{Harness, PAIR};
use crate::experiment::state::{Effect, Place};
use crate::matchmaking::{Candidate, Fifo, Matchmaker, PolicyError, WaitroomView};
use crate::protocol::{ClientMsg, ParticipantId, ServerMsg};

/// Groups of five, counts shown, one-second ticks, no probing.
const FIVES: &str = r#"
id: t
title: T
scenes:
  - id: play
    kind: multiplayer
    group_size: 5
    matchmaker: {tick_secs: 1}
    waitroom: {timeout_secs: 60, show_count: true}
    game: {module: experiments/games/demo.js, countdown_secs: 0, max_duration_secs: 100}
  - id: end
    kind: end
"#;

fn statuses(h: &Harness, pid: ParticipantId) -> Vec<Option<u32>> {
    h.sent(pid)
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::WaitingRoom { waiting, .. } => Some(waiting),
            _ => None,
        })
        .collect()
}

#[test]
fn a_burst_of_arrivals_sends_each_waiting_participant_one_status_per_tick() {
    let mut h = Harness::new(FIVES);
    let first = h.arrive();
    assert_eq!(statuses(&h, first), vec![Some(1)], "on entry, at once");
    h.wait(Duration::from_millis(1500)); // the first tick's status has gone out
    h.take();
    let others: Vec<ParticipantId> = (0..3).map(|_| h.arrive()).collect();
    // The first change after a quiet tick goes out at once; the rest of the burst
    // waits for the next tick (newcomers get their own entry status at once).
    assert_eq!(statuses(&h, first), vec![Some(2)]);
    assert_eq!(statuses(&h, others[0]), vec![Some(2)]);
    assert_eq!(statuses(&h, others[1]), vec![Some(3)]);
    h.take();
    h.wait(Duration::from_secs(1));
    // One status each with the final count; the last arrival already knows it.
    assert_eq!(statuses(&h, first), vec![Some(4)]);
    assert_eq!(statuses(&h, others[0]), vec![Some(4)]);
    assert_eq!(statuses(&h, others[2]), vec![]);
    h.take();
    // Time alone is no change: nothing more is sent.
    h.wait(Duration::from_secs(10));
    assert!(others.iter().chain([&first]).all(|p| statuses(&h, *p).is_empty()));
}

/// FIFO that counts its calls.
struct Counting(Arc<AtomicUsize>);

impl Matchmaker for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    fn depends_on_time(&self) -> bool {
        false
    }
    fn find_match(
        &mut self,
        arriving: &Candidate,
        waiting: &WaitroomView<'_>,
        group_size: usize,
    ) -> Result<Option<Vec<ParticipantId>>, PolicyError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(Fifo::group(arriving, waiting, group_size))
    }
}

#[test]
fn a_policy_that_does_not_depend_on_time_is_not_asked_again_while_nothing_changes() {
    let mut h = Harness::new(FIVES);
    let calls = Arc::new(AtomicUsize::new(0));
    h.state.set_policy(0, Box::new(Counting(calls.clone())));
    for _ in 0..4 {
        h.arrive();
    }
    assert_eq!(calls.load(Ordering::Relaxed), 4, "asked once per arrival");
    h.wait(Duration::from_secs(30));
    assert_eq!(calls.load(Ordering::Relaxed), 4, "30 idle ticks ask nothing");
    let fifth = h.arrive();
    assert!(matches!(h.place(fifth), Place::Playing(..)), "the fifth arrival completes the group");
    assert_eq!(calls.load(Ordering::Relaxed), 5);
}

#[test]
fn a_policy_that_depends_on_time_is_asked_for_everyone_on_each_tick() {
    struct Timed(Arc<AtomicUsize>);
    impl Matchmaker for Timed {
        fn name(&self) -> &str {
            "timed"
        }
        fn find_match(
            &mut self,
            _: &Candidate,
            _: &WaitroomView<'_>,
            _: usize,
        ) -> Result<Option<Vec<ParticipantId>>, PolicyError> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Ok(None)
        }
    }
    let mut h = Harness::new(FIVES);
    let calls = Arc::new(AtomicUsize::new(0));
    h.state.set_policy(0, Box::new(Timed(calls.clone())));
    for _ in 0..3 {
        h.arrive();
    }
    h.wait(Duration::from_millis(2500));
    // 3 arrivals + 2 ticks × 3 waiting.
    assert_eq!(calls.load(Ordering::Relaxed), 3 + 2 * 3);
}

#[test]
fn an_ended_session_without_a_connection_keeps_only_a_compact_record_and_is_recognised() {
    let mut h = Harness::new(PAIR);
    let p = h.arrive();
    h.send(p, ClientMsg::LeaveWaitroom { seq: None });
    assert!(matches!(h.place(p), Place::Over(..)));
    assert_eq!(h.state.live_session_count(), 1, "still connected: held in full");
    h.disconnect(p);
    assert_eq!(h.state.live_session_count(), 0, "evicted");
    assert_eq!(h.state.session_count(), 1, "but still counted and recognised");
    h.take();
    h.reconnect(p);
    let shown = h.take();
    let outcome = shown.iter().any(|e| matches!(e, Effect::Send { msg: ServerMsg::Outcome { .. }, .. }));
    assert!(outcome, "the same outcome again: {shown:?}");
    assert!(matches!(h.place(p), Place::Over(..)));
}

#[test]
fn timers_stay_bounded_under_reconnect_churn() {
    let mut h = Harness::new(PAIR);
    let people: Vec<ParticipantId> = (0..20).map(|_| h.arrive()).collect();
    for round in 0..200 {
        let p = people[round % people.len()];
        if h.conn_of.contains_key(&p) {
            h.disconnect(p);
        } else {
            h.reconnect(p);
        }
        h.wait(Duration::from_secs(1));
    }
    // Each timer is dropped once its time passes: what is held is what the last grace
    // and timeout periods scheduled, not the history.
    assert!(h.state.timer_count() < 200, "{} timers held", h.state.timer_count());
}

#[test]
fn an_end_page_left_open_is_closed_after_a_while_and_the_end_shown_again_on_return() {
    let mut h = Harness::new(PAIR);
    let p = h.arrive();
    h.send(p, ClientMsg::LeaveWaitroom { seq: None });
    assert!(matches!(h.place(p), Place::Over(..)));
    let conn = h.conn_of[&p];
    h.take();
    h.wait(crate::experiment::sessions::LINGER - Duration::from_secs(1));
    assert!(!h.take().iter().any(|e| matches!(e, Effect::Close { .. })), "shown for a while first");
    h.wait(Duration::from_secs(2));
    assert!(h.take().contains(&Effect::Close { conn }), "then its socket is closed");
    h.disconnect(p);
    assert_eq!(h.state.live_session_count(), 0, "and the ended session evicted");
    h.reconnect(p);
    assert!(h.take().iter().any(|e| matches!(e, Effect::Send { msg: ServerMsg::Outcome { .. }, .. })));
}
