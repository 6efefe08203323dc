//! Surveys as the host runs them: comprehension checks attempt by attempt (and across a
//! restart), display logic over game results and over the page's own answers, and
//! randomized orders kept through a restart.

use std::collections::BTreeMap;

use super::Harness;
use crate::eventlog::Event;
use crate::experiment::state::Place;
use crate::protocol::{Answer, ClientMsg, ErrorCode, OutcomeReason, ParticipantId, SceneView, ServerMsg};
use serde_json::json;

const STUDY: &str = r#"
id: t
title: T
recruitment: {completion_code: DONE-1, pay: {finished: 2.0}}
scenes:
  - id: rules
    kind: instructions
    body: Red means stop.
  - id: check
    kind: survey
    attempts: 2
    on_fail: {goto: rules}
    questions:
      - {id: red, kind: single_choice, prompt: Red?, options: [go, stop], correct: stop, feedback: Red means stop.}
      - {id: order, kind: rank, prompt: Order, options: [a, b, c, d, e, f], randomize: true}
  - id: play
    kind: multiplayer
    group_size: 2
    waitroom: {timeout_secs: 60}
    game: {module: experiments/games/demo.js, countdown_secs: 0, max_duration_secs: 100}
  - id: after
    kind: survey
    show_if: {value: "result:play.ticks", at_least: 5}
    questions:
      - {id: smoke, kind: single_choice, prompt: Smoke?, options: ["yes", "no"]}
      - {id: many, kind: number, prompt: How many?, show_if: {value: "answer:after.smoke", equals: "yes"}}
  - id: end
    kind: end
"#;

const STRICT: &str = r#"
id: s
title: S
recruitment: {completion_code: DONE-1, pay: {finished: 2.0, failed_check: 0.5}}
scenes:
  - id: attention
    kind: survey
    on_fail: {message: "Thank you; that is all.", completion_code: NOCHECK-1}
    questions:
      - kind: matrix
        id: grid
        prompt: How much do you agree?
        items: [{id: fun, text: It was fun}, {id: pick, text: Choose 2 here}]
        points: 5
        correct: {pick: 2}
  - id: end
    kind: end
"#;

fn scene(h: &Harness, pid: ParticipantId) -> SceneView {
    h.sent(pid)
        .into_iter()
        .rev()
        .find_map(|m| match m {
            ServerMsg::Scene { scene, .. } => Some(scene),
            _ => None,
        })
        .expect("a scene was sent")
}

fn submit(h: &mut Harness, pid: ParticipantId, scene: &str, answers: &[(&str, Answer)]) {
    let answers: BTreeMap<String, Answer> = answers.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    h.take();
    h.send(pid, ClientMsg::Submit { scene: scene.into(), answers, iteration: None, seq: Some(1) });
}

fn refusal(h: &Harness, pid: ParticipantId) -> Option<BTreeMap<String, String>> {
    h.sent(pid).into_iter().find_map(|m| match m {
        ServerMsg::Error { code: ErrorCode::InvalidAnswers, fields, .. } => Some(fields),
        _ => None,
    })
}

fn order(h: &Harness, pid: ParticipantId) -> Vec<String> {
    let SceneView::Survey { questions, .. } = scene(h, pid) else { panic!("not a survey") };
    let q = questions.iter().find(|q| q.id == "order").expect("the rank question");
    match &q.kind {
        crate::protocol::QuestionKind::Rank { options } => options.clone(),
        other => panic!("{other:?}"),
    }
}

fn rank(h: &Harness, pid: ParticipantId) -> Answer {
    Answer::Choices(order(h, pid))
}

#[test]
fn a_check_failed_twice_sends_back_to_the_instructions_then_passes_and_every_attempt_counts() {
    let mut h = Harness::new(STUDY);
    let a = h.arrive();
    h.send(a, ClientMsg::Advance { scene: "rules".into(), agreed: false, iteration: None, seq: None });
    let drawn = order(&h, a);
    let logged = h.log.iter().find_map(|(_, e)| match e {
        Event::OrderDrawn { participant, orders, .. } if *participant == a => Some(orders["order"].clone()),
        _ => None,
    });
    assert_eq!(logged.as_ref(), Some(&drawn), "the page shows the order the log holds");

    let order_a = rank(&h, a);
    submit(&mut h, a, "check", &[("red", Answer::Text("go".into())), ("order", order_a)]);
    assert_eq!(h.place(a), Place::Scene(1), "a try is left");
    let SceneView::Survey { try_again, questions, .. } = scene(&h, a) else { panic!() };
    assert!(try_again.is_some(), "the page says to try again");
    assert_eq!(questions[0].wrong.as_deref(), Some("Red means stop."), "the wrong question's feedback");
    assert_eq!(questions[1].wrong, None, "an ungraded question is not marked");
    assert_eq!(order(&h, a), drawn, "the same order on the second try");

    // A restart between tries keeps the count and the order.
    h.restart();
    h.reconnect(a);
    assert_eq!(order(&h, a), drawn, "the order survives a restart");
    let order_a = rank(&h, a);
    submit(&mut h, a, "check", &[("red", Answer::Text("go".into())), ("order", order_a)]);
    assert!(matches!(scene(&h, a), SceneView::Instructions { .. }), "out of tries: back to the instructions");
    h.send(a, ClientMsg::Advance { scene: "rules".into(), agreed: false, iteration: None, seq: None });
    let SceneView::Survey { try_again, .. } = scene(&h, a) else { panic!() };
    assert!(try_again.is_none(), "a fresh start after the instructions");
    let order_a = rank(&h, a);
    submit(&mut h, a, "check", &[("red", Answer::Text("stop".into())), ("order", order_a)]);
    assert_eq!(h.place(a), Place::Waiting(2), "passed: on to the game");

    let graded: Vec<(u32, bool)> = h
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::CheckGraded { attempt, passed, .. } => Some((*attempt, *passed)),
            _ => None,
        })
        .collect();
    assert_eq!(graded, [(1, false), (2, false), (3, true)], "each attempt numbered, never twice");
    let answered: Vec<u32> = h
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::SurveyAnswered { attempt, scene, .. } if scene == "check" => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(answered, [1, 2, 3], "every attempt's answers are logged with its number");
}

#[test]
fn an_attention_check_failed_ends_with_its_paid_outcome() {
    let mut h = Harness::new(STRICT);
    let a = h.arrive();
    submit(&mut h, a, "attention", &[("grid", Answer::Ratings([("fun".into(), 5), ("pick".into(), 4)].into()))]);
    assert_eq!(h.place(a), Place::Over(0, OutcomeReason::FailedCheck));
    let outcome = h.sent(a).into_iter().find_map(|m| match m {
        ServerMsg::Outcome { completion_code, message, .. } => Some((completion_code, message)),
        _ => None,
    });
    assert_eq!(outcome, Some((Some("NOCHECK-1".into()), Some("Thank you; that is all.".into()))));

    let b = h.arrive();
    submit(&mut h, b, "attention", &[("grid", Answer::Ratings([("fun".into(), 1), ("pick".into(), 2)].into()))]);
    assert!(matches!(h.place(b), Place::Finished(_)), "the attention item right: on");
}

/// Plays the game of `a` and `b` to its end, each reporting its own result (`ticks`).
fn play(h: &mut Harness, a: ParticipantId, b: ParticipantId, scores: [i64; 2]) {
    let game = h.game_of(a).expect("a game");
    for (pid, score) in [(a, scores[0]), (b, scores[1])] {
        let result = Some(json!({"ticks": score}));
        h.send(pid, ClientMsg::GameComplete { game, result, tick: Some(3), hash: Some("h".into()), seq: None });
    }
}

fn pass_check(h: &mut Harness, pid: ParticipantId) {
    h.send(pid, ClientMsg::Advance { scene: "rules".into(), agreed: false, iteration: None, seq: None });
    let order = rank(h, pid);
    submit(h, pid, "check", &[("red", Answer::Text("stop".into())), ("order", order)]);
}

#[test]
fn show_if_over_a_game_result_and_over_an_answer_on_the_same_page() {
    let mut h = Harness::new(STUDY);
    let (a, b) = (h.arrive(), h.arrive());
    pass_check(&mut h, a);
    pass_check(&mut h, b);
    h.take();
    play(&mut h, a, b, [9, 3]);
    assert!(matches!(h.place(b), Place::Finished(_)), "a result below 5 skips the follow-up survey");
    assert_eq!(h.place(a), Place::Scene(3), "a result of 9 is shown it");

    let SceneView::Survey { questions, .. } = scene(&h, a) else { panic!() };
    assert_eq!(questions[0].show_if, None);
    let rule = questions[1].show_if.as_ref().expect("the page decides `many` as `smoke` is answered");
    assert_eq!(serde_json::to_value(rule).unwrap(), json!({"value": "answer:after.smoke", "equals": "yes"}));

    submit(&mut h, a, "after", &[("smoke", Answer::Text("no".into())), ("many", Answer::Integer(3))]);
    let fields = refusal(&h, a).expect("refused");
    assert_eq!(fields.get("many").map(String::as_str), Some("this question is not shown to you"));
    submit(&mut h, a, "after", &[("smoke", Answer::Text("yes".into()))]);
    let fields = refusal(&h, a).expect("refused");
    assert_eq!(fields.get("many").map(String::as_str), Some("this question needs an answer"), "shown, so required");
    submit(&mut h, a, "after", &[("smoke", Answer::Text("yes".into())), ("many", Answer::Decimal(2.5))]);
    assert_eq!(refusal(&h, a).unwrap().get("many").map(String::as_str), Some("a whole number"));
    submit(&mut h, a, "after", &[("smoke", Answer::Text("yes".into())), ("many", Answer::Integer(4))]);
    assert!(matches!(h.place(a), Place::Finished(_)));
}

#[test]
fn a_game_ended_with_an_error_has_no_result_to_show_by() {
    let mut h = Harness::new(STUDY);
    let (a, b) = (h.arrive(), h.arrive());
    pass_check(&mut h, a);
    pass_check(&mut h, b);
    let game = h.game_of(a).expect("a game");
    for pid in [a, b] {
        let result = Some(json!({"error": "the module threw", "ticks": 9}));
        h.send(pid, ClientMsg::GameComplete { game, result, tick: Some(3), hash: Some("h".into()), seq: None });
    }
    assert!(matches!(h.place(a), Place::Finished(_)), "`{{error}}` is a missing result, not 9 ticks");
}

#[test]
fn sent_back_as_many_rounds_as_allowed_then_the_give_up_outcome() {
    let study = r#"
id: r
title: R
scenes:
  - {id: rules, kind: instructions, body: Red means stop.}
  - id: check
    kind: survey
    rounds: 1
    on_fail: {goto: rules}
    on_give_up: {message: "Thanks; that is all.", completion_code: GAVEUP-1}
    questions:
      - {id: red, kind: single_choice, prompt: Red?, options: [go, stop], correct: stop}
  - {id: end, kind: end}
"#;
    let mut h = Harness::new(study);
    let a = h.arrive();
    for round in 0..2 {
        h.send(a, ClientMsg::Advance { scene: "rules".into(), agreed: false, iteration: None, seq: None });
        submit(&mut h, a, "check", &[("red", Answer::Text("go".into()))]);
        if round == 0 {
            assert!(matches!(scene(&h, a), SceneView::Instructions { .. }), "sent back once");
        }
    }
    assert_eq!(h.place(a), Place::Over(1, OutcomeReason::FailedCheck), "the second round failed: given up");
    let code = h.sent(a).into_iter().find_map(|m| match m {
        ServerMsg::Outcome { completion_code, .. } => completion_code,
        _ => None,
    });
    assert_eq!(code.as_deref(), Some("GAVEUP-1"));
    // A restart and a return show the same end.
    h.restart();
    h.take();
    h.reconnect(a);
    let again = h.sent(a).into_iter().find_map(|m| match m {
        ServerMsg::Outcome { completion_code, .. } => completion_code,
        _ => None,
    });
    assert_eq!(again.as_deref(), Some("GAVEUP-1"));
}
