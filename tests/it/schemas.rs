//! The committed JSON Schemas: fresh, and accepted by an independent validator and YAML
//! parser for every example experiment.

use crate::support::{blessing, files_with_extension, root};

/// Fails when `schemas/` is stale. `COHORT_BLESS=1 cargo test` (or `cohort schema`)
/// rewrites it.
#[test]
fn committed_schemas_are_fresh() {
    for (name, rendered) in cohort::schemas::rendered() {
        let path = root().join("schemas").join(name);
        if blessing() {
            std::fs::write(&path, &rendered).expect("schema written");
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == rendered,
            "schemas/{name} is stale: regenerate it with `cargo run -- schema` (or COHORT_BLESS=1 cargo test) and commit it"
        );
    }
}

/// serde_yaml (independent of cohort's YAML reader) + the `jsonschema` crate against the
/// committed schema file: every example is valid, and both YAML readers agree.
#[test]
fn examples_are_valid_under_the_committed_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/experiment.schema.json")).expect("schema"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for example in files_with_extension("experiments", "yaml") {
        let text = std::fs::read_to_string(root().join(&example)).expect("readable");
        let value: serde_json::Value = serde_yaml::from_str(&text).expect("serde_yaml parses the example");
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", example.display());
        let ours = cohort::config::yaml::parse(text.as_bytes()).expect("cohort parses the example");
        assert_eq!(ours.value, value, "{}: the two YAML readers disagree", example.display());
    }
}

/// The schema rejects what `cohort validate` rejects for structural fixtures, so editors
/// flag the same mistakes.
#[test]
fn schema_rejects_structural_fixtures() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/experiment.schema.json")).expect("schema"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for name in [
        "unknown-key-top",
        "unknown-key-multiplayer",
        "unknown-key-question",
        "wrong-types",
        "group-size-too-small",
        "nonpositive-limits",
        "unknown-scene-kind",
        "missing-required",
    ] {
        let text =
            std::fs::read_to_string(root().join(format!("tests/fixtures/invalid/{name}.yaml"))).expect("fixture");
        let value: serde_json::Value = serde_yaml::from_str(&text).expect("parses");
        assert!(!validator.is_valid(&value), "{name} passes the schema");
    }
}

/// `docs/protocol.md`'s examples speak the protocol the host speaks, and the figures it
/// gives are the host's.
#[test]
fn the_protocol_doc_shows_the_current_version_and_the_real_input_budget() {
    let doc = std::fs::read_to_string(root().join("docs/protocol.md")).expect("protocol.md");
    let version = cohort::protocol::PROTOCOL_VERSION;
    for (at, _) in doc.match_indices("\"protocol\":").chain(doc.match_indices("protocol: ")) {
        let rest = &doc[at..];
        let digits: String =
            rest.split([':']).nth(1).unwrap_or("").trim().chars().take_while(char::is_ascii_digit).collect();
        let Ok(n) = digits.parse::<u32>() else { continue };
        let line = doc[..at].lines().count() + 1;
        let refused_one = rest.starts_with("protocol: 1` gets `unsupported_protocol`");
        assert!(
            n == version || refused_one,
            "docs/protocol.md:{line}: protocol {n} in an example; the host speaks {version}"
        );
    }
    let game: cohort::config::multiplayer::Game =
        serde_json::from_value(serde_json::json!({"module": "g.js"})).expect("a game");
    assert_eq!(game.tick_rate, 20);
    let budget = game.input_budget();
    let shown = budget
        .to_string()
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(",");
    assert!(
        doc.contains(&format!("{shown} at\n  20 ticks/s")) || doc.contains(&format!("{shown} at 20 ticks/s")),
        "the default input budget at 20 ticks/s is {shown} bytes"
    );
}
