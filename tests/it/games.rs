//! Games through the real host: bots play the demo module in lockstep over the relay,
//! the log holds every input, and `cohort replay` reproduces every hash the players
//! reported (and notices a log that was changed); the game's folder is served and
//! nothing outside it.

use std::sync::Arc;

use cohort::bots::{self, Live, Plan, RunOptions};
use cohort::eventlog::Event;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{TestHost, cohort_async, text};

fn plan(host: &TestHost, experiment: &str) -> Plan {
    Plan { seed: 3, ..crate::support::bot_plan(host, experiment) }
}

/// A GET sent byte for byte as written: the paths a hostile client tries (`..`,
/// `%2e%2e`) must reach the host unchanged, which a client library need not promise.
pub(crate) async fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_play_the_demo_in_lockstep_and_the_replay_reproduces_every_reported_hash() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/pair.yaml"], data.path(), |_| {}).await;
    let opts = RunOptions { count: 4, rate: None, spread: false, first_address: 0 };
    let summary = bots::run(plan(&host, "pair"), opts, Arc::new(Live::default())).await;
    assert_eq!((summary.errors.len(), summary.completed), (0, 4), "{}", summary.text());
    assert_eq!(summary.results, 4, "each bot reports its game's result");
    assert_eq!(summary.result_numbers.get("ticks"), Some(&4), "the demo's result holds `ticks`: {}", summary.text());
    let events = host.events("pair");
    let ended: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::GameEnded { reason, .. } => Some(reason.as_str().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(ended, ["completed", "completed"], "both games played to their end");
    let inputs = events.iter().filter(|e| matches!(e, Event::GameInputs { relayed: true, .. })).count();
    assert!(inputs >= 4, "every player's inputs are in the log ({inputs} batches)");
    host.stop().await;

    let run = cohort::eventlog::previous_logs(data.path(), "pair")[0].parent().unwrap().to_path_buf();
    let games = cohort::game::replay::replay_run(&run, None).expect("replay");
    assert_eq!(games.len(), 2);
    for g in &games {
        assert!(g.matches(), "{g:?}");
        assert!(g.compared >= 4, "each copy reported hashes and its end: {g:?}");
        let result = g.result.as_ref().expect("the replay reaches the end");
        assert_eq!(result["ticks"].as_u64(), Some(g.ticks), "the result is the module's");
    }
    let out = cohort_async(["replay".as_ref(), run.as_os_str()]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches("reported hashes agree").count(), 2, "{}", text(&out.stdout));

    // A log whose inputs were changed no longer replays to the reported hashes.
    let log = run.join("events.jsonl");
    let original = std::fs::read_to_string(&log).unwrap();
    let tampered = original.replacen("[\"right\"", "[\"left\"", 1).replacen("[\"down\"", "[\"up\"", 1);
    assert_ne!(tampered, original, "the log has moves to change");
    std::fs::write(&log, tampered).unwrap();
    let out = cohort_async(["replay".as_ref(), run.as_os_str()]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("MISMATCH"), "{}", text(&out.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_game_folder_is_served_and_nothing_outside_it() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/pair.yaml"], data.path(), |_| {}).await;
    let (status, body) = get(&host.addr, "/x/pair/game/play/demo.js").await;
    assert_eq!(status, 200);
    assert!(body.contains("content-type: text/javascript") && body.contains("export function step"));
    for path in [
        "/x/pair/game/play/../pair.yaml",
        "/x/pair/game/play/%2e%2e/pair.yaml",
        "/x/pair/game/play/.hidden.js",
        "/x/pair/game/other/demo.js",
        "/x/nope/game/play/demo.js",
    ] {
        assert_eq!(get(&host.addr, path).await.0, 404, "{path}");
    }
    host.stop().await;
    // The run kept a copy of the module it served.
    let run = cohort::eventlog::previous_logs(data.path(), "pair")[0].parent().unwrap().to_path_buf();
    let kept = std::fs::read_dir(run.join("files")).unwrap().filter_map(Result::ok);
    assert!(kept.map(|e| e.file_name().to_string_lossy().into_owned()).any(|n| n.ends_with("-demo.js")));
}
