//! The policy sandbox under hostile and slow code (policies built from WAT in the
//! test): one memory cap for the whole instance, a bounded copy to the host, a work
//! budget per matching pass, recovery after a fault off the decision path, an
//! experiment that cannot start leaving the others running, and `validate` calling
//! `configure`.

use std::path::Path;
use std::time::Duration;

use cohort::client::{Client, DEFAULT_WAIT};
use cohort::eventlog::Event;
use cohort::matchmaking::{Matchmaker, PolicyError};
use cohort::plugin::{Limits, PluginMatchmaker};
use cohort::protocol::{ClientMsg, ParticipantId, SceneView};

use crate::plugins::{arriving_times, ask, legal_pair_after, limits, policy_wat, policy_wat_with, write_component};
use crate::support::{TestHost, cohort, text};

/// Spins `n` loop iterations (busy work), then logs the arriving id followed by two
/// digits of a call counter (so consecutive lines about one participant differ and
/// are all written), and waits.
fn spin_then_wait(n: u32) -> String {
    format!(
        "(block $s (loop $l (br_if $s (i32.ge_u (local.get $i) (i32.const {n}))) (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
         (i32.store (i32.const 516) (i32.add (i32.load (i32.const 516)) (i32.const 1)))
         (memory.copy (i32.const 3000) (local.get 0) (local.get 1))
         (i32.store8 (i32.add (i32.const 3000) (local.get 1)) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (i32.load (i32.const 516)) (i32.const 10)) (i32.const 10))))
         (i32.store8 (i32.add (i32.const 3001) (local.get 1)) (i32.add (i32.const 48) (i32.rem_u (i32.load (i32.const 516)) (i32.const 10))))
         (call $log (i32.const 3000) (i32.add (local.get 1) (i32.const 2)))
         (i32.store8 (i32.const 64) (i32.const 0)) (i32.const 64)"
    )
}

#[test]
fn one_memory_cap_covers_every_memory_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let cap = Limits { memory_bytes: 16 << 20, ..limits() };
    // 10 MiB in the first memory fits under 16 MiB; 10 more in a second memory does
    // not, though each memory alone is under the cap.
    let ten_mib = "(drop (memory.grow (i32.const 160)))";
    let cases = [
        ("one-memory", "", format!("{ten_mib} {}", legal_pair_after(0)), true),
        ("two-memories", "(memory $extra 0)", format!("{ten_mib} (drop (memory.grow $extra (i32.const 160))) (unreachable)"), false),
        // Tables count too: 1.5 M references are 12 MiB, twice that is over the cap.
        (
            "tables",
            "(table $t 0 funcref)",
            "(drop (table.grow $t (ref.null func) (i32.const 1500000))) (drop (table.grow $t (ref.null func) (i32.const 1500000))) (unreachable)".to_owned(),
            false,
        ),
    ];
    for (name, decls, body, fits) in cases {
        let path = write_component(dir.path(), name, &policy_wat_with(decls, "", &body));
        let mut policy = PluginMatchmaker::load(&path, "{}", cap).unwrap_or_else(|e| panic!("{name}: {e}"));
        let answer = ask(&mut policy);
        if fits {
            assert_eq!(answer.map(|g| g.map(|g| g.len())), Ok(Some(2)), "{name}");
            assert!(policy.usage().peak_memory >= 10 << 20, "{name}: {:?}", policy.usage());
        } else {
            assert_eq!(answer, Err(PolicyError::Memory), "{name}");
        }
    }
}

#[test]
fn an_answer_too_large_to_copy_is_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    // 200,000 ids are 7 MB of strings: over the 4 MiB a call may copy to the host.
    let path = write_component(dir.path(), "huge", &policy_wat("", &arriving_times(200_000)));
    let mut policy = PluginMatchmaker::load(&path, "{}", limits()).unwrap();
    match ask(&mut policy) {
        Err(PolicyError::Trap(message)) => assert!(message.contains("too much data"), "{message}"),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn work_is_counted_in_instructions_the_same_on_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_component(dir.path(), "spin", &policy_wat("", &spin_then_wait(100_000)));
    let mut works = Vec::new();
    for _ in 0..2 {
        let mut policy = PluginMatchmaker::load(&path, "{}", limits()).unwrap();
        let before = policy.work();
        assert_eq!(ask(&mut policy), Ok(None));
        works.push(policy.work() - before);
    }
    assert_eq!(works[0], works[1], "the same call, the same work");
    assert!(works[0] > 100_000, "at least one instruction per iteration: {works:?}");
}

#[test]
fn a_fresh_instance_is_told_thousands_waiting_within_its_restart_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let body = "(if (i32.eqz (i32.load (i32.const 512))) (then (i32.store (i32.const 512) (i32.const 1)) (unreachable))) (i32.store8 (i32.const 64) (i32.const 0)) (i32.const 64)";
    let path = write_component(dir.path(), "flaky", &policy_wat("", body));
    let mut policy = PluginMatchmaker::load(&path, "{}", limits()).unwrap();
    for n in 10..5010 {
        policy.on_join(&crate::plugins::candidate(n)).expect("on-join");
    }
    assert!(matches!(ask(&mut policy), Err(PolicyError::Trap(_))));
    // One call's deadline (100 ms) would not do for 5,000 on-joins through the
    // instance; the restart has ten.
    let told = policy.recover(Duration::from_secs(60)).expect("due").expect("restarted");
    assert_eq!(told, 5000);
    // Live again: the fresh instance runs (and, as written, traps on its first call).
    assert!(matches!(ask(&mut policy), Err(PolicyError::Trap(_))));
}

fn yaml(dir: &Path, id: &str, matchmaker: &str) -> std::path::PathBuf {
    let yaml = format!(
        "id: {id}\ntitle: Sandbox\nscenes:\n  - id: play\n    kind: multiplayer\n    group_size: 2\n    matchmaker: {{{matchmaker}}}\n    game: {{module: {}/experiments/games/demo.js, countdown_secs: 0}}\n  - id: end\n    kind: end\n",
        env!("CARGO_MANIFEST_DIR")
    );
    let path = dir.join(format!("{id}.yaml"));
    std::fs::write(&path, yaml).unwrap();
    path
}

async fn waiting(host: &TestHost, experiment: &str) -> Client {
    let mut c = Client::connect(&host.addr, experiment, &[], None).await.unwrap();
    assert!(matches!(c.next_scene().await.unwrap().1, SceneView::Multiplayer { .. }));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_stops_when_its_budget_is_spent_and_the_next_starts_with_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    // Each call does about 2.7 M instructions of work: a 2 ms budget (10 M units) is
    // spent after a few of the six waiting.
    let policy = write_component(dir.path(), "slow", &policy_wat("", &spin_then_wait(300_000)));
    let mm = format!(
        "plugin: {}, fallback: wait, call_timeout_ms: 2000, pass_budget_ms: 2, tick_secs: 0.2",
        policy.display()
    );
    let yaml = yaml(dir.path(), "budget", &mm);
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&[yaml.to_str().unwrap()], data.path(), |_| {}).await;
    let mut clients = Vec::new();
    for _ in 0..6 {
        clients.push(waiting(&host, "budget").await);
    }
    let ids: Vec<ParticipantId> = clients.iter().map(|c| c.welcome.participant).collect();
    host.wait_for_event(
        "budget",
        "a spent pass budget",
        |e| matches!(e, Event::PolicyBudget { asked, deferred, .. } if asked + deferred == 6),
    )
    .await;
    let events = host.events("budget");
    let at = events.iter().position(|e| matches!(e, Event::PolicyBudget { .. })).expect("found");
    let Event::PolicyBudget { asked, work_ms, .. } = &events[at] else { unreachable!() };
    assert!((1..6).contains(asked), "the pass stopped before asking everyone: {asked}");
    assert!(*work_ms >= 2.0, "it stopped once the budget was spent: {work_ms}");
    // The passes after it start with those not asked: soon everyone has been asked in
    // a pass, not only the oldest few.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = host.events("budget");
        let asked: std::collections::HashSet<ParticipantId> = events[at..]
            .iter()
            .filter_map(|e| match e {
                Event::PolicyLog { arriving, .. } => Some(*arriving),
                _ => None,
            })
            .collect();
        if ids.iter().all(|p| asked.contains(p)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "passes never reached {:?}",
            ids.iter().filter(|p| !asked.contains(p)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Meanwhile the experiment answers its participants.
    let left = clients[0].request(|seq| ClientMsg::LeaveWaitroom { seq }).await;
    assert!(left.is_ok(), "{left:?}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_fault_the_fallback_decides_until_a_tick_restarts_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    // Every fresh instance traps on its first find-match, then waits.
    let body = format!(
        "(if (i32.eqz (i32.load (i32.const 512))) (then (i32.store (i32.const 512) (i32.const 1)) (unreachable))) {}",
        spin_then_wait(0)
    );
    let policy = write_component(dir.path(), "flaky", &policy_wat("", &body));
    let mm = format!("plugin: {}, fallback: wait, tick_secs: 0.2", policy.display());
    let yaml = yaml(dir.path(), "flaky", &mm);
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&[yaml.to_str().unwrap()], data.path(), |_| {}).await;
    let _a = waiting(&host, "flaky").await;
    host.wait_for_event("flaky", "the fault", |e| matches!(e, Event::PolicyFault { .. })).await;
    let _b = waiting(&host, "flaky").await;
    host.wait_for_event("flaky", "the restart", |e| matches!(e, Event::PolicyRestarted { .. })).await;
    let events = host.events("flaky");
    let restart = events.iter().position(|e| matches!(e, Event::PolicyRestarted { .. })).expect("found");
    let Event::PolicyRestarted { told, .. } = &events[restart] else { unreachable!() };
    assert_eq!(*told, 2, "the fresh instance is told both waiting");
    let faults = events[..restart].iter().filter(|e| matches!(e, Event::PolicyFault { .. })).count();
    assert_eq!(faults, 1, "calls while the policy was down are no new faults");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experiment_whose_policy_cannot_start_is_unavailable_and_the_others_run() {
    let dir = tempfile::tempdir().unwrap();
    let good_policy = write_component(dir.path(), "good", &policy_wat("", &legal_pair_after(0)));
    let broken = yaml(dir.path(), "broken", &format!("plugin: {}", good_policy.display()));
    let fine = yaml(dir.path(), "fine", "fallback: fifo");
    let (loaded, reports) = cohort::config::load_all(&[broken, fine]);
    assert!(reports.is_empty(), "{reports:?}");
    // The policy file changes after validation: now it refuses its configuration.
    let refuse = "(i32.store8 (i32.const 8) (i32.const 1)) (i32.store (i32.const 12) (i32.const 2048)) (i32.store (i32.const 16) (i32.const 17)) (return (i32.const 8))";
    write_component(dir.path(), "good", &policy_wat(refuse, "(unreachable)"));
    let data = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let opts = cohort::server::ServeOptions::new(data.path().to_path_buf());
    let task = tokio::spawn(cohort::server::run(listener, loaded, opts, shutdown.clone()));
    let mut c = Client::connect(&addr, "fine", &[], None).await.expect("the other experiment serves");
    assert!(matches!(c.next_scene().await.unwrap().1, SceneView::Multiplayer { .. }));
    let reply = crate::support::http(&addr, "GET", "/x/broken", &[], "").await;
    let (status, body) = (reply.status, reply.body);
    assert_eq!(status, 503);
    assert!(body.contains("not available") && !body.contains("refused"), "no cause shown to participants: {body}");
    let reply = crate::support::http(&addr, "GET", "/healthz", &[], "").await;
    let (status, body) = (reply.status, reply.body);
    assert_eq!(status, 503);
    assert!(body.contains("broken: unavailable") && body.contains("not-a-participant"), "{body}");
    assert!(!data.path().join("broken").exists(), "no run directory for an experiment that did not start");
    shutdown.cancel();
    tokio::time::timeout(DEFAULT_WAIT, task).await.unwrap().unwrap().unwrap();
}

#[test]
fn validate_calls_configure_and_locates_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let refuse = "(i32.store8 (i32.const 8) (i32.const 1)) (i32.store (i32.const 12) (i32.const 2048)) (i32.store (i32.const 16) (i32.const 17)) (return (i32.const 8))";
    let policy = write_component(dir.path(), "refuse", &policy_wat(refuse, "(unreachable)"));
    let path = yaml(dir.path(), "refused", &format!("plugin: {}, config: {{roles: 5}}", policy.display()));
    let out = cohort(["validate".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    // Located at the config (line 7, where the flow mapping puts it), with the refusal.
    assert!(stderr.contains("refused.yaml:7:"), "{stderr}");
    assert!(stderr.contains("scenes[0].matchmaker.config: the policy"), "{stderr}");
    assert!(stderr.contains("refused this config: not-a-participant"), "{stderr}");
}
