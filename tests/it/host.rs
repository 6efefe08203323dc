//! The host through real WebSockets: scene flow, sessions, limits, shutdown.

use std::collections::BTreeMap;
use std::time::Duration;

use cohort::client::{Client, ClientError, Script};
use cohort::eventlog::Event;
use cohort::protocol::{Answer, ClientMsg, ErrorCode, OutcomeReason, SceneView, ServerMsg};

use crate::support::TestHost;

const WAIT: Duration = Duration::from_secs(10);

fn answers(pairs: &[(&str, Answer)]) -> BTreeMap<String, Answer> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn good_answers() -> BTreeMap<String, Answer> {
    answers(&[
        ("name", Answer::Text("Ada".into())),
        ("colour", Answer::Text("blue".into())),
        ("tools", Answer::Choices(vec!["pen".into(), "ink".into()])),
        ("mood", Answer::Integer(6)),
    ])
}

async fn refused(result: Result<(), ClientError>) -> (ErrorCode, BTreeMap<String, String>) {
    match result {
        Err(ClientError::Refused { code, fields, .. }) => (code, fields),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_walks_every_solo_scene_kind() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |_| {}).await;
    let mut c = Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "pid-walker")], None).await.unwrap();
    assert!(!c.welcome.resumed);

    let (index, scene) = c.next_scene().await.unwrap();
    assert_eq!(index, 0);
    let SceneView::Consent { html, .. } = &scene else { panic!("{scene:?}") };
    assert!(html.contains("<strong>agree</strong>"), "markdown is rendered: {html}");
    let refusal =
        c.request(|seq| ClientMsg::Advance { scene: "consent".into(), agreed: false, iteration: None, seq }).await;
    assert_eq!(refused(refusal).await.0, ErrorCode::MustAgree);
    c.advance("consent").await.unwrap();

    let (_, scene) = c.next_scene().await.unwrap();
    assert!(
        matches!(&scene, SceneView::Instructions { html, .. } if html == "<p>Read <em>this</em>.</p>"),
        "{scene:?}"
    );
    c.advance("intro").await.unwrap();

    let (_, scene) = c.next_scene().await.unwrap();
    let SceneView::Survey { questions, .. } = &scene else { panic!("{scene:?}") };
    assert_eq!(questions.len(), 5);
    // Server-side validation: every problem at once, nothing changes.
    let bad = answers(&[
        ("name", Answer::Text("far too long a name".into())),
        ("colour", Answer::Text("green".into())),
        ("tools", Answer::Choices(vec!["pen".into(), "ink".into(), "paper".into()])),
        ("mood", Answer::Integer(8)),
        ("bogus", Answer::Text("x".into())),
    ]);
    let (code, fields) = refused(c.submit("questions", bad).await).await;
    assert_eq!(code, ErrorCode::InvalidAnswers);
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["bogus", "colour", "mood", "name", "tools"]);
    let (code, fields) = refused(c.submit("questions", BTreeMap::new()).await).await;
    assert_eq!(code, ErrorCode::InvalidAnswers);
    assert_eq!(fields.len(), 4, "four required questions, the optional one is not flagged: {fields:?}");
    c.submit("questions", good_answers()).await.unwrap();

    let (index, scene) = c.next_scene().await.unwrap();
    assert_eq!(index, 3);
    let SceneView::End { completion_code, redirect_url, message, .. } = scene else { panic!() };
    assert_eq!(message, "Thanks!");
    assert_eq!(completion_code.as_deref(), Some("FLOW-OK"));
    assert_eq!(redirect_url.as_deref(), Some("https://panel.example/complete?cc=FLOW-OK&PROLIFIC_PID=pid-walker"));

    let events = host.events("flow");
    let pid = c.welcome.participant;
    assert!(events.contains(&Event::ConsentGiven { participant: pid, scene: "consent".into() }));
    assert!(events.contains(&Event::SurveyAnswered {
        participant: pid,
        scene: "questions".into(),
        answers: good_answers(),
        iteration: 1,
        attempt: 1
    }));
    assert!(
        events.iter().any(|e| matches!(e, Event::SessionStarted { recruitment_id: Some(r), .. } if r == "pid-walker"))
    );
    assert!(events.iter().any(|e| matches!(e, Event::Finished { completion_code: Some(c), .. } if c == "FLOW-OK")));
    let entered = events.iter().filter(|e| matches!(e, Event::SceneEntered { .. })).count();
    let left = events.iter().filter(|e| matches!(e, Event::SceneLeft { .. })).count();
    assert_eq!((entered, left), (4, 3));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_reaches_the_waitroom() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["experiments/demo.yaml"], data.path(), |_| {}).await;
    let mut c = Client::connect(&host.addr, "demo", &[("PROLIFIC_PID", "demo-1")], None).await.unwrap();
    let scene = c.walk(&Script::new()).await.unwrap();
    assert!(matches!(scene, SceneView::Multiplayer { group_size: 2, show_count: true, .. }), "{scene:?}");
    let status = c
        .wait_for("waiting_room", WAIT, |m| matches!(m, ServerMsg::WaitingRoom { .. }).then(|| m.clone()))
        .await
        .unwrap();
    assert_eq!(
        status,
        ServerMsg::WaitingRoom { waiting: Some(1), needed: Some(2), remaining_secs: 300.0, leave_in_secs: None }
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_within_the_grace_period_continues_where_the_participant_was() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |_| {}).await;
    let mut c = Client::connect(&host.addr, "flow", &[], None).await.unwrap();
    c.next_scene().await.unwrap();
    c.advance("consent").await.unwrap();
    c.next_scene().await.unwrap();
    let (pid, token) = (c.welcome.participant, c.welcome.resume_token.clone());
    c.close().await;

    let mut again = Client::connect(&host.addr, "flow", &[], Some(&token)).await.unwrap();
    assert!(again.welcome.resumed);
    assert_eq!(again.welcome.participant, pid);
    let (index, scene) = again.next_scene().await.unwrap();
    assert_eq!(index, 1, "back on the instructions, not on consent");
    assert!(matches!(scene, SceneView::Instructions { .. }));
    again.advance("intro").await.unwrap();
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_away_on_a_solo_scene_ends_at_its_max_duration() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |_| {}).await;
    let mut c = Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "slow-1")], None).await.unwrap();
    c.next_scene().await.unwrap();
    let (pid, token) = (c.welcome.participant, c.welcome.resume_token.clone());
    c.close().await;
    // Wait for the host's decision (max_duration_secs is 1 s here: on a solo scene the
    // 0.5 s grace does not end the session), not for a guessed time.
    let expired = Event::Outcome {
        participant: pid,
        scene: "consent".into(),
        reason: OutcomeReason::Expired,
        completion_code: None,
    };
    host.wait_for_event("flow", "the session to expire", |e| *e == expired).await;
    for resume in [Some(token.as_str()), None] {
        let mut back = Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "slow-1")], resume).await.unwrap();
        assert!(back.welcome.resumed);
        let outcome = back.recv(WAIT).await.unwrap();
        assert!(matches!(outcome, ServerMsg::Outcome { reason: OutcomeReason::Expired, .. }), "{outcome:?}");
        let refusal = back.advance("consent").await;
        assert_eq!(refused(refusal).await.0, ErrorCode::InvalidState);
    }
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_tab_is_refused_and_the_first_keeps_working() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |_| {}).await;
    let mut first = Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "twin")], None).await.unwrap();
    first.next_scene().await.unwrap();
    match Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "twin")], None).await {
        Err(ClientError::Duplicate(message)) => assert!(message.contains("another tab")),
        Err(other) => panic!("expected duplicate_session, got {other}"),
        Ok(_) => panic!("a second tab was accepted"),
    }
    first.advance("consent").await.unwrap();
    assert!(host.events("flow").iter().any(|e| matches!(e, Event::DuplicateRefused { .. })));
    host.stop().await;
}

/// A tab whose socket went stale (network change) reconnects with its token before the
/// host noticed: the new socket takes over, the stale one is told and closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tabs_own_token_takes_over_a_stale_connection() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |_| {}).await;
    let mut stale = Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "mover")], None).await.unwrap();
    stale.next_scene().await.unwrap();
    let token = stale.welcome.resume_token.clone();
    let mut fresh = Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "mover")], Some(&token)).await.unwrap();
    assert!(fresh.welcome.resumed);
    assert_eq!(fresh.welcome.participant, stale.welcome.participant);
    assert!(matches!(fresh.next_scene().await.unwrap(), (0, SceneView::Consent { .. })));
    let told = stale.wait_for("duplicate_session", WAIT, |_| None::<()>).await;
    assert!(matches!(told, Err(ClientError::Duplicate(_))), "{told:?}");
    fresh.advance("consent").await.unwrap();
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_get_an_error_and_the_session_stays_intact() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |_| {}).await;
    let mut c = Client::connect(&host.addr, "flow", &[], None).await.unwrap();
    c.next_scene().await.unwrap();
    let cases: Vec<(String, ErrorCode)> = vec![
        ("{not json".into(), ErrorCode::Malformed),
        (r#"{"type":"teleport","seq":5}"#.into(), ErrorCode::Malformed),
        (r#"{"type":"advance"}"#.into(), ErrorCode::Malformed),
        (r#"{"type":"advance","scene":"consent","agreed":true,"extra":1}"#.into(), ErrorCode::Malformed),
        (
            format!(r#"{{"type":"submit","scene":"consent","answers":{{"a":"{}"}}}}"#, "x".repeat(300_000)),
            ErrorCode::TooLarge,
        ),
        (r#"{"type":"submit","scene":"consent","answers":{}}"#.into(), ErrorCode::InvalidState),
        (r#"{"type":"advance","scene":"intro","agreed":true}"#.into(), ErrorCode::InvalidState),
        (r#"{"type":"hello","protocol":1}"#.into(), ErrorCode::HelloFirst),
        (r#"{"type":"probe_ready","probe":"probe_x"}"#.into(), ErrorCode::NotAPeer),
    ];
    for (text, expected) in cases {
        c.send_raw(text.clone()).await.unwrap();
        match c.recv(WAIT).await.unwrap() {
            ServerMsg::Error { code, message, .. } => {
                assert_eq!(code, expected, "{}: {message}", &text[..text.len().min(80)]);
                assert!(message.len() < 400, "error messages stay short");
            }
            other => panic!("expected an error for {text:.80}, got {other:?}"),
        }
    }
    c.send_raw(r#"{"type":"teleport","seq":5}"#).await.unwrap();
    assert!(matches!(c.recv(WAIT).await.unwrap(), ServerMsg::Error { seq: Some(5), .. }), "errors echo the seq");
    // Still on consent, still usable.
    c.advance("consent").await.unwrap();
    assert!(matches!(c.next_scene().await.unwrap(), (1, SceneView::Instructions { .. })));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_must_come_first_and_ids_are_checked() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(
        &["tests/fixtures/host/flow.yaml", "tests/fixtures/host/required-id.yaml"],
        data.path(),
        |_| {},
    )
    .await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/x/flow/ws", host.addr)).await.unwrap();
    use futures_util::{SinkExt, StreamExt};
    ws.send(tokio_tungstenite::tungstenite::Message::text(r#"{"type":"advance","scene":"consent","agreed":true}"#))
        .await
        .unwrap();
    let reply = loop {
        if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = ws.next().await {
            break serde_json::from_str::<ServerMsg>(t.as_str()).unwrap();
        }
    };
    assert!(matches!(reply, ServerMsg::Error { code: ErrorCode::HelloFirst, .. }), "{reply:?}");

    for params in [vec![], vec![("workerId", "bad id with spaces")]] {
        match Client::connect(&host.addr, "required-id", &params, None).await {
            Err(ClientError::Refused { code: ErrorCode::MissingId, .. }) => {}
            other => panic!("expected missing_id, got {:?}", other.map(|c| c.welcome)),
        }
    }
    let ok = Client::connect(&host.addr, "required-id", &[("workerId", "A1B2C3")], None).await.unwrap();
    assert!(!ok.welcome.resumed);
    match Client::connect(&host.addr, "no-such-experiment", &[], None).await {
        Err(ClientError::Connect { .. }) => {}
        other => panic!("an unknown experiment must not upgrade: {:?}", other.map(|c| c.welcome)),
    }
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_participant_sees_the_end_again_also_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |_| {}).await;
    let params = [("PROLIFIC_PID", "finisher")];
    let mut c = Client::connect(&host.addr, "flow", &params, None).await.unwrap();
    let script: Script = [("questions".to_owned(), good_answers())].into();
    assert!(matches!(c.walk(&script).await.unwrap(), SceneView::End { .. }));
    let pid = c.welcome.participant;
    c.close().await;
    // The host may not have seen the close yet: until it has, the id is held by the
    // closing socket and a new one is a second tab.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut back = loop {
        match Client::connect(&host.addr, "flow", &params, None).await {
            Ok(back) => break back,
            Err(ClientError::Duplicate(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(back.welcome.participant, pid);
    assert!(matches!(back.next_scene().await.unwrap(), (3, SceneView::End { .. })));
    back.close().await;
    host.stop().await;

    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |_| {}).await;
    let mut after = Client::connect(&host.addr, "flow", &params, None).await.unwrap();
    assert!(after.welcome.resumed, "recognised from the earlier run's data");
    assert_eq!(after.welcome.participant, pid);
    let (index, scene) = after.next_scene().await.unwrap();
    assert_eq!(index, 3);
    assert!(matches!(scene, SceneView::End { completion_code: Some(ref c), .. } if c == "FLOW-OK"));
    // Someone new still starts at the beginning.
    let mut other = Client::connect(&host.addr, "flow", &[("PROLIFIC_PID", "newcomer")], None).await.unwrap();
    assert_eq!(other.next_scene().await.unwrap().0, 0);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_participants_and_syncs_the_log() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |_| {}).await;
    let mut c = Client::connect(&host.addr, "flow", &[], None).await.unwrap();
    c.next_scene().await.unwrap();
    let stop = tokio::spawn(host.stop());
    let msg = c.wait_for("shutdown", WAIT, |m| matches!(m, ServerMsg::Shutdown { .. }).then_some(())).await;
    assert!(msg.is_ok(), "{msg:?}");
    assert!(matches!(c.recv(WAIT).await, Err(ClientError::Closed)));
    let took = stop.await.unwrap();
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    let logs = cohort::eventlog::previous_logs(data.path(), "flow");
    let records = cohort::eventlog::read(&logs[0]).unwrap();
    assert_eq!(records.last().map(|r| &r.event), Some(&Event::RunStopped));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_are_rate_limited_and_the_socket_recovers() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |o| {
        o.socket.rate_per_sec = 20.0;
        o.socket.burst = 20.0;
    })
    .await;
    let mut c = Client::connect(&host.addr, "flow", &[], None).await.unwrap();
    c.next_scene().await.unwrap();
    for i in 0..60 {
        c.send_raw(format!(r#"{{"type":"advance","scene":"intro","agreed":true,"seq":{i}}}"#)).await.unwrap();
    }
    // Every message gets exactly one reply: refused as out of place, or dropped.
    let mut limited = 0;
    for _ in 0..60 {
        match c.recv(WAIT).await.unwrap() {
            ServerMsg::Error { code: ErrorCode::RateLimited, .. } => limited += 1,
            ServerMsg::Error { code: ErrorCode::InvalidState, .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(limited >= 30, "only {limited} of 60 were limited with a burst of 20");
    // Paced retries get through once the bucket refills; the session is intact.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "the socket never recovered");
        match c.advance("consent").await {
            Ok(()) => break,
            Err(ClientError::Refused { code: ErrorCode::RateLimited, .. }) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(matches!(c.next_scene().await.unwrap(), (1, SceneView::Instructions { .. })));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_detect_a_dead_socket() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |o| {
        o.socket.heartbeat = Duration::from_millis(100);
    })
    .await;
    // A client that connects and then never reads again: its pongs never go out.
    let mut silent = Client::connect(&host.addr, "flow", &[], None).await.unwrap();
    let (pid, token) = (silent.welcome.participant, silent.welcome.resume_token.clone());
    let _keep_open = &mut silent;
    let gone = Event::Disconnected { participant: pid };
    host.wait_for_event("flow", "the dead socket to be detected", |e| *e == gone).await;
    let again = Client::connect(&host.addr, "flow", &[], Some(&token)).await.unwrap();
    assert!(again.welcome.resumed, "the place is free again for a resume");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_open_sessions_without_limit() {
    // The default limits, through the host's own accept loop: the peer address must
    // reach admission (a loop that lost it would admit everyone).
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |_| {}).await;
    let burst = cohort::server::AdmissionOptions::default().burst as usize;
    assert_eq!(burst, 60, "the documented burst");
    let mut kept = Vec::new();
    for _ in 0..burst {
        kept.push(Client::connect(&host.addr, "flow", &[], None).await.unwrap());
    }
    match Client::connect(&host.addr, "flow", &[], None).await {
        Err(ClientError::Connect { source, .. }) => assert!(source.to_string().contains("429"), "{source}"),
        other => panic!("the 61st connection was admitted: {:?}", other.map(|c| c.welcome)),
    }
    // Another address is not affected.
    let other = Client::connect_from(&host.addr, "flow", &[], None, Some("127.0.0.2".parse().unwrap())).await;
    assert!(other.is_ok(), "another address is admitted: {:?}", other.err());
    let sessions = host.events("flow").iter().filter(|e| matches!(e, Event::SessionStarted { .. })).count();
    assert_eq!(sessions, burst + 1, "no session for the refused connection");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_deadlines_fire_while_the_inbox_is_saturated() {
    use cohort::experiment::actor::{self, ActorMsg};
    use cohort::experiment::outbox::{ConnOut, Outgoing};
    use cohort::experiment::{ConnId, Input};
    use cohort::protocol::{ClientMsg, PROTOCOL_VERSION};
    let yaml = format!(
        "id: busy\ntitle: Busy\nscenes:\n  - id: play\n    kind: multiplayer\n    group_size: 2\n    \
         waitroom: {{timeout_secs: 1}}\n    game: {{module: {}/experiments/games/demo.js}}\n  - id: end\n    kind: end\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("busy.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let experiment = cohort::config::parse(yaml.as_bytes(), data.path()).expect("valid");
    let loaded = cohort::config::Loaded::new(experiment, file, data.path().into()).expect("game folder");
    let (shutdown, tracker) = (tokio_util::sync::CancellationToken::new(), tokio_util::task::TaskTracker::new());
    let handle = actor::start(&loaded, data.path(), "run", Default::default(), shutdown.clone(), &tracker).unwrap();
    // One participant waits (1 s timeout)...
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let out = ConnOut { tx, cancel: tokio_util::sync::CancellationToken::new() };
    let waiting = handle.new_conn();
    assert!(handle.send(ActorMsg::Open { conn: waiting, out }).await);
    let hello = ClientMsg::Hello {
        protocol: PROTOCOL_VERSION,
        params: Default::default(),
        resume_token: None,
        takeover: false,
        environment: None,
        seq: None,
    };
    assert!(handle.send(ActorMsg::Input(Input::Message { conn: waiting, msg: hello })).await);
    // ...while the inbox never empties.
    let flooder = handle.clone();
    let flood = tokio::spawn(async move {
        let conn = ConnId(u64::MAX);
        while flooder.send(ActorMsg::Input(Input::ServerRtt { conn, rtt_ms: 1.0 })).await {}
    });
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Outgoing::Text(text)) = rx.recv().await {
            if text.contains("\"type\":\"outcome\"") && text.contains("waitroom_timeout") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(outcome, Ok(true), "the waitroom timeout fired under a saturated inbox");
    flood.abort();
    shutdown.cancel();
    tracker.close();
    tracker.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_says_hello_is_closed_and_frees_its_slot() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/flow.yaml"], data.path(), |o| {
        o.socket.hello_timeout = Duration::from_millis(300);
        o.max_connections = 1;
    })
    .await;
    // A raw WebSocket that answers pings but never says hello.
    let (mut silent, _) = tokio_tungstenite::connect_async(format!("ws://{}/x/flow/ws", host.addr)).await.unwrap();
    use futures_util::StreamExt;
    let mut told = None;
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(frame) = silent.next().await {
            match frame {
                Ok(tokio_tungstenite::tungstenite::Message::Text(t)) => told = Some(t.to_string()),
                Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the silent socket was closed");
    assert!(told.as_deref().is_some_and(|t| t.contains("hello_first")), "{told:?}");
    // Its slot is free again (the host holds one connection at most here).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match Client::connect(&host.addr, "flow", &[], None).await {
            Ok(_) => break,
            Err(e) => {
                assert!(tokio::time::Instant::now() < deadline, "the slot stayed taken: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experiment_at_its_connection_cap_refuses_while_others_go_on() {
    let data = tempfile::tempdir().unwrap();
    let host =
        TestHost::start(&["tests/fixtures/host/capped.yaml", "tests/fixtures/host/flow.yaml"], data.path(), |_| {})
            .await;
    let first = Client::connect(&host.addr, "capped", &[], None).await.unwrap();
    let second = Client::connect(&host.addr, "capped", &[], None).await.unwrap();
    match Client::connect(&host.addr, "capped", &[], None).await {
        Err(ClientError::Connect { source, .. }) => assert!(source.to_string().contains("503"), "{source}"),
        other => panic!("a third connection was admitted: {:?}", other.map(|c| c.welcome)),
    }
    assert!(Client::connect(&host.addr, "flow", &[], None).await.is_ok(), "another experiment is not affected");
    drop(second);
    first.close().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while Client::connect(&host.addr, "capped", &[], None).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "a closed connection frees its place");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_closes_arrivals_lets_the_running_game_finish_then_stops() {
    use cohort::eventlog::Event;
    let data = tempfile::tempdir().unwrap();
    let drain = tokio_util::sync::CancellationToken::new();
    let token = drain.clone();
    let host = TestHost::start(&["tests/fixtures/host/pair.yaml"], data.path(), move |o| {
        o.drain = Some((token, Duration::from_secs(30)));
    })
    .await;
    let mut a = Client::connect(&host.addr, "pair", &[("PROLIFIC_PID", "drain-a")], None).await.unwrap();
    let mut b = Client::connect(&host.addr, "pair", &[("PROLIFIC_PID", "drain-b")], None).await.unwrap();
    let mut game = None;
    for c in [&mut a, &mut b] {
        game = Some(
            c.wait_for("start_game", WAIT, |m| match m {
                ServerMsg::StartGame { game, .. } => Some(*game),
                _ => None,
            })
            .await
            .unwrap(),
        );
    }
    let game = game.unwrap();
    drain.cancel();
    host.wait_for_event(
        "pair",
        "arrivals closed for the drain",
        |e| matches!(e, Event::ArrivalsClosed { reason, .. } if reason == "draining"),
    )
    .await;
    let late = Client::connect(&host.addr, "pair", &[("PROLIFIC_PID", "drain-late")], None).await;
    assert!(late.is_err(), "no new session while draining");
    // The game in progress goes on, and ends as usual.
    for c in [&mut a, &mut b] {
        let complete = ClientMsg::GameComplete { game, result: None, tick: Some(5), hash: Some("h".into()), seq: None };
        c.send(complete).await.unwrap();
    }
    host.wait_for_event("pair", "the game to end", |e| {
        matches!(e, Event::GameEnded { reason: cohort::game::EndReason::Completed, .. })
    })
    .await;
    host.wait_for_event("pair", "the host to stop by itself", |e| matches!(e, Event::RunStopped)).await;
    let took = host.stop().await;
    assert!(took < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_condition_reads_its_own_texts_and_nothing_of_the_other() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/by-condition.yaml"], data.path(), |_| {}).await;
    let mut seen = Vec::new();
    for who in ["first", "second"] {
        let mut c = Client::connect(&host.addr, "by-condition", &[("PROLIFIC_PID", who)], None).await.unwrap();
        let mut received = vec![format!("{:?}", c.welcome)];
        // Walk whatever this participant is shown, answering what they are asked.
        loop {
            let (_, scene) = c.next_scene().await.unwrap();
            received.push(serde_json::to_string(&scene).unwrap());
            match scene {
                SceneView::Instructions { id, .. } => c.advance(&id).await.unwrap(),
                SceneView::Survey { id, questions, .. } => {
                    let answers = questions
                        .iter()
                        .map(|q| match q.kind {
                            cohort::protocol::QuestionKind::Text { .. } => (q.id.clone(), Answer::Text("41".into())),
                            _ => panic!("{q:?}"),
                        })
                        .collect();
                    c.submit(&id, answers).await.unwrap();
                }
                SceneView::End { .. } => break,
                other => panic!("{other:?}"),
            }
        }
        // Anything else the host sent meanwhile.
        while let Ok(m) = c.recv(Duration::from_millis(200)).await {
            received.push(serde_json::to_string(&m).unwrap());
        }
        seen.push((c.welcome.participant, received.join("\n")));
    }
    let events = host.events("by-condition");
    host.stop().await;
    let condition_of = |p| {
        events.iter().find_map(|e| match e {
            Event::ConditionAssigned { participant, condition } if *participant == p => {
                condition["id"].as_str().map(str::to_owned)
            }
            _ => None,
        })
    };
    let mut kinds = Vec::new();
    for (pid, text) in &seen {
        let condition = condition_of(*pid).expect("a condition");
        kinds.push(condition.clone());
        let (own, other) = if condition == "ai" {
            (
                ["AI agent", "playing with the AI agent", "trust machine partners", "Your AI partner is ready!"],
                ["another participant", "Meet your partner", "Say hello", "Say hello"],
            )
        } else {
            (
                ["another participant", "Meet your partner", "Say hello", "Say hello"],
                ["AI agent", "with the AI agent", "trust machine partners", "AI partner is ready"],
            )
        };
        for t in own {
            assert!(text.contains(t), "{condition} should read `{t}`:\n{text}");
        }
        for t in other {
            assert!(!text.contains(t), "{condition} received the other condition's `{t}`:\n{text}");
        }
        assert!(!text.contains("short game"), "{condition}'s own text replaces the fallback:\n{text}");
    }
    kinds.sort();
    assert_eq!(kinds, ["ai", "human"], "balanced: one of each");
}
