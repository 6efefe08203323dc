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
