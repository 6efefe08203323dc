//! Why a participant is not matched: the decisions kept per waiting participant, and
//! policy lines counted instead of repeated.

use std::time::Duration;

use super::{Harness, PAIR};
use crate::eventlog::Event;
use crate::matchmaking::{Candidate, Matchmaker, PolicyError, WaitroomView};
use crate::protocol::{ClientMsg, ParticipantId};

/// A policy that always waits and says the same thing about it.
struct Waits(Vec<String>);

impl Matchmaker for Waits {
    fn name(&self) -> &str {
        "waits"
    }

    fn find_match(
        &mut self,
        _: &Candidate,
        _: &WaitroomView<'_>,
        _: usize,
    ) -> Result<Option<Vec<ParticipantId>>, PolicyError> {
        self.0.push("nobody suits".to_owned());
        Ok(None)
    }

    fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.0)
    }
}

fn lines_logged(h: &Harness) -> Vec<(ParticipantId, Vec<String>, u64)> {
    h.log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::PolicyLog { arriving, lines, repeats, .. } => Some((*arriving, lines.clone(), *repeats)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_same_decision_is_counted_and_its_lines_are_logged_once_then_counted() {
    let mut h = Harness::new(PAIR);
    h.state.set_policy(0, Box::new(Waits(Vec::new())));
    let a = h.arrive();
    h.wait(Duration::from_secs(5)); // five ticks: asked again each time
    let why = super::super::why::waiting(&h.state, h.now);
    assert_eq!(why.len(), 1);
    assert_eq!(why[0].state, "available");
    let decisions: Vec<(String, Vec<String>, u64)> =
        why[0].decisions.iter().map(|(_, w)| (w.reason.to_string(), w.lines.clone(), w.repeats)).collect();
    assert_eq!(decisions.len(), 1, "one decision, repeated: {decisions:?}");
    assert_eq!(decisions[0].0, "the policy found no group");
    assert_eq!(decisions[0].1, ["nobody suits"]);
    assert!(decisions[0].2 >= 4, "{decisions:?}");
    // Logged once so far; the repeats are counted and written when they leave.
    assert_eq!(lines_logged(&h), vec![(a, vec!["nobody suits".to_owned()], 0)]);
    h.send(a, ClientMsg::LeaveWaitroom { seq: None });
    let logged = lines_logged(&h);
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[1].0, a);
    assert_eq!(logged[1].2, decisions[0].2, "the count of the same lines said again");
    assert!(super::super::why::waiting(&h.state, h.now).is_empty());
}

#[test]
fn a_failed_probe_is_a_reason_for_both_peers() {
    let mut h = Harness::new(PAIR);
    let (a, b) = (h.arrive(), h.arrive());
    let probe = h.probes_of(a).pop().expect("a probe");
    h.measure(&probe, Some(200.0));
    let why = super::super::why::waiting(&h.state, h.now);
    for w in &why {
        let reasons: Vec<&str> = w.decisions.iter().map(|(_, d)| d.reason.as_ref()).collect();
        let other = if w.participant == a { b } else { a };
        let expected = format!("the probe with {other} was rejected (200 ms); not grouped together for 600 s");
        assert!(reasons.contains(&expected.as_str()), "{reasons:?}");
    }
    assert_eq!(why.len(), 2);
}
