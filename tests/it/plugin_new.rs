//! `cohort plugin new`: each language's folder passes its own local tests, builds into a
//! component with the language's toolchain, and passes `cohort plugin check`.

use std::path::Path;
use std::process::Command;

use crate::support::{cohort, plugins_built, root, text};

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} in {}:\n{}{}",
        dir.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn each_language_tests_builds_and_passes_the_check() {
    if !plugins_built() {
        return; // the toolchains come with the example policies
    }
    let parent = tempfile::tempdir().unwrap();
    for (lang, test) in
        [("python", vec!["python3", "test_policy.py"]), ("js", vec!["node", "test.mjs"]), ("c", vec!["./test.sh"])]
    {
        let name = format!("my-{lang}");
        let out = cohort([
            "plugin".as_ref(),
            "new".as_ref(),
            name.as_ref(),
            "--lang".as_ref(),
            lang.as_ref(),
            "--dir".as_ref(),
            parent.path().as_os_str(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let dir = parent.path().join(&name);
        run(&dir, test[0], &test[1..]);
        if lang == "js" {
            // The componentizer the example policy installed (`npm install` offline).
            std::os::unix::fs::symlink(root().join("plugins/js-latency/node_modules"), dir.join("node_modules"))
                .unwrap();
        }
        run(&dir, "./build.sh", &[]);
        let policy = dir.join("policy.wasm");
        let out = cohort([
            "plugin".as_ref(),
            "check".as_ref(),
            policy.as_os_str(),
            "--config".as_ref(),
            r#"{"group_by": "team"}"#.as_ref(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{lang}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            text(&out.stdout).contains("grouped across team after waiting 60000 ms"),
            "{lang}: {}",
            text(&out.stdout)
        );
    }
    // An existing folder is never overwritten.
    let out = cohort([
        "plugin".as_ref(),
        "new".as_ref(),
        "my-c".as_ref(),
        "--lang".as_ref(),
        "python".as_ref(),
        "--dir".as_ref(),
        parent.path().as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("already exists"));
}
