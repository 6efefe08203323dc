//! Scene wrappers: a block shown in an order of each participant's own (recorded), and
//! a repeated scene told apart by its iteration — in `scene`, `advance` / `submit`, the
//! log, and after a restart.

use std::collections::BTreeSet;

use super::Harness;
use crate::eventlog::Event;
use crate::experiment::state::Place;
use crate::protocol::{Answer, ClientMsg, ErrorCode, ParticipantId, ServerMsg};

const BLOCKS: &str = r#"
id: b
title: B
blocks:
  - {id: tasks, scenes: [a, b, c], randomize: true}
  - {id: rounds, scenes: [q], repeat: 3}
scenes:
  - {id: a, kind: instructions, body: A}
  - {id: b, kind: instructions, body: B}
  - {id: c, kind: instructions, body: C}
  - id: q
    kind: survey
    questions: [{id: x, kind: text, prompt: X}]
  - {id: end, kind: end}
"#;

/// The scene `pid` was last sent: its id and iteration.
fn current(h: &Harness, pid: ParticipantId) -> (String, u32) {
    h.sent(pid)
        .into_iter()
        .rev()
        .find_map(|m| match m {
            ServerMsg::Scene { scene, iteration, .. } => {
                let id = serde_json::to_value(&scene).ok()?["id"].as_str()?.to_owned();
                Some((id, iteration))
            }
            _ => None,
        })
        .expect("a scene")
}

fn route_of(h: &Harness, pid: ParticipantId) -> Vec<String> {
    h.log
        .iter()
        .find_map(|(_, e)| match e {
            Event::RouteAssigned { participant, route } if *participant == pid => Some(route.clone()),
            _ => None,
        })
        .expect("a route")
}

fn submit(h: &mut Harness, pid: ParticipantId, iteration: u32, text: &str) {
    let answers = [("x".to_owned(), Answer::Text(text.to_owned()))].into();
    h.send(
        pid,
        ClientMsg::Submit { scene: "q".into(), answers, iteration: Some(iteration), seq: Some(iteration.into()) },
    );
}

#[test]
fn a_randomized_block_follows_each_participants_recorded_order() {
    let mut h = Harness::new(BLOCKS);
    let mut orders = BTreeSet::new();
    for _ in 0..12 {
        let p = h.arrive();
        let route = route_of(&h, p);
        assert_eq!(route[3..], ["q", "q", "q", "end"], "the repeated block after the randomized one");
        let mut seen = Vec::new();
        for _ in 0..3 {
            let (id, iteration) = current(&h, p);
            assert_eq!(iteration, 1);
            seen.push(id.clone());
            h.send(p, ClientMsg::Advance { scene: id, agreed: false, iteration: Some(1), seq: None });
        }
        assert_eq!(seen, route[..3], "shown in the recorded order");
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(sorted, ["a", "b", "c"]);
        orders.insert(seen);
    }
    assert!(orders.len() >= 3, "orders differ between participants: {orders:?}");
}

#[test]
fn a_repeated_scene_counts_iterations_and_a_retried_submit_is_refused() {
    let mut h = Harness::new(BLOCKS);
    let p = h.arrive();
    for _ in 0..3 {
        let (id, _) = current(&h, p);
        h.send(p, ClientMsg::Advance { scene: id, agreed: false, iteration: None, seq: None });
    }
    assert_eq!(current(&h, p), ("q".to_owned(), 1));
    submit(&mut h, p, 1, "first");
    assert_eq!(current(&h, p), ("q".to_owned(), 2));
    h.take();
    submit(&mut h, p, 1, "first again"); // a retry of the first submit
    assert!(h.sent(p).iter().any(|m| matches!(m, ServerMsg::Error { code: ErrorCode::InvalidState, .. })));
    submit(&mut h, p, 2, "second");
    // After a restart the participant is back at the third round, not the first.
    h.restart();
    h.reconnect(p);
    assert_eq!(current(&h, p), ("q".to_owned(), 3));
    submit(&mut h, p, 3, "third");
    assert!(matches!(h.place(p), Place::Finished(_)));
    let answered: Vec<(u32, Answer)> = h
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::SurveyAnswered { answers, iteration, .. } => Some((*iteration, answers["x"].clone())),
            _ => None,
        })
        .collect();
    let texts = ["first", "second", "third"].map(|t| Answer::Text(t.to_owned()));
    assert_eq!(answered, vec![(1, texts[0].clone()), (2, texts[1].clone()), (3, texts[2].clone())]);
}
