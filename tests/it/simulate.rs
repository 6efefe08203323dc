//! `cohort simulate` as a researcher runs it: figures against queueing theory, the
//! same seed giving the same report, two policies on the same arrivals, a real run's
//! arrivals replayed, and clear errors for a bad scenario.

use std::path::Path;

use cohort::client::Client;
use cohort::protocol::{ClientMsg, SceneView};
use serde_json::Value;

use crate::support::{TestHost, cohort, plugins_built, text};

/// Pairs, first come first served, nobody timing out.
fn pairs(dir: &Path) -> std::path::PathBuf {
    let yaml = format!(
        "id: pairs\ntitle: Pairs\nscenes:\n  - id: play\n    kind: multiplayer\n    group_size: 2\n    waitroom: {{timeout_secs: 3600}}\n    game: {{module: {}/experiments/games/demo.js, countdown_secs: 0}}\n  - id: end\n    kind: end\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let path = dir.join("pairs.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn simulate(args: &[&str]) -> Value {
    let out = cohort(["simulate"].iter().chain(args).chain(&["--json", "-", "--quiet"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let json = &stdout[stdout.find(['{', '[']).expect("json after the summary")..];
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn with_fifo_pairs_and_poisson_arrivals_the_first_of_each_pair_waits_one_over_lambda() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = pairs(dir.path());
    let rate = 2.0;
    let report = simulate(&[yaml.to_str().unwrap(), "--rate", "2", "--duration", "2000", "--seed", "11"]);
    let first = &report["first_wait_secs"];
    let groups = first["count"].as_f64().unwrap();
    assert!(groups > 1800.0, "about 2000 pairs: {groups}");
    // The first of a pair waits for the next arrival: Exp(λ), mean 1/λ, median ln 2/λ.
    let (mean, median) = (first["mean"].as_f64().unwrap(), first["p50"].as_f64().unwrap());
    assert!((mean - 1.0 / rate).abs() < 0.05 / rate * 1.2, "mean {mean} vs {}", 1.0 / rate);
    assert!((median - 2f64.ln() / rate).abs() < 0.03, "median {median} vs {}", 2f64.ln() / rate);
    // The second waits nothing: everyone together averages 1/(2λ).
    let all = report["wait_secs"]["mean"].as_f64().unwrap();
    assert!((all - 0.5 / rate).abs() < 0.02, "{all}");
    assert!(report["match_rate"].as_f64().unwrap() > 0.99, "{report}");
}

#[test]
fn the_same_seed_gives_the_same_report_and_another_seed_another() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = pairs(dir.path());
    let scenario = dir.path().join("s.yaml");
    std::fs::write(
        &scenario,
        "duration_secs: 300\narrivals: {poisson: {rate_per_sec: 1}}\ndropout: {leave_per_min: 2, disconnect_per_min: 1, return_probability: 0.5, return_after_secs: 3}\n",
    )
    .unwrap();
    let run = |seed: &str| {
        let mut r = simulate(&[yaml.to_str().unwrap(), "--scenario", scenario.to_str().unwrap(), "--seed", seed]);
        r.as_object_mut().unwrap().remove("wall_secs");
        r
    };
    let (a, b, c) = (run("5"), run("5"), run("6"));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a["left_waitroom"]["left"].as_u64().unwrap() > 0, "dropout happens: {a}");
}

#[test]
fn two_policies_meet_the_same_arrivals_and_the_html_report_stands_alone() {
    if !plugins_built() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let reports = simulate(&[
        "experiments/balanced-pairs.yaml",
        "--rate",
        "0.5",
        "--duration",
        "120",
        "--compare",
        "plugins/c-fifo/policy.wasm",
        "--html",
        html.to_str().unwrap(),
    ]);
    let runs = reports.as_array().expect("one report per run");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["arrived"], runs[1]["arrived"], "the same arrivals");
    assert_eq!(runs[0]["policy"], "python-balance/policy.wasm");
    assert_eq!(runs[1]["policy"], "c-fifo/policy.wasm");
    assert!(runs[0]["policy_work_ms"].as_f64().unwrap() > 0.0, "policy work is counted");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<svg") && page.contains("python-balance/policy.wasm") && page.contains("c-fifo/policy.wasm")
    );
    assert!(!page.contains("src=") && !page.contains("href=\"http"), "nothing loaded from elsewhere");
}

/// The numbers of each chart on a page (`<script class="chart-data">`), by chart id.
fn chart_data(page: &str) -> std::collections::BTreeMap<String, Value> {
    page.split("class=\"chart-data\">")
        .skip(1)
        .map(|rest| {
            let json: Value = serde_json::from_str(&rest[..rest.find("</script>").unwrap()]).unwrap();
            (json["id"].as_str().unwrap().to_owned(), json)
        })
        .collect()
}

#[test]
fn two_experiments_with_the_same_policy_are_named_by_their_files_in_the_charts() {
    let dir = tempfile::tempdir().unwrap();
    let first = pairs(dir.path());
    let second = dir.path().join("pairs-slow.yaml");
    std::fs::write(&second, std::fs::read_to_string(&first).unwrap().replace("group_size: 2", "group_size: 3"))
        .unwrap();
    let html = dir.path().join("report.html");
    let runs = simulate(&[
        first.to_str().unwrap(),
        "--rate",
        "0.5",
        "--duration",
        "300",
        "--compare",
        second.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(runs[0]["name"], "pairs.yaml · fifo");
    assert_eq!(runs[1]["name"], "pairs-slow.yaml · fifo");
    let charts = chart_data(&std::fs::read_to_string(&html).unwrap());
    // The waits of both runs overlaid, each named; each run's group RTTs in bins from
    // its data, every group counted.
    let names: Vec<&str> =
        charts["waits"]["plot"]["samples"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["pairs.yaml · fifo", "pairs-slow.yaml · fifo"]);
    for (i, run) in runs.as_array().unwrap().iter().enumerate() {
        let rtts = &charts[&format!("group_rtts_{}", i + 1)];
        let counted: u64 = rtts["bins"]["counts"][0].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(counted, run["groups"].as_u64().unwrap(), "{rtts}");
        assert!(rtts["title"].as_str().unwrap().ends_with(run["name"].as_str().unwrap()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_arrivals_of_a_real_run_can_be_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = pairs(dir.path());
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&[yaml.to_str().unwrap()], data.path(), |_| {}).await;
    // Three arrive; the first leaves before a partner comes; the other two are paired.
    let mut a = Client::connect(&host.addr, "pairs", &[], None).await.unwrap();
    assert!(matches!(a.next_scene().await.unwrap().1, SceneView::Multiplayer { .. }));
    a.request(|seq| ClientMsg::LeaveWaitroom { seq }).await.unwrap();
    host.wait_for_event("pairs", "the leave", |e| matches!(e, cohort::eventlog::Event::WaitroomLeft { .. })).await;
    let mut b = Client::connect(&host.addr, "pairs", &[], None).await.unwrap();
    b.next_scene().await.unwrap();
    let mut c = Client::connect(&host.addr, "pairs", &[], None).await.unwrap();
    c.next_scene().await.unwrap();
    host.wait_for_event("pairs", "the pair", |e| matches!(e, cohort::eventlog::Event::GameCreated { .. })).await;
    host.stop().await;
    let run = std::fs::read_dir(data.path().join("pairs")).unwrap().next().unwrap().unwrap().path();
    let report = simulate(&[yaml.to_str().unwrap(), "--replay", run.to_str().unwrap()]);
    assert_eq!(report["arrived"], 3);
    assert_eq!(report["groups"], 1);
    assert_eq!(report["left_waitroom"]["left"], 1, "the one who left leaves again: {report}");
}

#[test]
fn a_bad_scenario_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = pairs(dir.path());
    let scenario = dir.path().join("bad.yaml");
    std::fs::write(&scenario, "duration_secs: 60\narrivals:\n  poisson: {rate: 2}\n").unwrap();
    let out = cohort(["simulate".as_ref(), yaml.as_os_str(), "--scenario".as_ref(), scenario.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bad.yaml:3:") && stderr.contains("unknown field `rate`"), "{stderr}");
    let out = cohort(["simulate".as_ref(), yaml.as_os_str(), "--rate=0".as_ref()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("rate_per_sec must be above 0"), "{}", text(&out.stderr));
}

#[test]
fn within_and_across_conditions_meet_the_same_arrivals_with_figures_per_condition() {
    let reports = simulate(&["tests/fixtures/host/treatments.yaml", "--compare", "across"]);
    let runs = reports.as_array().expect("two runs");
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0]["grouping"].as_str(), runs[1]["grouping"].as_str()), (Some("within"), Some("across")));
    assert_eq!(runs[0]["arrived"], runs[1]["arrived"], "the same arrivals");
    for run in runs {
        let by = run["by_condition"].as_object().expect("figures per condition");
        assert_eq!(by.keys().collect::<Vec<_>>(), ["not_told", "told_ai"]);
        let arrived: u64 = by.values().map(|c| c["arrived"].as_u64().unwrap()).sum();
        assert_eq!(arrived, run["arrived"].as_u64().unwrap(), "every arrival is in a condition");
    }
    // Within conditions, each waits for one of their own: never shorter waits overall.
    assert!(runs[0]["wait_secs"]["mean"].as_f64() >= runs[1]["wait_secs"]["mean"].as_f64());
}

#[test]
fn the_report_says_how_many_played_with_bots_after_waiting() {
    // Few arrivals and a bot fill: within conditions more wait long enough for bots.
    let args = [
        "experiments/kitchen-treatments.yaml",
        "--scene",
        "play",
        "--rate",
        "0.02",
        "--duration",
        "3600",
        "--compare",
        "across",
    ];
    let reports = simulate(&args);
    let runs = reports.as_array().expect("two runs");
    let filled: Vec<u64> = runs.iter().map(|r| r["bot_filled"].as_u64().expect("bot_filled")).collect();
    assert!(filled[0] > 0, "{reports}");
    assert!(filled[0] >= filled[1], "within conditions, more play with bots: {filled:?}");
}
