//! Swapping a policy while a study runs: a new file and `cohort reload` (the admin API)
//! or SIGHUP; nobody waiting is dropped, the new instance is told who waits, the swap
//! is logged with both files' hashes, and a file that fails to load leaves the old
//! policy in place.

use std::path::Path;
use std::time::Duration;

use cohort::client::{Client, DEFAULT_WAIT};
use cohort::eventlog::Event;
use cohort::protocol::{SceneView, ServerMsg};

use crate::plugins::{legal_pair_after, policy_wat, write_component};
use crate::support::{TestHost, cohort};

const WAITS: &str = "(i32.store8 (i32.const 64) (i32.const 0)) (i32.const 64)";

fn experiment(dir: &Path) -> std::path::PathBuf {
    let yaml = format!(
        "id: swap\ntitle: Swap\nscenes:\n  - id: play\n    kind: multiplayer\n    group_size: 2\n    matchmaker: {{plugin: policy.wasm, fallback: wait, tick_secs: 0.2}}\n    game: {{module: {}/experiments/games/demo.js, countdown_secs: 0}}\n  - id: end\n    kind: end\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let path = dir.join("swap.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

async fn waiting(addr: &str) -> Client {
    let mut c = Client::connect(addr, "swap", &[], None).await.unwrap();
    assert!(matches!(c.next_scene().await.unwrap().1, SceneView::Multiplayer { .. }));
    c
}

async fn started(c: &mut Client) {
    let got = c.wait_for("start_game", DEFAULT_WAIT, |m| matches!(m, ServerMsg::StartGame { .. }).then_some(())).await;
    assert!(got.is_ok(), "{got:?}");
}

fn reloads(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::PolicyReloaded { old_sha256, new_sha256, told, .. } => {
                Some(format!("reloaded {}→{} told {told}", &old_sha256[..8], &new_sha256[..8]))
            }
            Event::PolicyReloadFailed { error, .. } => Some(format!("failed: {error}")),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cohort_reload_swaps_the_policy_without_dropping_anyone_and_a_broken_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_component(dir.path(), "policy", &policy_wat("", WAITS));
    let yaml = experiment(dir.path());
    let data = tempfile::tempdir().unwrap();
    let host =
        TestHost::start(&[yaml.to_str().unwrap()], data.path(), |o| o.admin_token = Some("swap-token".into())).await;
    // The first policy never groups anyone.
    let mut a = waiting(&host.addr).await;
    let mut b = waiting(&host.addr).await;
    host.wait_for_event("swap", "b in the waitroom", |e| matches!(e, Event::WaitroomJoined { .. })).await;
    // A policy that pairs, in the same file; reloaded through the CLI.
    write_component(dir.path(), "policy", &policy_wat("", &legal_pair_after(0)));
    let reload = |addr: String| cohort(["reload", "swap", "--addr", addr.as_str(), "--admin-token", "swap-token"]);
    let out = tokio::task::spawn_blocking({
        let addr = host.addr.clone();
        move || reload(addr)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Both were waiting all along: the new instance is told them and pairs them.
    started(&mut a).await;
    started(&mut b).await;
    let events = host.events("swap");
    let swaps = reloads(&events);
    assert_eq!(swaps.len(), 1, "{swaps:?}");
    assert!(swaps[0].ends_with("told 2"), "{swaps:?}");
    let (old, new) = match events.iter().find(|e| matches!(e, Event::PolicyReloaded { .. })) {
        Some(Event::PolicyReloaded { old_sha256, new_sha256, .. }) => (old_sha256.clone(), new_sha256.clone()),
        _ => unreachable!(),
    };
    assert_ne!(old, new);
    assert_eq!(old.len(), 64);
    // A file that is no component: the reload fails and the pairing policy stays.
    std::fs::write(dir.path().join("policy.wasm"), b"not a component").unwrap();
    let out = tokio::task::spawn_blocking({
        let addr = host.addr.clone();
        move || reload(addr)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    host.wait_for_event("swap", "the failed reload", |e| matches!(e, Event::PolicyReloadFailed { .. })).await;
    let (mut c, mut d) = (waiting(&host.addr).await, waiting(&host.addr).await);
    started(&mut c).await;
    started(&mut d).await;
    // A wrong token is refused by the API.
    let out = cohort(["reload", "swap", "--addr", host.addr.as_str(), "--admin-token", "guess"]);
    assert_eq!(out.status.code(), Some(2));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_policies_of_a_running_host() {
    let dir = tempfile::tempdir().unwrap();
    write_component(dir.path(), "policy", &policy_wat("", WAITS));
    let yaml = experiment(dir.path());
    let data = tempfile::tempdir().unwrap();
    let (mut child, addr) = crate::support::serve_binary([
        yaml.as_os_str(),
        "--drain-secs".as_ref(),
        "0".as_ref(),
        "--data".as_ref(),
        data.path().as_os_str(),
    ]);
    let mut a = waiting(&addr).await;
    let mut b = waiting(&addr).await;
    write_component(dir.path(), "policy", &policy_wat("", &legal_pair_after(0)));
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGHUP) }, 0);
    started(&mut a).await;
    started(&mut b).await;
    let events: Vec<Event> = cohort::eventlog::previous_logs(data.path(), "swap")
        .iter()
        .flat_map(|log| cohort::eventlog::read(log).unwrap())
        .map(|r| r.event)
        .collect();
    assert!(reloads(&events).first().is_some_and(|r| r.ends_with("told 2")), "{:?}", reloads(&events));
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = tokio::time::timeout(Duration::from_secs(10), tokio::task::spawn_blocking(move || child.wait())).await;
}
