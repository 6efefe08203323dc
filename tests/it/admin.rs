//! What a researcher sees of a running study: `/admin/status.json` and `/metrics`
//! (parsed by the Prometheus client's own parser) show a waiting participant and a
//! game in progress, and refuse a missing or wrong token.

use std::time::Duration;

use cohort::client::Client;
use cohort::protocol::ServerMsg;
use tokio::io::AsyncWriteExt;

use crate::support::{TestHost, root, text};

pub(crate) async fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let reply = crate::support::http(addr, "GET", path, &headers, "").await;
    (reply.status, reply.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_metrics_show_the_study_and_need_the_token() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/trio.yaml"], data.path(), |o| {
        o.admin_token = Some("let-me-see".into());
    })
    .await;
    let mut clients = Vec::new();
    for id in ["m-a", "m-b", "m-c"] {
        clients.push(Client::connect(&host.addr, "trio", &[("PROLIFIC_PID", id)], None).await.unwrap());
    }
    for c in &mut clients {
        c.wait_for("start_game", Duration::from_secs(10), |m| matches!(m, ServerMsg::StartGame { .. }).then_some(()))
            .await
            .unwrap();
    }
    let waiting = Client::connect(&host.addr, "trio", &[("PROLIFIC_PID", "m-d")], None).await.unwrap();
    for path in ["/admin/status.json", "/metrics"] {
        assert_eq!(get(&host.addr, path, None).await.0, 401, "{path} without a token");
        assert_eq!(get(&host.addr, path, Some("guess")).await.0, 401, "{path} with a wrong token");
    }
    // The snapshot is taken once a second: wait for it to show the game.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        let (code, body) = get(&host.addr, "/admin/status.json", Some("let-me-see")).await;
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let e = v["experiments"][0].clone();
        if e["games_in_progress"] == 1 && e["places"]["waiting"] == 1 {
            break e;
        }
        assert!(tokio::time::Instant::now() < deadline, "status never showed the game: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status["places"]["playing"], 3);
    assert_eq!(status["waiting"].as_array().map(Vec::len), Some(1));
    // Why the fourth is not matched: they are available, and FIFO found no group.
    let why = &status["why_waiting"][0];
    assert_eq!(why["participant"], serde_json::json!(waiting.welcome.participant), "{status}");
    assert_eq!(why["state"], "available");
    assert_eq!(why["decisions"][0][1]["reason"], "the policy found no group", "{why}");
    assert_eq!(status["open_sockets"], 4);
    assert!(!status.to_string().contains("m-a"), "no recruitment id in the status");
    // The live view over time is data, minute by minute: the four arrivals are counted.
    let history = &status["history"];
    let arrived: u64 = history["arrived"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(arrived, 4, "{history}");
    assert_eq!(history["minute_ms"].as_array().unwrap().len(), history["waiting"].as_array().unwrap().len());
    assert!(!status.to_string().contains("<svg"), "the status carries data, not markup");

    let (code, body) = get(&host.addr, "/metrics", Some("let-me-see")).await;
    assert_eq!(code, 200);
    // Every metric the shipped Grafana dashboard plots is one the host exposes.
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("deploy/grafana/cohort.json")).unwrap()).unwrap();
    let mut plotted = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for (at, _) in expr.match_indices("cohort_") {
                let name: String = expr[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                plotted.push(name);
            }
        }
    }
    assert!(plotted.len() >= 10, "the dashboard plots cohort's metrics: {plotted:?}");
    for name in &plotted {
        let family = ["_bucket", "_sum", "_count"].iter().fold(name.as_str(), |n, s| n.strip_suffix(s).unwrap_or(n));
        assert!(body.contains(&format!("# TYPE {family} ")), "the dashboard plots {name}, which /metrics lacks");
    }
    let mut parse = tokio::process::Command::new("python3")
        .arg(root().join("tests/python/parse_metrics.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    parse.stdin.take().unwrap().write_all(body.as_bytes()).await.unwrap();
    let out = parse.wait_with_output().await.unwrap();
    if text(&out.stderr).contains("No module named 'prometheus_client'") {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "prometheus_client must be installed under CI");
        eprintln!("SKIPPED the metrics parse: pip install prometheus_client");
        return;
    }
    assert!(out.status.success(), "{}", text(&out.stderr));
    let samples: Vec<(String, serde_json::Value, f64)> = serde_json::from_slice(&out.stdout).unwrap();
    let value = |name: &str, label: Option<(&str, &str)>| {
        samples.iter().find(|(n, l, _)| n == name && label.is_none_or(|(k, v)| l[k] == v)).map(|(_, _, v)| *v)
    };
    assert_eq!(value("cohort_games_in_progress", None), Some(1.0));
    assert_eq!(value("cohort_participants", Some(("place", "playing"))), Some(3.0));
    assert_eq!(value("cohort_participants", Some(("place", "waiting"))), Some(1.0));
    assert_eq!(value("cohort_events_total", Some(("event", "game_created"))), Some(1.0));
    assert_eq!(value("cohort_open_sockets", None), Some(4.0));
    assert!(value("cohort_messages_in_total", None).is_some_and(|n| n >= 4.0), "at least the four hellos");
    assert!(value("cohort_messages_out_total", None).is_some_and(|n| n >= 8.0));
    assert!(value("cohort_log_fsync_seconds_count", None).is_some_and(|n| n >= 1.0), "the commits were timed");
    drop(waiting);
    host.stop().await;
}

/// A form posted from `origin`: the status, and the `set-cookie` header if any.
async fn post(addr: &str, path: &str, body: &str, origin: Option<&str>) -> (u16, String) {
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    headers.extend(origin.map(|o| ("origin", o)));
    let reply = crate::support::http(addr, "POST", path, &headers, body).await;
    (reply.status, reply.header("set-cookie").unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_page_takes_the_token_once_refuses_cross_site_logins_and_shows_the_study() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/trio.yaml"], data.path(), |o| {
        o.admin_token = Some("open-sesame".into());
    })
    .await;
    let (code, body) = get(&host.addr, "/admin", None).await;
    assert_eq!(code, 200);
    assert!(body.contains("Admin token"), "a login form, not the study");
    let here = format!("http://{}", host.addr);
    assert_eq!(post(&host.addr, "/admin/login", "token=guess", Some(&here)).await.0, 401);
    assert_eq!(
        post(&host.addr, "/admin/login", "token=open-sesame", Some("http://evil.example")).await.0,
        403,
        "cross-site"
    );
    let (code, answer) = post(&host.addr, "/admin/login", "token=open-sesame", Some(&here)).await;
    assert_eq!(code, 303);
    let cookie = answer;
    assert!(!cookie.is_empty(), "a cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/admin"),
        "{cookie}"
    );

    let mut players = Vec::new();
    for id in ["adm-a", "adm-b", "adm-c"] {
        players.push(Client::connect(&host.addr, "trio", &[("PROLIFIC_PID", id)], None).await.unwrap());
    }
    for c in &mut players {
        c.wait_for("start_game", Duration::from_secs(10), |m| matches!(m, ServerMsg::StartGame { .. }).then_some(()))
            .await
            .unwrap();
    }
    let waiting = Client::connect(&host.addr, "trio", &[("PROLIFIC_PID", "adm-d")], None).await.unwrap();
    let base = format!("http://{}", host.addr);
    if let Some(out) = crate::browser::run_script("admin.mjs", &[&base, "open-sesame"]).await {
        assert!(out.contains("PASS"), "{out}");
        let closed = host
            .events("trio")
            .iter()
            .any(|e| matches!(e, cohort::eventlog::Event::ArrivalsClosed { reason, .. } if reason == "admin"));
        assert!(closed, "the page's intervention reached the log");
    }
    drop(waiting);
    host.stop().await;
}

async fn act(addr: &str, experiment: &str, body: &str, token: Option<&str>) -> u16 {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    headers.extend(auth.iter().map(|a| ("authorization", a.as_str())));
    crate::support::http(addr, "POST", &format!("/admin/api/{experiment}"), &headers, body).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interventions_reach_participants_and_the_log() {
    use cohort::eventlog::Event;
    use cohort::protocol::{OutcomeReason, SceneView};
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/pair.yaml"], data.path(), |o| {
        o.admin_token = Some("t0k".into());
    })
    .await;
    let wait = Duration::from_secs(10);
    let (mut a, mut b) = (
        Client::connect(&host.addr, "pair", &[("PROLIFIC_PID", "iv-a")], None).await.unwrap(),
        Client::connect(&host.addr, "pair", &[("PROLIFIC_PID", "iv-b")], None).await.unwrap(),
    );
    let mut game = None;
    for c in [&mut a, &mut b] {
        game = c
            .wait_for("start_game", wait, |m| match m {
                ServerMsg::StartGame { game, .. } => Some(*game),
                _ => None,
            })
            .await
            .ok();
    }
    let game = game.expect("a game");
    let mut waiting = Client::connect(&host.addr, "pair", &[("PROLIFIC_PID", "iv-c")], None).await.unwrap();
    waiting.wait_for("waiting_room", wait, |m| matches!(m, ServerMsg::WaitingRoom { .. }).then_some(())).await.unwrap();

    assert_eq!(act(&host.addr, "pair", r#"{"action":"broadcast","message":"Hello"}"#, None).await, 401);
    // With the page's cookie but from another site: refused before anything else.
    let body = r#"{"action":"broadcast","message":"Hello"}"#;
    let headers =
        [("origin", "http://evil.example"), ("cookie", "cohort_admin=t0k"), ("content-type", "application/json")];
    let answer = crate::support::http(&host.addr, "POST", "/admin/api/pair", &headers, body).await;
    assert_eq!(answer.status, 403, "a cross-site request with the cookie is refused");
    assert_eq!(act(&host.addr, "pair", r#"{"action":"nonsense"}"#, Some("t0k")).await, 400);
    assert_eq!(act(&host.addr, "nope", r#"{"action":"broadcast","message":"Hello"}"#, Some("t0k")).await, 404);
    // A message to everyone waiting.
    assert_eq!(
        act(&host.addr, "pair", r#"{"action":"broadcast","message":"Partners are on their way"}"#, Some("t0k")).await,
        202
    );
    let notice = waiting
        .wait_for("notice", wait, |m| match m {
            ServerMsg::Notice { message } => Some(message.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(notice, "Partners are on their way");
    // End the game: both players move on.
    let body = format!(r#"{{"action":"end_game","game":"{}"}}"#, game.0);
    assert_eq!(act(&host.addr, "pair", &body, Some("t0k")).await, 202);
    for c in [&mut a, &mut b] {
        c.wait_for("game_end", wait, |m| {
            matches!(m, ServerMsg::GameEnd { reason, .. } if reason == "ended").then_some(())
        })
        .await
        .unwrap();
        let next = |m: &ServerMsg| matches!(m, ServerMsg::Scene { scene: SceneView::Survey { .. }, .. }).then_some(());
        c.wait_for("the next scene", wait, next).await.expect("each player moves on to the survey");
    }
    // Send the waiting participant on to the survey, then end their session there.
    let body = format!(r#"{{"action":"goto","participant":"{}","scene":"after"}}"#, waiting.welcome.participant);
    assert_eq!(act(&host.addr, "pair", &body, Some("t0k")).await, 202);
    let moved = |m: &ServerMsg| matches!(m, ServerMsg::Scene { scene: SceneView::Survey { .. }, .. }).then_some(());
    waiting.wait_for("the survey", wait, moved).await.expect("sent to the survey");
    // End a participant's session.
    let body = format!(r#"{{"action":"end_session","participant":"{}"}}"#, waiting.welcome.participant);
    assert_eq!(act(&host.addr, "pair", &body, Some("t0k")).await, 202);
    let outcome = waiting
        .wait_for("outcome", wait, |m| match m {
            ServerMsg::Outcome { reason, .. } => Some(*reason),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(outcome, OutcomeReason::EndedByResearcher);
    // Close arrivals: a newcomer is turned away with the message; reopen.
    let close = r#"{"action":"arrivals","open":false,"message":"Back at 3 pm"}"#;
    assert_eq!(act(&host.addr, "pair", close, Some("t0k")).await, 202);
    host.wait_for_event(
        "pair",
        "arrivals closed",
        |e| matches!(e, Event::ArrivalsClosed { reason, .. } if reason == "admin"),
    )
    .await;
    let refused = Client::connect(&host.addr, "pair", &[("PROLIFIC_PID", "iv-late")], None).await;
    assert!(refused.is_err(), "turned away while closed");
    assert_eq!(act(&host.addr, "pair", r#"{"action":"arrivals","open":true}"#, Some("t0k")).await, 202);
    host.wait_for_event("pair", "arrivals open", |e| matches!(e, Event::ArrivalsOpened)).await;
    assert!(Client::connect(&host.addr, "pair", &[("PROLIFIC_PID", "iv-later")], None).await.is_ok());
    let actions = host.events("pair").iter().filter(|e| matches!(e, Event::AdminAction { .. })).count();
    assert_eq!(actions, 6, "every intervention is in the log");
    host.stop().await;
}
