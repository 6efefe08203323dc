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
async fn two_browser_pages_are_probed_over_webrtc_matched_and_play() {
    use cohort::eventlog::Event;
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&["tests/fixtures/host/probed-demo.yaml"], data.path(), |_| {}).await;
    let base = format!("http://{}", host.addr);
    let Some(out) = run_script("probe_pair.mjs", &[&base]).await else { return };
    assert!(out.contains("PASS"), "{out}");
    let events = host.events("probed-demo");
    let probe = events
        .iter()
        .find_map(|e| match e {
            Event::ProbeFinished { reported_rtt_ms, rtt_ms, outcome, .. } => {
                Some((*reported_rtt_ms, *rtt_ms, outcome.clone()))
            }
            _ => None,
        })
        .expect("a probe was recorded");
    let ([Some(a), Some(b)], Some(rtt), outcome) = probe else { panic!("both peers must report an RTT: {probe:?}") };
    assert_eq!(outcome, "accepted");
    assert_eq!(rtt, a.max(b), "the larger report decides");
    assert!(rtt < 80.0, "loopback RTT {rtt} ms");
    eprintln!("browser-to-browser loopback probe: reports {a:.2} / {b:.2} ms, decided {rtt:.2} ms");
    assert!(events.iter().any(|e| matches!(e, Event::GameEnded { reason: cohort::game::EndReason::Completed, .. })));
    host.stop().await;
}
