//! `cohort validate`: every example passes; every invalid fixture fails with exactly its
//! golden message; hostile input never panics or hangs.

use std::time::{Duration, Instant};

use crate::support::{blessing, cohort, files_with_extension, root, text};

#[test]
fn every_example_experiment_validates() {
    let built = crate::support::plugins_built();
    let examples: Vec<_> = files_with_extension("experiments", "yaml")
        .into_iter()
        .filter(|p| built || !std::fs::read_to_string(root().join(p)).unwrap_or_default().contains("plugin:"))
        .collect();
    assert!(examples.len() >= 2, "expected the demo and at least one other example");
    let out = cohort(std::iter::once("validate".as_ref()).chain(examples.iter().map(|p| p.as_os_str())));
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for example in &examples {
        assert!(
            stdout.contains(&format!("ok: {}", example.display())),
            "no summary for {}:\n{stdout}",
            example.display()
        );
    }
}

#[test]
fn every_example_names_the_schema_for_editors() {
    for example in files_with_extension("experiments", "yaml") {
        let first = std::fs::read_to_string(root().join(&example)).expect("readable");
        assert!(
            first.starts_with("# yaml-language-server: $schema=../schemas/experiment.schema.json\n"),
            "{} must start with the yaml-language-server schema comment",
            example.display()
        );
    }
}

/// Each `tests/fixtures/invalid/NAME.yaml` fails with exit code 2 and prints exactly
/// `NAME.expected`. `COHORT_BLESS=1` rewrites the golden files.
#[test]
fn invalid_fixtures_fail_with_their_golden_messages() {
    let fixtures = files_with_extension("tests/fixtures/invalid", "yaml");
    assert!(fixtures.len() >= 25, "only {} invalid fixtures", fixtures.len());
    let mut mismatches = Vec::new();
    for fixture in &fixtures {
        let out = cohort(["validate".as_ref(), fixture.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{} should exit 2", fixture.display());
        assert!(out.stdout.is_empty(), "{} printed a summary", fixture.display());
        let golden = root().join(fixture.with_extension("expected"));
        let actual = text(&out.stderr);
        if blessing() {
            std::fs::write(&golden, &actual).expect("golden written");
            continue;
        }
        let expected = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("missing {}; run with COHORT_BLESS=1 to create it", golden.display()));
        if actual != expected {
            mismatches.push(format!("{}:\n--- expected\n{expected}--- actual\n{actual}", fixture.display()));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    let goldens = files_with_extension("tests/fixtures/invalid", "expected");
    assert_eq!(goldens.len(), fixtures.len(), "every golden file needs its fixture and vice versa");
}

#[test]
fn all_problems_of_several_files_are_reported_together() {
    let out = cohort([
        "validate",
        "experiments/demo.yaml",
        "tests/fixtures/invalid/unknown-key-top.yaml",
        "tests/fixtures/invalid/wrong-types.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unknown-key-top.yaml:3:1: titel: unknown key `titel` (did you mean `title`?)"),
        "{stderr}"
    );
    assert!(stderr.contains("wrong-types.yaml:7:17: scenes[0].group_size: expected a whole number"), "{stderr}");
    assert!(stderr.ends_with("8 problem(s) in 2 of 3 file(s)\n"), "{stderr}");
    assert!(text(&out.stdout).contains("ok: experiments/demo.yaml"));
}

#[test]
fn experiment_ids_are_unique_across_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("copy.yaml");
    std::fs::copy(root().join("experiments/demo.yaml"), &copy).expect("copy");
    std::fs::create_dir_all(dir.path().join("text")).expect("mkdir");
    std::fs::copy(root().join("experiments/text/demo-consent.md"), dir.path().join("text/demo-consent.md"))
        .expect("copy");
    std::os::unix::fs::symlink(root().join("experiments/games"), dir.path().join("games")).expect("symlink");
    let out = cohort(["validate".as_ref(), "experiments/demo.yaml".as_ref(), copy.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("copy.yaml:6:5: id: experiment id `demo` is already used by experiments/demo.yaml"),
        "{stderr}"
    );
}

/// Generated hostile files (too large to commit): each gets one clear message, fast.
#[test]
fn hostile_generated_files_get_a_clear_error_quickly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "huge-line.yaml",
            format!("id: x\ntitle: {}\n", "a".repeat(3 << 20)).into_bytes(),
            "experiment files are limited to 1048576 bytes",
        ),
        (
            "long-title.yaml",
            format!("id: x\ntitle: {}\nscenes: [{{id: e, kind: end}}]\n", "a".repeat(900_000)).into_bytes(),
            "title: must be at most 200 characters long (found 900000)",
        ),
        ("deep-flow.yaml", "[".repeat(500_000).into_bytes(), "nesting is deeper than 32 levels"),
        (
            "deep-block.yaml",
            (0..300).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>().into_bytes(),
            "nesting is deeper than 32 levels",
        ),
        ("many-docs.yaml", "---\na: 1\n".repeat(10_000).into_bytes(), "a second YAML document starts here"),
        ("directory", Vec::new(), "is a directory"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        if name == "directory" {
            std::fs::create_dir(&path).expect("mkdir");
        } else {
            std::fs::write(&path, bytes).expect("write");
        }
        let started = Instant::now();
        let out = cohort(["validate".as_ref(), path.as_os_str()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: expected {expected:?} in\n{stderr}");
        assert!(started.elapsed() < Duration::from_secs(20), "{name} took {:?}", started.elapsed());
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = cohort(["validate", "experiments/no-such-file.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("experiments/no-such-file.yaml: cannot read the file:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn help_lists_the_commands() {
    let out = cohort(["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for command in ["validate", "schema", "serve"] {
        assert!(help.contains(command), "--help does not list {command}:\n{help}");
    }
    assert_eq!(cohort(["no-such-command"]).status.code(), Some(2));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Arbitrary edits of a valid experiment never panic the loader: every outcome is an
    /// experiment or located problems.
    #[test]
    fn mutated_experiments_never_panic(
        edits in proptest::collection::vec((0usize..4000, proptest::num::u8::ANY, 0u8..3), 1..8)
    ) {
        let mut bytes = std::fs::read(root().join("experiments/trio-latency.yaml")).expect("example");
        for (at, byte, op) in edits {
            let at = at % (bytes.len() + 1);
            match op {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => { bytes.remove(at); }
                _ => {}
            }
        }
        if let Err(problems) = cohort::config::parse(&bytes, &root().join("experiments")) {
            proptest::prop_assert!(!problems.is_empty());
            for p in problems {
                proptest::prop_assert!(!p.message.is_empty());
            }
        }
    }

    /// Arbitrary short YAML-ish text never panics the loader.
    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\n\t]{0,300}") {
        let _ = cohort::config::parse(text.as_bytes(), &root());
    }
}
