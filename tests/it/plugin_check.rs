//! `cohort plugin check` as a policy author runs it: every call judged, the
//! experiment's attributes and limits, a participants file, plain output.

use crate::plugins::{legal_pair_after, policy_wat, write_component};
use crate::support::{cohort, plugins_built, text};

#[test]
fn every_call_is_judged_so_a_policy_failing_now_and_then_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    // Traps on every 11th call of an instance, answers legally otherwise.
    let body = format!(
        "(i32.store (i32.const 512) (i32.add (i32.load (i32.const 512)) (i32.const 1)))
         (if (i32.eqz (i32.rem_u (i32.load (i32.const 512)) (i32.const 11))) (then (unreachable)))
         {}",
        legal_pair_after(0)
    );
    let policy = write_component(dir.path(), "sometimes", &policy_wat("", &body));
    let out = cohort(["plugin".as_ref(), "check".as_ref(), policy.as_os_str()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("violation: find-match with 0 waiting, groups of 2: the policy trapped: wasm trap: wasm `unreachable` instruction executed (call 11: 1 of 20)"), "{stdout}");
    assert!(stdout.contains("fault: the policy trapped"), "the batch tallies the fault: {stdout}");
    // Plain notation, and what the instance used.
    assert!(stdout.contains("should-reject-for-rtt: rtt none, max 80 ms → accept"), "{stdout}");
    assert!(!stdout.contains("Some("), "{stdout}");
    assert!(stdout.contains("memory: peak ") && stdout.contains("log: "), "{stdout}");
}

#[test]
fn a_participants_file_becomes_the_waitroom() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write_component(dir.path(), "pair", &policy_wat("", &legal_pair_after(0)));
    let list = dir.path().join("people.json");
    std::fs::write(
        &list,
        r#"[{"waited_ms": 30000, "attributes": {"side": "left"}}, {"waited_ms": 5000}, {"waited_ms": 100}]"#,
    )
    .unwrap();
    let out =
        cohort(["plugin".as_ref(), "check".as_ref(), policy.as_os_str(), "--participants".as_ref(), list.as_os_str()]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("participants: 3 participants from the file"), "{stdout}");
    assert!(stdout.contains("find-match:     3 waiting, groups of 2: proposes a group of 2 ×20"), "{stdout}");
    // The policy only makes pairs: the sample groups of three are refused, once per batch.
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let violations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("violation:")).collect();
    assert_eq!(
        violations,
        [
            "violation: find-match with 100 waiting, groups of 3: invalid answer: the group has 2 members; the experiment needs 3 (call 1, 2, 3, 4, 5, …: 20 of 20)"
        ]
    );
    std::fs::write(&list, "[{\"waited\": 1}]").unwrap();
    let out =
        cohort(["plugin".as_ref(), "check".as_ref(), policy.as_os_str(), "--participants".as_ref(), list.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown field `waited`"), "{}", text(&out.stderr));
}

#[test]
fn with_an_experiment_the_check_uses_its_config_limits_and_attributes() {
    if !plugins_built() {
        return;
    }
    let out = cohort(["plugin", "check", "--experiment", "experiments/balanced-pairs.yaml"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("participants: scene `play` of experiments/balanced-pairs.yaml: about.side ∈ {left, right}"),
        "{stdout}"
    );
    assert!(stdout.contains("of 128 MiB"), "the experiment's memory cap: {stdout}");
    assert!(
        stdout.contains("balanced by about.side: all different (left, right)"),
        "its config and attributes: {stdout}"
    );
}
