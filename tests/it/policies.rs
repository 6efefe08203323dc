//! The example policies (`plugins/build.sh`), one per language, matching Rust bots
//! through the real host with the example experiments that use them.

use std::collections::BTreeMap;

use cohort::client::{Client, DEFAULT_WAIT};
use cohort::eventlog::Event;
use cohort::protocol::{Answer, ClientMsg, ParticipantId, SceneView, ServerMsg};

use crate::support::{TestHost, plugins_built};

async fn players(c: &mut Client) -> Vec<ParticipantId> {
    c.wait_for("start_game", DEFAULT_WAIT, |m| match m {
        ServerMsg::StartGame { players, .. } => Some(players.clone()),
        _ => None,
    })
    .await
    .unwrap()
}

fn policy_lines(host: &TestHost, experiment: &str) -> Vec<String> {
    host.events(experiment)
        .into_iter()
        .flat_map(|e| match e {
            Event::PolicyLog { lines, .. } => lines,
            _ => Vec::new(),
        })
        .collect()
}

fn faults(host: &TestHost, experiment: &str) -> Vec<String> {
    host.events(experiment)
        .into_iter()
        .filter_map(|e| match e {
            Event::PolicyFault { fault, .. } => Some(fault),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_c_policy_pairs_two_bots() {
    if !plugins_built() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["experiments/fifo-c.yaml"], data.path(), |o| o.admin_token = Some("m".into())).await;
    let mut a = Client::connect(&host.addr, "fifo-c", &[], None).await.unwrap();
    let mut b = Client::connect(&host.addr, "fifo-c", &[], None).await.unwrap();
    let (pa, pb) = (players(&mut a).await, players(&mut b).await);
    assert_eq!(pa, pb);
    assert_eq!(pa, vec![b.welcome.participant, a.welcome.participant], "the C policy lists the arriving one first");
    assert!(faults(&host, "fifo-c").is_empty(), "{:?}", faults(&host, "fifo-c"));
    // The policy's calls are timed for /metrics (the snapshot is taken once a second).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let metrics = metrics_text(&host.addr, "m").await;
        let count =
            metrics.lines().find_map(|l| l.strip_prefix("cohort_policy_call_seconds_count{experiment=\"fifo-c\"} "));
        if count.and_then(|c| c.parse::<f64>().ok()).is_some_and(|c| c >= 2.0) {
            break; // configure/on-join and find-match at least
        }
        assert!(tokio::time::Instant::now() < deadline, "policy calls never counted:\n{metrics}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    host.stop().await;
}

async fn metrics_text(addr: &str, token: &str) -> String {
    let auth = format!("Bearer {token}");
    crate::support::http(addr, "GET", "/metrics", &[("authorization", &auth)], "").await.body
}

async fn answering(host: &TestHost, side: &str) -> Client {
    let mut c = Client::connect(&host.addr, "balanced-pairs", &[], None).await.unwrap();
    let answers: BTreeMap<String, Answer> = [("side".to_owned(), Answer::Text(side.to_owned()))].into();
    let script = [("about".to_owned(), answers)].into();
    assert!(matches!(c.walk(&script).await.unwrap(), SceneView::Multiplayer { .. }));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_policy_pairs_opposite_sides() {
    if !plugins_built() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["experiments/balanced-pairs.yaml"], data.path(), |_| {}).await;
    let mut left1 = answering(&host, "left").await;
    let mut left2 = answering(&host, "left").await;
    let mut right = answering(&host, "right").await;
    let pair = players(&mut right).await;
    assert_eq!(pair.len(), 2);
    assert!(pair.contains(&right.welcome.participant));
    assert!(pair.contains(&left1.welcome.participant), "paired with the left who waited longest: {pair:?}");
    assert_eq!(players(&mut left1).await, pair);
    // The second left is still waiting: no other right has come.
    let waiting = left2.wait_for("waiting_room", DEFAULT_WAIT, |m| match m {
        ServerMsg::WaitingRoom { waiting: Some(1), .. } => Some(()),
        _ => None,
    });
    assert!(waiting.await.is_ok());
    let lines = policy_lines(&host, "balanced-pairs");
    assert!(lines.iter().any(|l| l == "balanced by about.side: all different (left, right)"), "{lines:?}");
    assert!(faults(&host, "balanced-pairs").is_empty(), "{:?}", faults(&host, "balanced-pairs"));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_javascript_policy_pairs_bots_after_their_probe() {
    if !plugins_built() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["experiments/latency-relaxing.yaml"], data.path(), |_| {}).await;
    let mut a = Client::connect(&host.addr, "latency-relaxing", &[], None).await.unwrap();
    let mut b = Client::connect(&host.addr, "latency-relaxing", &[], None).await.unwrap();
    let mut probe = None;
    for c in [&mut a, &mut b] {
        let id = c
            .wait_for("probe_prepare", DEFAULT_WAIT, |m| match m {
                ServerMsg::ProbePrepare { probe, .. } => Some(probe.clone()),
                _ => None,
            })
            .await
            .unwrap();
        c.send(ClientMsg::ProbeReady { probe: id.clone(), seq: None }).await.unwrap();
        probe = Some(id);
    }
    let probe = probe.unwrap();
    for c in [&mut a, &mut b] {
        c.wait_for("probe_start", DEFAULT_WAIT, |m| matches!(m, ServerMsg::ProbeStart { .. }).then_some(()))
            .await
            .unwrap();
        c.send(ClientMsg::ProbeResult { probe: probe.clone(), rtt_ms: Some(55.0), error: None, seq: None })
            .await
            .unwrap();
    }
    assert_eq!(players(&mut a).await, players(&mut b).await);
    let lines = policy_lines(&host, "latency-relaxing");
    assert!(lines.iter().any(|l| l.starts_with("grouped by estimated RTT")), "{lines:?}");
    assert!(faults(&host, "latency-relaxing").is_empty(), "{:?}", faults(&host, "latency-relaxing"));
    host.stop().await;
}

/// An experiment using the test policy `tests/policies/py-wasi` (built with
/// componentize-py's defaults, so it imports WASI).
fn py_wasi_experiment(dir: &std::path::Path) -> std::path::PathBuf {
    let yaml = format!(
        "id: py-wasi\ntitle: WASI\nscenes:\n  - id: play\n    kind: multiplayer\n    group_size: 2\n    matchmaker: {{plugin: {root}/tests/policies/py-wasi/policy.wasm, attributes: ['param:explode'], fallback: wait, call_timeout_ms: 1000}}\n    game: {{module: {root}/experiments/games/demo.js, countdown_secs: 0}}\n  - id: end\n    kind: end\n",
        root = env!("CARGO_MANIFEST_DIR")
    );
    let path = dir.join("py-wasi.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// The first `decision:` line a run of the py-wasi experiment logs.
async fn first_decision(yaml: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&[yaml.to_str().unwrap()], data.path(), |_| {}).await;
    let mut a = Client::connect(&host.addr, "py-wasi", &[], None).await.unwrap();
    assert!(matches!(a.next_scene().await.unwrap().1, SceneView::Multiplayer { .. }));
    host.wait_for_event(
        "py-wasi",
        "a decision",
        |e| matches!(e, Event::PolicyLog { lines, .. } if lines.iter().any(|l| l.starts_with("decision:"))),
    )
    .await;
    let mut b = Client::connect(&host.addr, "py-wasi", &[("explode", "1")], None).await.unwrap();
    assert!(matches!(b.next_scene().await.unwrap().1, SceneView::Multiplayer { .. }));
    host.wait_for_event("py-wasi", "the exception's fault", |e| matches!(e, Event::PolicyFault { .. })).await;
    let (lines, faults) = (policy_lines(&host, "py-wasi"), faults(&host, "py-wasi"));
    host.stop().await;
    (lines, faults)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_policy_built_with_wasi_runs_sandboxed_and_reproducibly() {
    if !plugins_built() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let yaml = py_wasi_experiment(dir.path());
    let (lines, faults) = first_decision(&yaml).await;
    // No files and no environment; print reaches the event log.
    assert!(lines.contains(&"sandbox: files=FileNotFoundError env=0".to_owned()), "{lines:?}");
    // The clock reads the experiment time of the decision (seconds since the run
    // started), not the machine's.
    let decision = lines.iter().find(|l| l.starts_with("decision:")).expect("a decision line").clone();
    let clock: f64 = decision.split("clock=").nth(1).and_then(|s| s.split(' ').next()).unwrap().parse().unwrap();
    assert!((0.0..60.0).contains(&clock), "{decision}");
    // A Python exception shows its traceback, and is a fault like any trap.
    assert!(lines.iter().any(|l| l.starts_with("Traceback")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("ValueError: exploding as asked")), "{lines:?}");
    assert_eq!(faults.len(), 1, "{faults:?}");
    // Randomness is seeded: a second run draws the same number.
    let (again, _) = first_decision(&yaml).await;
    let random = |l: &str| l.split("random=").nth(1).map(str::to_owned);
    let second = again.iter().find(|l| l.starts_with("decision:")).expect("a decision line");
    assert_eq!(random(&decision), random(second));
}
