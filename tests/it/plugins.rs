//! Hostile and broken policies, built inside the tests from WAT (with the `wat` and
//! `wit-component` crates, no external toolchain): each one must leave the host
//! running, the fault named, and the experiment's fallback in charge.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cohort::client::{Client, DEFAULT_WAIT};
use cohort::eventlog::Event;
use cohort::matchmaking::{Candidate, Matchmaker, PolicyError, WaitroomView};
use cohort::plugin::{Limits, PluginError, PluginMatchmaker};
use cohort::protocol::{ParticipantId, SceneView, ServerMsg};

use crate::support::{TestHost, root};

/// A policy module in WAT with `find-match` (and optionally `configure`) bodies filled
/// in. Params of find-match: 0,1 = arriving id (ptr, len), 11 = group size. Statics
/// live below 4096; `$alloc` hands out memory above.
pub(crate) fn policy_wat(init: &str, find_match: &str) -> String {
    policy_wat_with("", init, find_match)
}

/// [`policy_wat`] with more declarations (`decls`: tables, memories) in the module.
pub(crate) fn policy_wat_with(decls: &str, init: &str, find_match: &str) -> String {
    format!(
        r#"(module
  (import "cohort:matchmaker/host@0.1.0" "waiting-ids" (func $ids (param i32)))
  (import "cohort:matchmaker/host@0.1.0" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  {decls}
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 2048) "not-a-participant")
  (data (i32.const 2304) "hostile policy speaking")
  (data (i32.const 2560) "00000000-0000-0000-0000-000000000099")
  (func $alloc (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.xor (i32.sub (local.get $align) (i32.const 1)) (i32.const -1))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (block $ok
      (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
      (drop (memory.grow (i32.add (i32.div_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
                                             (i32.const 65536)) (i32.const 1)))))
    (local.get $p))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (call $alloc (local.get 2) (local.get 3)))
  (func (export "configure") (param i32 i32) (result i32)
    {init}
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.const 8))
  (func (export "on-join") (param i32 i32 i64 i32 f64 i32 i32 i32 i32 i32 i32))
  (func (export "on-leave") (param i32 i32))
  (func (export "find-match") (param i32 i32 i64 i32 f64 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (local $list i32) (local $i i32) (local $n i32)
    {find_match})
  (func (export "should-reject-for-rtt") (param i32) (result i32) (i32.const 0))
)"#
    )
}

/// `some(list)` of `n` strings stored at `list`, returned through the area at 64.
pub(crate) const RETURN_SOME: &str = "(i32.store8 (i32.const 64) (i32.const 1)) (i32.store (i32.const 68) (local.get $list)) (i32.store (i32.const 72) (local.get $n)) (return (i32.const 64))";

/// Stores string (ptr, len) as element `index` of the list at `$list`.
pub(crate) fn element(index: &str, ptr: &str, len: &str) -> String {
    format!(
        "(i32.store (i32.add (local.get $list) (i32.mul {index} (i32.const 8))) {ptr}) (i32.store (i32.add (i32.add (local.get $list) (i32.mul {index} (i32.const 8))) (i32.const 4)) {len})"
    )
}

/// A list of `n` copies of the arriving id.
pub(crate) fn arriving_times(n: u32) -> String {
    format!(
        "(local.set $n (i32.const {n})) (local.set $list (call $alloc (i32.const 4) (i32.mul (local.get $n) (i32.const 8))))
         (block $done (loop $fill
           (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
           {}
           (local.set $i (i32.add (local.get $i) (i32.const 1)))
           (br $fill)))
         {RETURN_SOME}",
        element("(local.get $i)", "(local.get 0)", "(local.get 1)")
    )
}

/// The arriving id plus the first waiting id (a valid pair), after `spin` iterations
/// of busy work.
pub(crate) fn legal_pair_after(spin: u32) -> String {
    format!(
        "(block $s (loop $l (br_if $s (i32.ge_u (local.get $i) (i32.const {spin}))) (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
         (call $log (i32.const 2304) (i32.const 23))
         (call $ids (i32.const 128))
         (if (i32.eqz (i32.load (i32.const 132))) (then (i32.store8 (i32.const 64) (i32.const 0)) (return (i32.const 64))))
         (local.set $n (i32.const 2))
         (local.set $list (call $alloc (i32.const 4) (i32.const 16)))
         {} {}
         {RETURN_SOME}",
        element("(i32.const 0)", "(local.get 0)", "(local.get 1)"),
        element("(i32.const 1)", "(i32.load (i32.load (i32.const 128)))", "(i32.load offset=4 (i32.load (i32.const 128)))"),
    )
}

/// Encodes a WAT policy as a component of the `policy` world.
fn component(wat: &str) -> Vec<u8> {
    let mut module = wat::parse_str(wat).expect("valid WAT");
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_path(root().join("plugins/matchmaker.wit")).expect("the WIT parses");
    let world = resolve.select_world(&[pkg], Some("policy")).expect("the policy world");
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8, false)
        .expect("metadata embeds");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module accepted")
        .validate(true)
        .encode()
        .expect("encodes")
}

pub(crate) fn write_component(dir: &Path, name: &str, wat: &str) -> PathBuf {
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, component(wat)).expect("component written");
    path
}

pub(crate) fn limits() -> Limits {
    Limits { call_timeout: Duration::from_millis(100), memory_bytes: 16 << 20 }
}

pub(crate) fn candidate(n: u128) -> Candidate {
    Candidate {
        id: ParticipantId(uuid::Uuid::from_u128(n)),
        joined_at: Duration::from_millis(n as u64),
        server_rtt_ms: Some(12.5),
        attributes: BTreeMap::from([("team".to_owned(), "red".to_owned())]),
        previous_partners: Vec::new(),
        avoid: Vec::new(),
    }
}

/// Asks `policy` for a group of 2 for candidate 1 among candidates 2 and 3.
pub(crate) fn ask(policy: &mut PluginMatchmaker) -> Result<Option<Vec<ParticipantId>>, PolicyError> {
    let (a, b, c) = (candidate(1), candidate(2), candidate(3));
    let view = WaitroomView::new(Duration::from_secs(5), vec![&b, &c]);
    let answer = policy.find_match(&a, &view, 2)?;
    Ok(answer)
}

#[test]
fn hostile_policies_fail_with_a_named_fault_and_the_next_call_works() {
    let dir = tempfile::tempdir().unwrap();
    let legal = legal_pair_after(0);
    type Expect = fn(&PolicyError) -> bool;
    let cases: Vec<(&str, String, Expect)> = vec![
        ("infinite-loop", "(loop $l (br $l)) (unreachable)".into(), |e| matches!(e, PolicyError::Deadline(_))),
        ("memory-bomb", "(loop $l (drop (memory.grow (i32.const 64))) (br $l)) (unreachable)".into(), |e| {
            matches!(e, PolicyError::Memory)
        }),
        ("trap", "(unreachable)".into(), |e| matches!(e, PolicyError::Trap(_))),
        (
            "not-an-id",
            format!(
                "(local.set $n (i32.const 2)) (local.set $list (i32.const 1024)) {} {} {RETURN_SOME}",
                element("(i32.const 0)", "(local.get 0)", "(local.get 1)"),
                element("(i32.const 1)", "(i32.const 2048)", "(i32.const 17)")
            ),
            |e| matches!(e, PolicyError::Other(m) if m.contains("not-a-participant")),
        ),
    ];
    for (name, body, expected) in cases {
        // Every hostile policy answers legally on its first call, and misbehaves after:
        // so the test also shows the instance is replaced and works again.
        let wat = policy_wat(
            "",
            &format!(
                "(if (i32.eqz (i32.load (i32.const 512))) (then (i32.store (i32.const 512) (i32.const 1)) {legal})) {body}"
            ),
        );
        let path = write_component(dir.path(), name, &wat);
        let mut policy = PluginMatchmaker::load(&path, "{}", limits()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let first = ask(&mut policy).unwrap_or_else(|e| panic!("{name}: first call: {e}"));
        assert_eq!(first.map(|g| g.len()), Some(2), "{name}: legal first answer");
        assert_eq!(policy.take_log(), ["hostile policy speaking"], "{name}: log lines reach the host");
        let started = Instant::now();
        let err = ask(&mut policy).expect_err(name);
        assert!(expected(&err), "{name}: unexpected fault {err:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "{name}: took {:?}", started.elapsed());
        // The faulty instance is gone: until it is re-created, calls answer at once that
        // the policy is unavailable (the fallback decides), without running anything.
        let started = Instant::now();
        assert_eq!(ask(&mut policy), Err(PolicyError::Unavailable), "{name}: down after the fault");
        assert!(started.elapsed() < Duration::from_millis(50), "{name}: no deadline spent while down");
        assert!(policy.recover(Duration::from_millis(5_500)).is_none(), "{name}: not before its pause (1 s)");
        let told = policy.recover(Duration::from_secs(6)).expect("due").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(told, 0, "{name}: nobody joined, so the fresh instance is told nobody");
        let again = ask(&mut policy).unwrap_or_else(|e| panic!("{name}: after the fault: {e}"));
        assert_eq!(again.map(|g| g.len()), Some(2), "{name}: a fresh instance answers");
    }
}

#[test]
fn wrong_answers_are_refused_by_the_hosts_validation() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (candidate(1), candidate(2), candidate(3));
    let view = WaitroomView::new(Duration::from_secs(5), vec![&b, &c]);
    let cases = [
        ("duplicate", arriving_times(2), "appears twice"),
        (
            "unknown-id",
            format!(
                "(local.set $n (i32.const 2)) (local.set $list (i32.const 1024)) {} {} {RETURN_SOME}",
                element("(i32.const 0)", "(local.get 0)", "(local.get 1)"),
                element("(i32.const 1)", "(i32.const 2560)", "(i32.const 36)")
            ),
            "00000000-0000-0000-0000-000000000099 is not an available waiting participant",
        ),
        ("wrong-size", arriving_times(1), "the group has 1 members; the experiment needs 2"),
        (
            "missing-arriving",
            format!(
                "(call $ids (i32.const 128)) (local.set $list (i32.load (i32.const 128))) (local.set $n (i32.load (i32.const 132))) {RETURN_SOME}"
            ),
            "does not include the arriving participant",
        ),
    ];
    for (name, body, expected) in cases {
        let path = write_component(dir.path(), name, &policy_wat("", &body));
        let mut policy = PluginMatchmaker::load(&path, "{}", limits()).unwrap();
        let answer = policy.find_match(&a, &view, 2).unwrap_or_else(|e| panic!("{name}: {e}"));
        let group = answer.expect("an answer");
        let refusal = cohort::matchmaking::validate(&group, &a, &view, 2).expect_err(name).to_string();
        assert!(refusal.contains(expected), "{name}: {refusal}");
    }
    // Slow but within the deadline: accepted.
    let path = write_component(dir.path(), "slow", &policy_wat("", &legal_pair_after(2_000_000)));
    let mut policy =
        PluginMatchmaker::load(&path, "{}", Limits { call_timeout: Duration::from_secs(5), ..limits() }).unwrap();
    let group = policy.find_match(&a, &view, 2).unwrap().expect("an answer");
    assert_eq!(cohort::matchmaking::validate(&group, &a, &view, 2), Ok(()));
    assert_eq!(group, vec![a.id, b.id]);
}

#[test]
fn loading_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let not_wasm = dir.path().join("text.wasm");
    std::fs::write(&not_wasm, "hello").unwrap();
    assert!(matches!(PluginMatchmaker::load(&not_wasm, "{}", limits()), Err(PluginError::Compile { .. })));
    // A component of another world: its exports do not match the contract.
    let other = wat::parse_str("(component (core module $m) (core instance (instantiate $m)))").unwrap();
    let other_path = dir.path().join("other.wasm");
    std::fs::write(&other_path, other).unwrap();
    match PluginMatchmaker::load(&other_path, "{}", limits()) {
        Err(PluginError::Contract { message, .. }) => assert!(message.contains("no export `"), "{message}"),
        other => panic!("expected a contract error, got {:?}", other.err()),
    }
    // init refusing its configuration.
    let refuse = "(i32.store8 (i32.const 8) (i32.const 1)) (i32.store (i32.const 12) (i32.const 2048)) (i32.store (i32.const 16) (i32.const 17)) (return (i32.const 8))";
    let path = write_component(dir.path(), "refuse", &policy_wat(refuse, "(unreachable)"));
    match PluginMatchmaker::load(&path, "{}", limits()) {
        Err(PluginError::Init { message, .. }) => assert_eq!(message, "not-a-participant"),
        other => panic!("expected an init refusal, got {:?}", other.err()),
    }
}

/// Writes an experiment using `policy` with `fallback`.
pub(crate) fn experiment(dir: &Path, policy: &Path, fallback: &str) -> PathBuf {
    let yaml = format!(
        "id: hostile\ntitle: Hostile policy\nscenes:\n  - id: play\n    kind: multiplayer\n    group_size: 2\n    matchmaker: {{plugin: {}, fallback: {fallback}, call_timeout_ms: 50}}\n    game: {{module: {}/experiments/games/demo.js, countdown_secs: 0}}\n  - id: end\n    kind: end\n",
        policy.display(),
        env!("CARGO_MANIFEST_DIR")
    );
    let path = dir.join("hostile.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_policy_cannot_stop_the_host_and_fifo_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write_component(dir.path(), "loop", &policy_wat("", "(loop $l (br $l)) (unreachable)"));
    let yaml = experiment(dir.path(), &policy, "fifo");
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&[yaml.to_str().unwrap()], data.path(), |_| {}).await;
    let mut a = Client::connect(&host.addr, "hostile", &[], None).await.unwrap();
    let mut b = Client::connect(&host.addr, "hostile", &[], None).await.unwrap();
    for c in [&mut a, &mut b] {
        assert!(matches!(c.next_scene().await.unwrap().1, SceneView::Multiplayer { .. }));
        let started =
            c.wait_for("start_game", DEFAULT_WAIT, |m| matches!(m, ServerMsg::StartGame { .. }).then_some(())).await;
        assert!(started.is_ok(), "the FIFO fallback matched them: {started:?}");
    }
    let faults: Vec<String> = host
        .events("hostile")
        .into_iter()
        .filter_map(|e| match e {
            Event::PolicyFault { fault, fallback, policy, .. } => Some(format!("{policy}: {fault} → {fallback}")),
            _ => None,
        })
        .collect();
    assert!(faults.iter().any(|f| f == "loop.wasm: the policy exceeded its 50ms deadline → fifo"), "{faults:?}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_wait_fallback_a_trapping_policy_matches_nobody_and_the_host_lives_on() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write_component(dir.path(), "trap", &policy_wat("", "(unreachable)"));
    let yaml = experiment(dir.path(), &policy, "wait");
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start(&[yaml.to_str().unwrap()], data.path(), |_| {}).await;
    let mut a = Client::connect(&host.addr, "hostile", &[], None).await.unwrap();
    let mut b = Client::connect(&host.addr, "hostile", &[], None).await.unwrap();
    b.next_scene().await.unwrap();
    // Wait for the fault the second arrival caused, then check nobody was matched.
    host.wait_for_event("hostile", "a policy fault", |e| matches!(e, Event::PolicyFault { .. })).await;
    let events = host.events("hostile");
    assert!(events.iter().any(
        |e| matches!(e, Event::PolicyFault { fault, fallback, .. } if fault.contains("trapped") && fallback == "wait")
    ));
    assert!(!events.iter().any(|e| matches!(e, Event::GameCreated { .. })), "wait means no match");
    // The host still serves: both are still waiting and can leave.
    a.next_scene().await.unwrap();
    a.request(|seq| cohort::protocol::ClientMsg::LeaveWaitroom { seq }).await.unwrap();
    host.stop().await;
}
