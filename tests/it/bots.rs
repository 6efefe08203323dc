//! `cohort bots` through the real host: bots walk every scene kind, are matched and
//! complete; spread source addresses get past per-address admission; held bots stay
//! connected; the CLI prints a summary a script can read.

use std::sync::Arc;
use std::time::Duration;

use cohort::bots::{self, Live, Plan, RunOptions};
use cohort::eventlog::Event;

use crate::support::{TestHost, cohort_async};

fn plan(host: &TestHost, experiment: &str) -> Plan {
    crate::support::bot_plan(host, experiment)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_walk_the_demo_to_the_end_and_the_log_agrees() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["experiments/demo.yaml"], data.path(), |_| {}).await;
    let opts = RunOptions { count: 12, rate: None, spread: false, first_address: 0 };
    let summary = bots::run(plan(&host, "demo"), opts, Arc::new(Live::default())).await;
    assert_eq!(summary.errors.len(), 0, "{summary:?}");
    assert_eq!((summary.completed, summary.matched), (12, 12), "{}", summary.text());
    let complete = summary.complete_to_match_ms.as_ref().expect("groups of bots");
    assert_eq!(complete.count, 12, "every member of every pair is timed");
    let events = host.events("demo");
    let finished = events.iter().filter(|e| matches!(e, Event::Finished { .. })).count();
    let games = events.iter().filter(|e| matches!(e, Event::GameCreated { .. })).count();
    let surveys = events.iter().filter(|e| matches!(e, Event::SurveyAnswered { .. })).count();
    assert_eq!((finished, games, surveys), (12, 6, 12), "consent → instructions → game → survey → end for each");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_take_part_in_probes_of_trios_and_ignore_messages_that_crossed_a_decision() {
    // Varied RTTs and failures: pairs are rejected, the group's other probes aborted
    // while their results are in flight (answered `not_a_peer`), groups re-proposed.
    // Every bot still ends in a group or with the waitroom's outcome, never an error.
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/probed-trio.yaml"], data.path(), |_| {}).await;
    let mut p = plan(&host, "probed-trio");
    p.rtt_ms = (20.0, 90.0);
    p.probe_failure = 0.1;
    let opts = RunOptions { count: 9, rate: None, spread: false, first_address: 0 };
    let summary = bots::run(p, opts, Arc::new(Live::default())).await;
    assert!(summary.errors.is_empty(), "{}", summary.text());
    let timed_out = summary.outcomes.get("waitroom_timeout").copied().unwrap_or(0);
    assert_eq!(summary.completed + timed_out, 9, "{}", summary.text());
    assert_eq!(summary.completed % 3, 0, "whole trios: {}", summary.text());
    let events = host.events("probed-trio");
    let rejected =
        events.iter().filter(|e| matches!(e, Event::ProbeFinished { outcome, .. } if outcome == "rejected")).count();
    assert!(rejected > 0, "some probes were rejected");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spread_bots_get_past_per_address_admission_and_held_bots_stay() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["experiments/demo.yaml"], data.path(), |_| {}).await;
    let mut held = plan(&host, "demo");
    held.hold = true;
    let stop = held.stop.clone();
    let live = Arc::new(Live::default());
    // More connections than one address may open at once (60).
    let opts = RunOptions { count: 75, rate: None, spread: true, first_address: 0 };
    let run = tokio::spawn(bots::run(held, opts, live.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while live.connected.load(std::sync::atomic::Ordering::Relaxed) < 75 {
        assert!(tokio::time::Instant::now() < deadline, "not all connected: {}", live.line(75));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    let summary = run.await.unwrap();
    assert_eq!(summary.held, 75, "{}", summary.text());
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let started = host.events("demo").iter().filter(|e| matches!(e, Event::SessionStarted { .. })).count();
    assert_eq!(started, 75);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bots_command_prints_a_summary_scripts_can_read() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["benches/experiments/pairs.yaml"], data.path(), |_| {}).await;
    let link = format!("http://{}/x/pairs", host.addr);
    let out = cohort_async(["bots", link.as_str(), "-n", "6", "--spread", "--json"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(summary["bots"], 6);
    assert_eq!(summary["matched"], 6);
    assert_eq!(summary["completed"], 6);
    assert!(summary["complete_to_match_ms"]["p99"].as_f64().is_some(), "{summary}");
    let bad = cohort_async(["bots", "https://example.org/x/pairs"]).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("plain HTTP"));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relax_regroups_failed_pairs_on_their_known_rtt_without_probing_again() {
    // Every pair measures 100 ms: rejected against 50 ms and remembered. Once someone
    // has waited 1.5 s the threshold is 150 ms, the failed pairs are eligible again,
    // and they play on the RTT already measured.
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/relaxed.yaml"], data.path(), |_| {}).await;
    let mut p = plan(&host, "relaxed");
    p.rtt_ms = (100.0, 100.0);
    let opts = RunOptions { count: 4, rate: None, spread: false, first_address: 0 };
    let summary = bots::run(p, opts, Arc::new(Live::default())).await;
    assert!(summary.errors.is_empty(), "{}", summary.text());
    assert_eq!(summary.completed, 4, "{}", summary.text());
    let events = host.events("relaxed");
    let count = |f: &dyn Fn(&Event) -> bool| events.iter().filter(|e| f(e)).count();
    let accepted_probes = count(&|e| matches!(e, Event::ProbeFinished { outcome, .. } if outcome == "accepted"));
    let rejected = count(
        &|e| matches!(e, Event::ProbeFinished { outcome, threshold_ms: Some(t), .. } if outcome == "rejected" && *t == 50.0),
    );
    let eligible = count(
        &|e| matches!(e, Event::PairEligible { rtt_ms, threshold_ms, .. } if *rtt_ms == 100.0 && *threshold_ms == 150.0),
    );
    let cached = count(
        &|e| matches!(e, Event::ProbeCached { rtt_ms, threshold_ms: Some(t), .. } if *rtt_ms == 100.0 && *t == 150.0),
    );
    let games = count(&|e| matches!(e, Event::GameCreated { .. }));
    assert!(rejected >= 2, "pairs were rejected against 50 ms first ({rejected})");
    assert!(eligible >= 1 && cached >= 1, "eligible {eligible}, cached {cached}");
    assert_eq!(games, 2);
    assert_eq!(cached + accepted_probes, 2, "each game's pair was accepted once: from the cache or a probe");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_are_balanced_capped_and_reach_the_games_through_the_host() {
    // Four entry conditions capped at 3 completions each: 12 of 14 bots play, the last
    // two are told the study is full; the groups alternate between two conditions.
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/conditions.yaml"], data.path(), |_| {}).await;
    let opts = RunOptions { count: 14, rate: Some(20.0), spread: false, first_address: 0 };
    let summary = bots::run(plan(&host, "conditions"), opts, Arc::new(Live::default())).await;
    assert!(summary.errors.is_empty(), "{}", summary.text());
    assert_eq!(summary.completed, 12, "{}", summary.text());
    assert_eq!(summary.outcomes.get("condition_full").copied(), Some(2), "{}", summary.text());
    let events = host.events("conditions");
    let mut entry = std::collections::BTreeMap::<String, u32>::new();
    let mut group = std::collections::BTreeMap::<String, u32>::new();
    for e in &events {
        match e {
            Event::ConditionAssigned { condition, .. } => {
                *entry.entry(condition["id"].as_str().unwrap().to_owned()).or_default() += 1;
                assert!(condition["framing"].is_string() && condition["feedback"].is_string());
            }
            Event::GroupConditionAssigned { condition, .. } => {
                *group.entry(condition["id"].as_str().unwrap().to_owned()).or_default() += 1;
            }
            Event::GameStarted { config, .. } => {
                assert!(config["conditions"]["group"]["id"].is_string(), "{config}");
                assert_eq!(config["conditions"]["players"].as_array().map(Vec::len), Some(2), "{config}");
            }
            _ => {}
        }
    }
    assert_eq!(entry.values().copied().collect::<Vec<_>>(), [3, 3, 3, 3], "{entry:?}");
    assert_eq!(group.values().copied().collect::<Vec<_>>(), [3, 3], "{group:?}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_walk_randomized_and_repeated_scenes_and_each_round_is_logged_apart() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/blocks.yaml"], data.path(), |_| {}).await;
    let opts = RunOptions { count: 6, rate: None, spread: false, first_address: 0 };
    let summary = bots::run(plan(&host, "blocks"), opts, Arc::new(Live::default())).await;
    assert!(summary.errors.is_empty(), "{}", summary.text());
    assert_eq!(summary.completed, 6, "{}", summary.text());
    let events = host.events("blocks");
    let mut rounds = std::collections::BTreeMap::<cohort::protocol::ParticipantId, Vec<u32>>::new();
    for e in &events {
        if let Event::SurveyAnswered { participant, iteration, .. } = e {
            rounds.entry(*participant).or_default().push(*iteration);
        }
    }
    assert_eq!(rounds.len(), 6);
    assert!(rounds.values().all(|r| r == &[1, 2, 3]), "{rounds:?}");
    let routes = events.iter().filter(|e| matches!(e, Event::RouteAssigned { route, .. } if route.len() == 6)).count();
    assert_eq!(routes, 6, "first, second (some order), round ×3, end");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_treatments_no_pair_mixes_them_whatever_bots_do() {
    // Two entry conditions, groups within a condition (the default); bots arrive,
    // leave the waitroom, drop out and abandon games: no game holds two conditions.
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/treatments.yaml"], data.path(), |_| {}).await;
    let mut p = plan(&host, "treatments");
    p.churn = cohort::bots::churn::Churn {
        leave: 0.15,
        drop: 0.15,
        back_in_time: 0.5,
        grace_secs: 1.0,
        ignore_probe: 0.0,
        abandon: 0.15,
    };
    let opts = RunOptions { count: 24, rate: Some(8.0), spread: false, first_address: 0 };
    let summary = bots::run(p, opts, Arc::new(Live::default())).await;
    assert!(summary.errors.is_empty(), "{}", summary.text());
    let events = host.events("treatments");
    host.stop().await;
    let mut condition = std::collections::HashMap::new();
    let (mut games, mut mixed) = (0, 0);
    for e in &events {
        match e {
            Event::ConditionAssigned { participant, condition: c } => {
                condition.insert(*participant, c["id"].as_str().unwrap().to_owned());
            }
            Event::GameCreated { players, .. } => {
                games += 1;
                let of: std::collections::BTreeSet<_> = players.iter().map(|p| condition.get(p)).collect();
                mixed += usize::from(of.len() != 1);
            }
            _ => {}
        }
    }
    assert!(games >= 6, "enough groups formed to tell ({games}): {}", summary.text());
    assert_eq!(mixed, 0, "{mixed} of {games} groups mixed the treatments");
    // The export's games table says the same: each game's players' entry conditions.
    let out = crate::support::export_with_pilots(data.path(), "treatments").await;
    let table = std::fs::read_to_string(out.path().join("treatments/games.csv")).unwrap();
    // The last columns (earlier ones hold quoted JSON with commas).
    assert!(table.lines().next().unwrap().ends_with(",entry_conditions,bots_by_host"), "{table}");
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), games);
    for row in rows {
        let last = row.rsplit(',').nth(1).unwrap();
        let words: std::collections::BTreeSet<&str> = last.split(' ').collect();
        assert!(words.len() == 1 && !last.is_empty() && last.contains('_'), "one treatment per game: {row}");
    }
    // The study's report, read in Chromium: its charts hold the export's numbers.
    let page = out.path().join("report.html");
    let report = crate::support::cohort_async([
        "report".as_ref(),
        data.path().join("treatments").as_os_str(),
        "--html".as_ref(),
        page.as_os_str(),
        "--svg".as_ref(),
        out.path().join("svg").as_os_str(),
        "--include-pilot".as_ref(),
    ])
    .await;
    assert!(report.status.success(), "{}", crate::support::text(&report.stderr));
    assert!(out.path().join("svg/treatments/time_to_group.svg").exists(), "the charts as SVG files");
    let exported = out.path().join("treatments");
    let args = [page.to_str().unwrap(), exported.to_str().unwrap()];
    if let Some(out) = crate::browser::run_script("report.mjs", &args).await {
        assert!(out.contains("PASS"), "{out}");
    }
}
