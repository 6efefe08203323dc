//! Real-browser tests: Debian `chromium` driven by npm `playwright-core` (scripts in
//! `tests/browser/`). They skip when chromium, node or the npm packages are missing,
//! except under `CI=true`, where `.ci/run` installed them and a skip means a failure.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{TestHost, root};

/// Why browser tests cannot run here, if they cannot.
fn missing_tool() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !PathBuf::from(&chromium).exists() {
        return Some(format!("{chromium} is missing (apt install chromium)"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is missing".to_owned());
    }
    if !root().join("tests/browser/node_modules/playwright-core").exists() {
        return Some("playwright-core is missing (npm ci --prefix tests/browser)".to_owned());
    }
    None
}

/// Runs `tests/browser/<script>` against `base`; returns its output. Skips (or, under
/// CI, fails) when the tools are missing.
pub async fn run_script(script: &str, args: &[&str]) -> Option<String> {
    if let Some(why) = missing_tool() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "browser test cannot run under CI: {why}");
        eprintln!("SKIPPED browser test {script}: {why}");
        return None;
    }
    let script = root().join("tests/browser").join(script);
    let output = tokio::process::Command::new("node").arg(&script).args(args).output().await.expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{} failed:\n{stdout}\n{stderr}", script.display());
    Some(stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_walks_the_demo_from_consent_to_the_waitroom_by_keyboard() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["experiments/demo.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = run_script("walk_demo.mjs", &[&base]).await else { return };
    assert!(out.contains("PASS: walk demo by keyboard"), "{out}");
    let events = host.events("demo");
    use cohort::eventlog::Event;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::SessionStarted { recruitment_id: Some(r), .. } if r == "browser-walker"))
    );
    assert!(events.iter().any(|e| matches!(e, Event::ConsentGiven { .. })));
    assert!(
        events.iter().any(|e| matches!(e, Event::Connected { resumed: true, .. })),
        "the reload resumed the session"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_tab_offers_to_continue_there_and_takes_over_only_when_asked() {
    use cohort::eventlog::Event;
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["experiments/demo.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = run_script("second_tab.mjs", &[&base]).await else { return };
    assert!(out.contains("PASS"), "{out}");
    let events = host.events("demo");
    let sessions = events.iter().filter(|e| matches!(e, Event::SessionStarted { .. })).count();
    assert_eq!(sessions, 1, "one session, continued in the second tab");
    let refused = events.iter().filter(|e| matches!(e, Event::DuplicateRefused { .. })).count();
    assert_eq!(refused, 2, "the second tab refused, then the first one taken over");
    assert!(events.iter().any(|e| matches!(e, Event::ConsentGiven { .. })), "the second tab went on");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_of_pages_play_the_demo_over_the_probed_channel_the_relay_and_through_faults() {
    use cohort::eventlog::Event;
    use cohort::game::EndReason;
    let data = tempfile::tempdir().unwrap();
    let files = ["tests/fixtures/host/game-paths.yaml", "tests/fixtures/host/game-relay.yaml"];
    let host = TestHost::start(&files, data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = run_script("game_paths.mjs", &[&base]).await else { return };
    let results: std::collections::BTreeMap<String, serde_json::Value> = out
        .lines()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("result line"))
        .map(|v| (v["name"].as_str().unwrap_or_default().to_owned(), v))
        .collect();
    eprintln!("{out}");
    let mut events = host.events("game-paths");
    events.extend(host.events("game-relay"));
    host.stop().await;
    let mut replays = Vec::new();
    for experiment in ["game-paths", "game-relay"] {
        let run = cohort::eventlog::previous_logs(data.path(), experiment)[0].parent().unwrap().to_path_buf();
        replays.extend(cohort::game::replay::replay_run(&run, None).expect("replay"));
    }
    let game_of = |name: &str| -> cohort::protocol::GameId {
        let id = results[name]["ends"][0]["game"].as_str().unwrap_or_else(|| panic!("{name}: {out}"));
        cohort::protocol::GameId(id.parse().unwrap())
    };
    let ended = |g| events.iter().find(|e| matches!(e, Event::GameEnded { game, .. } if *game == g));
    let relayed = |g| events.iter().any(|e| matches!(e, Event::GameRelay { game, .. } if *game == g));
    for name in ["p2p", "cut", "reload", "hidden", "relay", "no-webrtc"] {
        let g = game_of(name);
        assert!(
            matches!(ended(g), Some(Event::GameEnded { reason: EndReason::Completed, .. })),
            "{name}: {:?}",
            ended(g)
        );
        let replay = replays.iter().find(|r| r.game == g).expect("replayed");
        assert!(
            replay.matches() && replay.compared >= 2,
            "{name}: the replay agrees with every reported hash: {replay:?}"
        );
        for end in results[name]["ends"].as_array().unwrap() {
            assert_eq!(
                end["hash"].as_str(),
                Some(replay.hash.as_str()),
                "{name}: each page ends on the replay's state"
            );
            assert_eq!(end["reason"], "completed");
        }
    }
    // Peer-to-peer: a direct candidate pair, and not one input through the relay.
    let p2p = game_of("p2p");
    assert!(!relayed(p2p), "p2p: no switch to the relay");
    assert!(!events.iter().any(|e| matches!(e, Event::GameInputs { game, relayed: true, .. } if *game == p2p)));
    for path in results["p2p"]["paths"].as_array().unwrap() {
        assert_eq!(path[0]["local"], "host", "direct path: {path}");
        assert_eq!(path[0]["remote"], "host", "direct path: {path}");
    }
    assert!(relayed(game_of("cut")), "a cut channel moves the game to the relay");
    // ... and a new channel opens, direct again, before the game ends.
    for path in results["cut"]["paths"].as_array().unwrap() {
        assert_eq!(path[0]["local"], "host", "direct path again after the cut: {path}");
        assert_eq!(path[0]["remote"], "host", "direct path again after the cut: {path}");
    }
    for name in ["cut", "reload"] {
        for end in results[name]["ends"].as_array().unwrap() {
            assert!(end["reopened"].as_u64() >= Some(1), "{name}: the channel was opened again: {end}");
        }
    }
    assert!(events.iter().any(|e| matches!(e, Event::Connected { resumed: true, .. })), "the reloaded page resumed");
    let hidden_game = game_of("hidden");
    for h in [true, false] {
        let seen = events
            .iter()
            .any(|e| matches!(e, Event::Visibility { hidden, game: Some(g), .. } if *hidden == h && *g == hidden_game));
        assert!(seen, "visibility {h} logged");
    }
    assert!(events.iter().any(|e| matches!(e, Event::GameEnded { reason: EndReason::PartnerLeft, .. })));
    // No UDP: the pair's own channel never opened, and the relay carried the game.
    let relay = game_of("relay");
    assert!(results["relay"]["ends"].as_array().unwrap().iter().all(|e| e["opened"].as_array().unwrap().is_empty()));
    assert!(relayed(relay));
    assert!(events.iter().any(|e| matches!(e, Event::GameInputs { game, relayed: true, .. } if *game == relay)));
    // No RTCPeerConnection: the relay from the start, every input through the host.
    let bare = game_of("no-webrtc");
    assert!(relayed(bare), "a page without WebRTC moves the group to the relay");
    assert!(
        results["no-webrtc"]["ends"].as_array().unwrap().iter().all(|e| e["opened"].as_array().unwrap().is_empty())
    );
    // The probe measured the pair that then played over its channel.
    let probe = events.iter().find_map(|e| match e {
        Event::ProbeFinished { reported_rtt_ms: [Some(a), Some(b)], rtt_ms: Some(rtt), outcome, .. }
            if outcome == "accepted" =>
        {
            Some((*a, *b, *rtt))
        }
        _ => None,
    });
    let (a, b, rtt) = probe.expect("an accepted probe with both reports");
    assert_eq!(rtt, a.max(b), "the larger report decides");
    assert!(rtt < 80.0, "loopback RTT {rtt} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pages_practise_then_cook_together_by_key_presses_over_the_probed_channel() {
    use cohort::eventlog::Event;
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/kitchen.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = run_script("kitchen.mjs", &[&base]).await else { return };
    let events = host.events("kitchen");
    host.stop().await;
    let ends: Vec<serde_json::Value> =
        out.lines().filter_map(|l| l.strip_prefix("RESULT ")).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(ends.len(), 2, "{out}");
    let run = cohort::eventlog::previous_logs(data.path(), "kitchen")[0].parent().unwrap().to_path_buf();
    let replays = cohort::game::replay::replay_run(&run, None).expect("replay");
    assert_eq!(replays.len(), 3, "two practice games and the pair's");
    for r in &replays {
        assert!(r.matches() && r.compared > 0 && r.result.is_some(), "{r:?}");
    }
    let pair = cohort::protocol::GameId(ends[0]["game"].as_str().unwrap().parse().unwrap());
    let replay = replays.iter().find(|r| r.game == pair).expect("the pair's game");
    for end in &ends {
        assert_eq!(end["reason"], "completed");
        assert_eq!(end["hash"].as_str(), Some(replay.hash.as_str()), "both pages end on the replay's state");
    }
    assert_eq!(replay.result.as_ref().unwrap()["rounds"].as_array().map(Vec::len), Some(2), "two rounds");
    assert!(!events.iter().any(|e| matches!(e, Event::GameRelay { game, .. } if *game == pair)), "peer-to-peer");
    let keys = events
        .iter()
        .filter_map(|e| match e {
            Event::GameInputs { game, inputs, .. } if *game == pair => {
                Some(inputs.iter().filter(|i| !i.is_null()).count())
            }
            _ => None,
        })
        .sum::<usize>();
    assert!(keys > 20, "the key presses are in the log ({keys})");
    let finished = events.iter().filter(|e| matches!(e, Event::Finished { .. })).count();
    assert_eq!(finished, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_partner_leaves_plays_on_with_the_bot_cook_and_ends_on_the_replays_state() {
    use cohort::eventlog::Event;
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/kitchen-bots.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = run_script("dropout.mjs", &[&base]).await else { return };
    let events = host.events("kitchen-bots");
    host.stop().await;
    let end: serde_json::Value =
        serde_json::from_str(out.lines().find_map(|l| l.strip_prefix("RESULT ")).expect("a result")).unwrap();
    let game = cohort::protocol::GameId(end["game"].as_str().unwrap().parse().unwrap());
    assert_eq!(end["reason"], "completed");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::SeatChanged { game: g, to: cohort::game::SeatKind::Bot, .. } if *g == game))
    );
    let run = cohort::eventlog::previous_logs(data.path(), "kitchen-bots")[0].parent().unwrap().to_path_buf();
    let replay = cohort::game::replay::replay_run(&run, Some(game)).expect("replay").remove(0);
    assert!(replay.matches(), "{replay:?}");
    assert_eq!(end["hash"].as_str(), Some(replay.hash.as_str()), "the page ends on the replay's state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_tab_is_alerted_by_the_ready_check_and_the_game_waits_for_its_click() {
    use cohort::eventlog::Event;
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/ready.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = run_script("ready_check.mjs", &[&base]).await else { return };
    assert!(out.contains("PASS"), "{out}");
    let events = host.events("ready");
    let confirmed = events.iter().filter(|e| matches!(e, Event::ReadyConfirmed { .. })).count();
    let games = events.iter().filter(|e| matches!(e, Event::GameCreated { .. })).count();
    let finished = events.iter().any(|e| matches!(e, Event::ReadyCheckFinished { missed, .. } if missed.is_empty()));
    assert_eq!((confirmed, games, finished), (2, 1, true));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_german_experiment_speaks_german_in_the_page_and_from_the_host() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/german.yaml"], data.path(), |_| {}).await;
    // What the host itself sends: the second tab's notice.
    let first = cohort::client::Client::connect(&host.addr, "german", &[("PROLIFIC_PID", "de-2")], None).await.unwrap();
    let refused = cohort::client::Client::connect(&host.addr, "german", &[("PROLIFIC_PID", "de-2")], None).await;
    let text = match refused {
        Ok(_) => panic!("a second tab is refused"),
        Err(e) => format!("{e:?}"),
    };
    assert!(text.contains("bereits in einem anderen Tab"), "{text}");
    drop(first);
    let base = format!("http://{}", host.addr);
    let Some(out) = run_script("texts.mjs", &[&base]).await else { return };
    assert!(out.contains("PASS"), "{out}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desktop_chromium_passes_screening_and_a_narrow_window_is_screened_out() {
    use cohort::eventlog::Event;
    let data = tempfile::tempdir().unwrap();
    let files = ["tests/fixtures/host/screened.yaml", "tests/fixtures/host/screened-wide.yaml"];
    let host = TestHost::start(&files, data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = run_script("screening.mjs", &[&base]).await else { return };
    assert!(out.contains("PASS"), "{out}");
    assert!(!host.events("screened").iter().any(|e| matches!(e, Event::ScreenedOut { .. })));
    let out = host.events("screened-wide");
    let seen = out.iter().find_map(|e| match e {
        Event::ScreenedOut { rule, seen, .. } => Some((rule.clone(), seen.clone())),
        _ => None,
    });
    let (rule, seen) = seen.expect("screened out");
    assert_eq!(rule, "device");
    assert!(seen.starts_with("chrome, "), "{seen}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_leaves_the_waitroom_and_an_idle_game_with_pay() {
    use cohort::eventlog::Event;
    use cohort::protocol::OutcomeReason;
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/leave-paid.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = run_script("leave.mjs", &[&base]).await else { return };
    let results: Vec<serde_json::Value> =
        out.lines().filter_map(|l| l.strip_prefix("RESULT ")).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(results.len(), 2, "{out}");
    assert_eq!(results[0]["code"], "WAITED-1");
    assert!(results[0]["after"].as_f64().unwrap() >= 1.0, "{out}");
    assert_eq!((&results[1]["code"], &results[1]["partner"]), (&"IDLE-1".into(), &"PARTNER-1".into()));
    let events = host.events("leave-paid");
    host.stop().await;
    let codes: Vec<(OutcomeReason, Option<String>)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Outcome { reason, completion_code, .. } => Some((*reason, completion_code.clone())),
            _ => None,
        })
        .collect();
    assert!(codes.contains(&(OutcomeReason::LeftWaitroom, Some("WAITED-1".into()))), "{codes:?}");
    assert!(codes.contains(&(OutcomeReason::LeftIdleGame, Some("IDLE-1".into()))), "{codes:?}");
    assert!(codes.contains(&(OutcomeReason::PartnerLeft, Some("PARTNER-1".into()))), "{codes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_each_condition_gets_only_its_own_texts() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/by-condition.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = run_script("by_condition.mjs", &[&base]).await else { return };
    let results: Vec<serde_json::Value> =
        out.lines().filter_map(|l| l.strip_prefix("RESULT ")).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(results.len(), 2, "{out}");
    let mut conditions = Vec::new();
    for r in &results {
        let (shown, received) = (r["shown"].as_str().unwrap(), r["received"].as_str().unwrap());
        let ai = shown.contains("AI agent");
        let human = shown.contains("another participant");
        assert!(ai != human, "one condition's text, shown: {shown}");
        let other = if ai { "another participant" } else { "AI agent" };
        assert!(!received.contains(other), "the other condition's text reached the page: {received}");
        assert!(!received.contains("short game"), "nor the fallback it does not need: {received}");
        conditions.push(if ai { "ai" } else { "human" });
    }
    conditions.sort();
    assert_eq!(conditions, ["ai", "human"]);
    host.stop().await;
}
