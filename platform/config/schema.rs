//! The experiment JSON Schema: generated from the model, committed to `schemas/`, and
//! used to check every parsed file, each violation reported at its key path.
//!
//! Two choices make both editors and our messages precise:
//! - tagged unions (`kind:`) are emitted as `if kind = X then <X's schema>` rather than
//!   schemars' default `oneOf`, so a mistake inside a scene is reported against that
//!   scene's kind, not as "matches none of 5 alternatives";
//! - optional keys accept no `null` (leave the key out instead), so no `anyOf` with null.
//!
//! Draft 7 is used because it is what editors (yaml-language-server) support best.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::Value;

use super::diagnostic::{KeyPath, Problem, SourceMap, did_you_mean};
use super::model::{ConsentScene, EndScene, Experiment, InstructionsScene, Scene};
use super::multiplayer::MultiplayerScene;
use super::survey::{
    ChoiceQuestion, DropdownQuestion, LikertQuestion, MatrixQuestion, MultipleChoiceQuestion, NumberQuestion, Question,
    RankQuestion, SliderQuestion, SurveyScene, TextQuestion,
};
use super::types::PATTERN_HINTS;

/// The schema of an experiment file, as committed in `schemas/experiment.schema.json`.
pub fn experiment_schema() -> Value {
    let mut settings = SchemaSettings::draft07();
    settings.transforms.push(Box::new(RecursiveTransform(strip_null)));
    let mut value = settings.into_generator().root_schema_for::<Experiment>().to_value();
    value["$id"] = Value::from("https://cohort.example/schemas/experiment.schema.json");
    value
}

/// Removes `null` as an accepted type of optional keys, and absent keys (`null`) from
/// documented defaults.
fn strip_null(schema: &mut Schema) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    match obj.get_mut("default") {
        Some(Value::Null) => {
            obj.remove("default");
        }
        Some(default) => drop_null_keys(default),
        None => {}
    }
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(branches)) = obj.get_mut("anyOf") {
        branches.retain(|b| b.get("type").is_none_or(|t| t != "null"));
        if branches.len() == 1 {
            let only = obj.remove("anyOf").expect("present");
            obj.insert("allOf".into(), only);
        }
    }
}

fn drop_null_keys(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(drop_null_keys);
    }
}

/// The schema of a union tagged by `tag`: the tag must be one of the variant names, and
/// the object must then match that variant's schema (which also lists the tag, so that
/// the variant's `additionalProperties: false` accepts it).
fn tagged_union(
    generator: &mut SchemaGenerator,
    tag: &str,
    description: &str,
    variants: &[(&str, Schema, String)],
) -> Schema {
    let defs_prefix = format!("#{}/", generator.settings().definitions_path.trim_end_matches('/'));
    let names: Vec<&str> = variants.iter().map(|(n, _, _)| *n).collect();
    let mut branches = Vec::new();
    for (name, schema, def_name) in variants {
        let mut schema = schema.clone();
        let obj = schema.ensure_object();
        let props = obj.entry("properties").or_insert_with(|| Value::Object(Default::default()));
        props[tag] = serde_json::json!({ "const": name });
        let required = obj.entry("required").or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(r) = required {
            r.insert(0, Value::from(tag));
        }
        generator.definitions_mut().insert(def_name.clone(), schema.to_value());
        branches.push(serde_json::json!({
            "if": { "properties": { tag: { "const": name } }, "required": [tag] },
            "then": { "$ref": format!("{defs_prefix}{def_name}") },
        }));
    }
    json_schema!({
        "description": description,
        "type": "object",
        "required": [tag],
        "properties": { tag: { "enum": names, "description": format!("What kind of {}: one of {}.", tag_subject(description), names.join(", ")) } },
        "allOf": branches,
    })
}

fn tag_subject(description: &str) -> &str {
    if description.contains("question") { "question" } else { "scene" }
}

fn variant<T: JsonSchema>(generator: &mut SchemaGenerator, name: &'static str) -> (&'static str, Schema, String) {
    (name, T::json_schema(generator), T::schema_name().into_owned())
}

impl JsonSchema for Scene {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Scene".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let variants = [
            variant::<ConsentScene>(g, "consent"),
            variant::<InstructionsScene>(g, "instructions"),
            variant::<SurveyScene>(g, "survey"),
            variant::<MultiplayerScene>(g, "multiplayer"),
            variant::<EndScene>(g, "end"),
        ];
        tagged_union(g, "kind", "One step of the experiment; its keys depend on `kind`.", &variants)
    }
}

impl JsonSchema for Question {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Question".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let variants = [
            variant::<TextQuestion>(g, "text"),
            variant::<ChoiceQuestion>(g, "single_choice"),
            variant::<MultipleChoiceQuestion>(g, "multiple_choice"),
            variant::<LikertQuestion>(g, "likert"),
            variant::<NumberQuestion>(g, "number"),
            variant::<SliderQuestion>(g, "slider"),
            variant::<DropdownQuestion>(g, "dropdown"),
            variant::<MatrixQuestion>(g, "matrix"),
            variant::<RankQuestion>(g, "rank"),
        ];
        tagged_union(g, "kind", "One survey question; its keys depend on `kind`.", &variants)
    }
}

struct Checker {
    schema: Value,
    validator: jsonschema::Validator,
}

fn checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        let schema = experiment_schema();
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&schema)
            .expect("the generated experiment schema compiles");
        Checker { schema, validator }
    })
}

/// Every schema violation of `value`, located through `source`.
pub fn check(value: &Value, source: &SourceMap) -> Vec<Problem> {
    let checker = checker();
    let mut problems = Vec::new();
    for error in checker.validator.iter_errors(value) {
        let path = key_path(error.instance_path().segments());
        let instance = error.instance();
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known = known_keys(&checker.schema, error.schema_path().as_str());
                for key in unexpected {
                    let at = path.key(key);
                    problems.push(Problem::new(source.key_pos(&at), at, unknown_key(key, &known)));
                }
            }
            ValidationErrorKind::OneOfNotValid { .. }
                if let Some(options) = one_of_constants(&checker.schema, error.schema_path().as_str()) =>
            {
                problems.push(Problem::new(source.value_pos(&path), path, not_one_of(instance, &options)));
            }
            ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. }
                if let Some(types) = alternative_types(&checker.schema, error.schema_path().as_str()) =>
            {
                let message = format!("expected {types}, found {}", found(instance));
                problems.push(Problem::new(source.value_pos(&path), path, message));
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                problems.push(Problem::new(source.value_pos(&path), path, format!("missing required key `{name}`")));
            }
            kind => {
                let message = describe(kind, instance).unwrap_or_else(|| error.to_string());
                problems.push(Problem::new(source.value_pos(&path), path, message));
            }
        }
    }
    problems
}

/// `value` without the keys the schema does not know (typos, keys of other versions),
/// so that the semantic checks of the objects holding them still run: a typo in one key
/// does not hide the next problem in the same object.
pub fn without_unknown_keys(value: &Value) -> Value {
    let checker = checker();
    let mut pruned = value.clone();
    // Each round removes the unknown keys reported; a key can only hide others under
    // an `if`/`then` that now applies, so a few rounds settle it.
    for _ in 0..4 {
        let unknown: Vec<(String, Vec<String>)> = checker
            .validator
            .iter_errors(&pruned)
            .filter_map(|error| match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    Some((error.instance_path().as_str().to_owned(), unexpected.clone()))
                }
                _ => None,
            })
            .collect();
        if unknown.is_empty() {
            break;
        }
        for (at, keys) in unknown {
            if let Some(Value::Object(object)) = pruned.pointer_mut(&at) {
                for key in keys {
                    object.remove(&key);
                }
            }
        }
    }
    pruned
}

fn key_path<'a>(segments: impl Iterator<Item = LocationSegment<'a>>) -> KeyPath {
    let mut path = KeyPath::root();
    for segment in segments {
        path = match segment {
            LocationSegment::Property(key) => path.key(&key),
            LocationSegment::Index(i) => path.index(i),
        };
    }
    path
}

/// The schema node at a keyword location (a JSON pointer into the schema that may pass
/// through `$ref`s, which are followed).
fn node_at<'s>(schema: &'s Value, location: &str) -> Option<&'s Value> {
    let mut node = schema;
    for segment in location.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        node = match (segment.as_str(), node) {
            ("$ref", Value::Object(o)) => {
                let target = o.get("$ref")?.as_str()?.strip_prefix('#')?;
                schema.pointer(target)?
            }
            (key, Value::Object(o)) => o.get(key)?,
            (index, Value::Array(a)) => a.get(index.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// The values a `oneOf` of constants allows (an enumeration with a description per
/// value, as schemars writes documented enums); `None` when an alternative is more
/// than a constant.
fn one_of_constants(schema: &Value, keyword_location: &str) -> Option<Vec<String>> {
    let alternatives = node_at(schema, keyword_location)?.as_array()?;
    let mut options = Vec::new();
    for alternative in alternatives {
        if let Some(c) = alternative.get("const").and_then(Value::as_str) {
            options.push(c.to_owned());
        } else if let Some(values) = alternative.get("enum").and_then(Value::as_array) {
            options.extend(values.iter().filter_map(Value::as_str).map(str::to_owned));
        } else {
            return None;
        }
    }
    (!options.is_empty()).then_some(options)
}

/// What the alternatives of an `anyOf` / `oneOf` of plain types accept, in words
/// ("true or false, or a mapping"); `None` when one is more than a type.
fn alternative_types(schema: &Value, keyword_location: &str) -> Option<String> {
    let alternatives = node_at(schema, keyword_location)?.as_array()?;
    let words: Option<Vec<&str>> = alternatives
        .iter()
        .map(|a| {
            let a = match a.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
                Some(target) => schema.pointer(target)?,
                None => a,
            };
            a.get("type").and_then(Value::as_str).map(type_word)
        })
        .collect();
    let words = words?;
    (!words.is_empty()).then(|| words.join(", or "))
}

/// `"ai" is not one of: end, continue, bot, backfill`, with a suggestion when close.
fn not_one_of(instance: &Value, options: &[String]) -> String {
    let written = instance.as_str().unwrap_or_default();
    let hint = did_you_mean(written, options.iter().map(String::as_str))
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    format!("`{}` is not one of: {}{hint}", scalar(instance), options.join(", "))
}

/// The property names allowed where `additionalProperties` failed: the `properties` of
/// the schema object that holds the failing keyword.
fn known_keys(schema: &Value, keyword_location: &str) -> Vec<String> {
    let parent = keyword_location.rsplit_once('/').map_or("", |(p, _)| p);
    node_at(schema, parent)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

fn unknown_key(key: &str, known: &[String]) -> String {
    // Keys of the game section before games were modules (protocol 1).
    if known.iter().any(|k| k == "tick_rate") {
        match key {
            "name" => {
                return "`game.name` is gone: a game is an ES module beside the experiment, e.g. `module: games/demo.js` (see docs/games.md)".to_owned();
            }
            "episodes" => {
                return "`game.episodes` is gone: rounds are the game's own, e.g. `config: {rounds: 3}` read by its `init`".to_owned();
            }
            _ => {}
        }
    }
    match did_you_mean(key, known.iter().map(String::as_str)) {
        Some(near) => format!("unknown key `{key}` (did you mean `{near}`?)"),
        None if known.is_empty() => format!("unknown key `{key}`"),
        None => format!("unknown key `{key}`; expected one of: {}", known.join(", ")),
    }
}

/// Plain-words messages for the common violations; `None` falls back to the
/// validator's own wording.
fn describe(kind: &ValidationErrorKind, instance: &Value) -> Option<String> {
    Some(match kind {
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => type_word(&t.to_string()).to_owned(),
                TypeKind::Multiple(set) => {
                    set.iter().map(|t| type_word(&t.to_string()).to_owned()).collect::<Vec<_>>().join(" or ")
                }
            };
            format!("expected {expected}, found {}", found(instance))
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> =
                options.as_array()?.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            not_one_of(instance, &options)
        }
        ValidationErrorKind::Minimum { limit } => {
            format!("must be at least {limit} (found {})", scalar(instance))
        }
        ValidationErrorKind::Maximum { limit } => {
            format!("must be at most {limit} (found {})", scalar(instance))
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("must be greater than {limit} (found {})", scalar(instance))
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("must be less than {limit} (found {})", scalar(instance))
        }
        ValidationErrorKind::MinLength { limit } if *limit == 1 => "must not be empty".to_owned(),
        ValidationErrorKind::MinLength { limit } => {
            format!("must be at least {limit} characters long")
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("must be at most {limit} characters long (found {})", instance.as_str()?.chars().count())
        }
        ValidationErrorKind::MinItems { limit } if *limit == 1 => "must not be empty".to_owned(),
        ValidationErrorKind::MinItems { limit } => format!("must have at least {limit} items"),
        ValidationErrorKind::MaxItems { limit } => format!("must have at most {limit} items"),
        ValidationErrorKind::Pattern { .. } if instance.as_str() == Some("") => "must not be empty".to_owned(),
        ValidationErrorKind::Pattern { pattern } => {
            let hint = PATTERN_HINTS.iter().find(|(p, _)| p == pattern).map(|(_, h)| *h)?;
            format!("`{}` {hint}", scalar(instance))
        }
        _ => return None,
    })
}

fn type_word(json_type: &str) -> &str {
    match json_type {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "text",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        "null" => "nothing",
        other => other,
    }
}

fn found(instance: &Value) -> String {
    match instance {
        Value::Null => "nothing (null)".to_owned(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::String(s) => format!("text `{}`", truncate(s)),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
    }
}

fn scalar(instance: &Value) -> String {
    match instance {
        Value::String(s) => truncate(s),
        other => truncate(&other.to_string()),
    }
}

fn truncate(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX { s.to_owned() } else { format!("{}…", s.chars().take(MAX).collect::<String>()) }
}
