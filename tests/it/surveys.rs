//! Surveys through the real host: every question kind answered validly and invalidly,
//! randomized orders as logged, display logic within a page and across scenes, a
//! comprehension check failed twice then passed, and the export of all of it.

use std::collections::BTreeMap;

use cohort::client::{Client, ClientError};
use cohort::eventlog::Event;
use cohort::protocol::{Answer, QuestionKind, QuestionView, SceneView};

use crate::support::{TestHost, export_with_pilots};

fn answers(pairs: &[(&str, Answer)]) -> BTreeMap<String, Answer> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn refused_fields(result: Result<(), ClientError>) -> BTreeMap<String, String> {
    match result {
        Err(ClientError::Refused { fields, .. }) => fields,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn question<'a>(questions: &'a [QuestionView], id: &str) -> &'a QuestionView {
    questions.iter().find(|q| q.id == id).unwrap_or_else(|| panic!("no question {id}"))
}

fn options(q: &QuestionView) -> Vec<String> {
    match &q.kind {
        QuestionKind::Dropdown { options } | QuestionKind::Rank { options } => options.clone(),
        QuestionKind::Matrix { items, .. } => items.iter().map(|i| i.id.clone()).collect(),
        other => panic!("{other:?}"),
    }
}

fn s(text: &str) -> Answer {
    Answer::Text(text.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_question_kind_a_check_and_display_logic_through_the_host_and_the_export() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/instruments.yaml"], data.path(), |_| {}).await;
    let mut c = Client::connect(&host.addr, "instruments", &[("PROLIFIC_PID", "p-instr")], None).await.unwrap();
    let pid = c.welcome.participant;

    // The check: wrong twice (the second time after `try_again`), back to the rules, then right.
    c.next_scene().await.unwrap();
    c.advance("rules").await.unwrap();
    let (_, scene) = c.next_scene().await.unwrap();
    assert!(matches!(&scene, SceneView::Survey { try_again: None, .. }), "{scene:?}");
    c.submit("quiz", answers(&[("red", s("go")), ("word", s("Red"))])).await.unwrap();
    let (_, scene) = c.next_scene().await.unwrap();
    let SceneView::Survey { try_again: Some(_), questions, .. } = &scene else { panic!("{scene:?}") };
    assert_eq!(question(questions, "red").wrong.as_deref(), Some("Red means stop."));
    assert_eq!(question(questions, "word").wrong, None, "`Red` matches `red`: case does not count");
    c.submit("quiz", answers(&[("red", s("go")), ("word", s("red"))])).await.unwrap();
    let (_, scene) = c.next_scene().await.unwrap();
    assert!(matches!(scene, SceneView::Instructions { .. }), "out of tries: back to the rules");
    c.advance("rules").await.unwrap();
    c.next_scene().await.unwrap();
    c.submit("quiz", answers(&[("red", s("stop")), ("word", s(" red "))])).await.unwrap();

    // Every kind; options and items in the order the log holds.
    let (_, scene) = c.next_scene().await.unwrap();
    let SceneView::Survey { questions, .. } = &scene else { panic!("{scene:?}") };
    let drawn = host
        .events("instruments")
        .into_iter()
        .find_map(|e| match e {
            Event::OrderDrawn { participant, scene, orders, .. } if participant == pid && scene == "about" => {
                Some(orders)
            }
            _ => None,
        })
        .expect("the orders are logged");
    for id in ["country", "tipi", "prefer"] {
        assert_eq!(options(question(questions, id)), drawn[id], "{id}: the page's order is the logged one");
    }
    assert!(question(questions, "per_day").show_if.is_some(), "the page decides `per_day` as `smoke` is answered");
    let ratings = |pairs: &[(&str, i64)]| Answer::Ratings(pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect());
    let bad = answers(&[
        ("age", Answer::Decimal(30.5)),
        ("height", Answer::Decimal(1.755)),
        ("trust", Answer::Integer(42)),
        ("country", s("Atlantis")),
        ("tipi", ratings(&[("extraverted", 8), ("calm", 3)])),
        ("prefer", Answer::Choices(vec!["tea".into(), "tea".into(), "water".into(), "juice".into()])),
        ("smoke", s("no")),
        ("per_day", Answer::Integer(3)),
    ]);
    let fields = refused_fields(c.submit("about", bad).await);
    let expected = [
        ("age", "a whole number"),
        ("height", "at most 2 digit(s) after the decimal point"),
        ("trust", "a position from 0 in steps of 5"),
        ("country", "not one of the options"),
        ("tipi", "`extraverted`: 8 is not a point from 1 to 7"),
        ("prefer", "an option is ranked twice"),
        ("per_day", "this question is not shown to you"),
    ];
    assert_eq!(fields, expected.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
    let good = answers(&[
        ("age", Answer::Integer(45)),
        ("height", Answer::Decimal(1.75)),
        ("trust", Answer::Integer(65)),
        ("country", s("Chile")),
        ("tipi", ratings(&[("extraverted", 6), ("critical", 2), ("calm", 5)])),
        ("prefer", Answer::Choices(vec!["water".into(), "tea".into(), "juice".into(), "coffee".into()])),
        ("smoke", s("yes")),
        ("per_day", Answer::Integer(4)),
        ("nickname", s(r#"<img src=x onerror=alert(1)> & "Bo""#)),
    ]);
    c.submit("about", good).await.unwrap();
    // Piped values: the participant's words as text, escaped in the HTML body.
    let (_, scene) = c.next_scene().await.unwrap();
    let SceneView::Instructions { title, html, .. } = &scene else { panic!("{scene:?}") };
    assert_eq!(title.as_deref(), Some(r#"Hello, <img src=x onerror=alert(1)> & "Bo""#), "a title is text to the page");
    assert_eq!(
        html,
        "<p>You put <strong>water, tea, juice, coffee</strong> in that order, &lt;img src=x onerror=alert(1)&gt; &amp; &quot;Bo&quot;. Calm: 5.</p>\n"
    );
    c.advance("hello").await.unwrap();
    // 45 ≥ 40: the follow-up scene is shown.
    let (_, scene) = c.next_scene().await.unwrap();
    let SceneView::Survey { id, questions, .. } = &scene else { panic!("{scene:?}") };
    assert_eq!(id, "older");
    assert_eq!(questions[0].prompt, "At 45, are you retired?");
    c.submit("older", answers(&[("retired", s("no"))])).await.unwrap();
    let (_, scene) = c.next_scene().await.unwrap();
    assert!(matches!(scene, SceneView::End { .. }));

    // A younger participant skips the follow-up.
    let mut d = Client::connect(&host.addr, "instruments", &[("PROLIFIC_PID", "p-young")], None).await.unwrap();
    d.next_scene().await.unwrap();
    d.advance("rules").await.unwrap();
    d.next_scene().await.unwrap();
    d.submit("quiz", answers(&[("red", s("stop")), ("word", s("red"))])).await.unwrap();
    let (_, scene) = d.next_scene().await.unwrap();
    let SceneView::Survey { questions, .. } = &scene else { panic!() };
    let young = answers(&[
        ("age", Answer::Integer(25)),
        ("trust", Answer::Integer(0)),
        ("country", s("Austria")),
        ("tipi", ratings(&[("extraverted", 1), ("critical", 1), ("calm", 1)])),
        ("prefer", Answer::Choices(options(question(questions, "prefer")))),
        ("smoke", s("no")),
    ]);
    d.submit("about", young).await.unwrap();
    let (_, scene) = d.next_scene().await.unwrap();
    assert!(
        matches!(&scene, SceneView::Instructions { title: Some(t), .. } if t == "Hello, "),
        "no nickname: {scene:?}"
    );
    d.advance("hello").await.unwrap();
    let (_, scene) = d.next_scene().await.unwrap();
    assert!(matches!(scene, SceneView::End { .. }), "25 < 40: no follow-up");
    host.stop().await;

    // The export: a row per matrix item, every attempt numbered, one row per graded attempt.
    let out = export_with_pilots(data.path(), "instruments").await;
    let dir = out.path().join("instruments");
    let mut rdr = csv::Reader::from_path(dir.join("answers.csv")).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (rid, question_, item, answer, attempt) =
        (col("recruitment_id"), col("question"), col("item"), col("answer"), col("attempt"));
    let mine: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[rid] == "p-instr").collect();
    let tipi: Vec<(String, String)> =
        mine.iter().filter(|r| &r[question_] == "tipi").map(|r| (r[item].to_owned(), r[answer].to_owned())).collect();
    assert_eq!(
        tipi,
        [("calm".into(), "5".into()), ("critical".into(), "2".into()), ("extraverted".into(), "6".into())]
    );
    let red: Vec<(String, String)> =
        mine.iter().filter(|r| &r[question_] == "red").map(|r| (r[attempt].to_owned(), r[answer].to_owned())).collect();
    assert_eq!(red, [("1".into(), "go".into()), ("2".into(), "go".into()), ("3".into(), "stop".into())]);
    let height = mine.iter().find(|r| &r[question_] == "height").map(|r| r[answer].to_owned());
    assert_eq!(height.as_deref(), Some("1.75"));
    let prefer = mine.iter().find(|r| &r[question_] == "prefer").map(|r| r[answer].to_owned());
    assert_eq!(prefer.as_deref(), Some(r#"["water","tea","juice","coffee"]"#));

    // The report draws the check: two failed attempts and two passed at attempt 1 and 3.
    let svg = tempfile::tempdir().unwrap();
    let report = crate::support::cohort_async([
        "report".as_ref(),
        data.path().join("instruments").as_os_str(),
        "--include-pilot".as_ref(),
        "--html".as_ref(),
        svg.path().join("report.html").as_os_str(),
        "--svg".as_ref(),
        svg.path().as_os_str(),
    ])
    .await;
    assert!(report.status.success(), "{}", crate::support::text(&report.stderr));
    let chart = std::fs::read_to_string(svg.path().join("instruments/check_quiz.svg")).expect("the check's chart");
    assert!(chart.contains("attempt 3") && chart.contains("passed"), "{chart}");

    let mut rdr = csv::Reader::from_path(dir.join("checks.csv")).unwrap();
    let checks: Vec<(String, String, String)> =
        rdr.records().map(Result::unwrap).map(|r| (r[1].to_owned(), r[5].to_owned(), r[6].to_owned())).collect();
    assert_eq!(
        checks,
        [
            ("p-instr".into(), "1".into(), "false".into()),
            ("p-instr".into(), "2".into(), "false".into()),
            ("p-instr".into(), "3".into(), "true".into()),
            ("p-young".into(), "1".into(), "true".into()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_answers_every_kind_passes_the_check_and_sees_a_follow_up_appear() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/instruments.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = crate::browser::run_script("surveys.mjs", &[&base]).await else { return };
    assert!(out.contains("PASS"), "{out}");
    let rank: Vec<String> = out
        .lines()
        .find_map(|l| l.strip_prefix("RANK "))
        .and_then(|j| serde_json::from_str(j).ok())
        .expect("the page printed its rank");
    let events = host.events("instruments");
    let about = events
        .iter()
        .find_map(|e| match e {
            Event::SurveyAnswered { scene, answers, .. } if scene == "about" => Some(answers.clone()),
            _ => None,
        })
        .expect("`about` answered");
    assert_eq!(about["age"], Answer::Integer(45));
    assert_eq!(about["per_day"], Answer::Integer(4));
    assert_eq!(about["country"], s("Chile"));
    assert_eq!(about["prefer"], Answer::Choices(rank), "the order the participant left is the answer");
    let Answer::Ratings(tipi) = &about["tipi"] else { panic!("{:?}", about["tipi"]) };
    assert_eq!(tipi.values().collect::<Vec<_>>(), [&5, &5, &5]);
    assert!(matches!(about["trust"], Answer::Integer(t) if t % 5 == 0), "the slider's answer: {:?}", about["trust"]);
    assert!(!about.contains_key("height"), "the optional question left empty is not answered");
    let graded: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            Event::CheckGraded { passed, .. } => Some(*passed),
            _ => None,
        })
        .collect();
    assert_eq!(graded, [false, false, true]);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_participant_page_passes_axe_core_and_works_by_keyboard() {
    let data = tempfile::tempdir().unwrap();
    let files = ["tests/fixtures/host/a11y.yaml", "tests/fixtures/host/a11y-wait.yaml"];
    let host = TestHost::start(&files, data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = crate::browser::run_script("a11y.mjs", &[&base]).await else { return };
    assert!(out.contains("PASS"), "{out}");
    assert!(out.contains("CHECKED 11:"), "every page was audited: {out}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_answer_every_kind_validly_and_skip_the_questions_their_answers_hide() {
    use cohort::bots::{self, Live, Plan, RunOptions};
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/bots-surveys.yaml"], data.path(), |_| {}).await;
    let plan = Plan { seed: 11, ..crate::support::bot_plan(&host, "bots-surveys") };
    let opts = RunOptions { count: 12, rate: None, spread: false, first_address: 0 };
    let summary = bots::run(plan, opts, std::sync::Arc::new(Live::default())).await;
    assert_eq!(summary.completed, 12, "{}", summary.text());
    assert!(!summary.text().contains("invalid_answers"), "{}", summary.text());
    let answered: Vec<BTreeMap<String, Answer>> = host
        .events("bots-surveys")
        .into_iter()
        .filter_map(|e| match e {
            Event::SurveyAnswered { scene, answers, .. } if scene == "about" => Some(answers),
            _ => None,
        })
        .collect();
    assert_eq!(answered.len(), 12);
    let smokers = answered.iter().filter(|a| a["smoke"] == s("yes")).count();
    assert!(smokers > 0 && smokers < 12, "both answers drawn: {smokers} of 12");
    for a in &answered {
        assert_eq!(a.contains_key("per_day"), a["smoke"] == s("yes"), "{a:?}");
    }
    host.stop().await;
}
