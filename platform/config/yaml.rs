//! The one place that reads YAML: text → JSON value tree + key-path → position index.
//!
//! serde stops at the first error and locates only that one, so experiment files are
//! read in two steps: this module turns YAML into a `serde_json::Value` (YAML 1.2 core
//! schema) and records where every key and value was written; later stages (schema,
//! typed model, semantic checks) report all their problems by key path, and the
//! [`SourceMap`] turns each path back into `line:column`. Swapping the YAML parser
//! touches this file only.
//!
//! Hostile input is bounded here: size, encoding, binary content, nesting depth, alias
//! expansion and document count each give one clear [`Problem`], never a panic or hang.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};

use super::diagnostic::{KeyPath, Pos, Problem, SourceMap, Span};

/// Largest experiment file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Deepest nesting of mappings and lists accepted.
pub const MAX_DEPTH: usize = 32;
/// Most values a document may hold once aliases are expanded (stops "billion laughs").
pub const MAX_NODES: usize = 100_000;

/// A parsed document.
#[derive(Debug)]
pub struct Parsed {
    pub value: Value,
    pub source: SourceMap,
}

/// Parses the bytes of one experiment file.
pub fn parse(bytes: &[u8]) -> Result<Parsed, Problem> {
    let text = check_text(bytes)?;
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            // The scanner has its own (deeper) nesting limit; word it like ours.
            let message = if e.info().contains("recursion limit") {
                format!("nesting is deeper than {MAX_DEPTH} levels")
            } else {
                format!("YAML syntax error: {}", e.info())
            };
            Problem::at(pos(e.marker()), message)
        })?;
        if builder.on_event(event, pos(&span.start))? {
            break;
        }
    }
    match builder.root {
        Some((value, _)) if !value.is_null() => Ok(Parsed { value, source: builder.source }),
        _ => Err(Problem::at(
            Pos { line: 1, column: 1 },
            "the file is empty: expected a mapping with `id`, `title` and `scenes`",
        )),
    }
}

/// Size, binary and encoding checks before any parsing.
fn check_text(bytes: &[u8]) -> Result<&str, Problem> {
    let start = Pos { line: 1, column: 1 };
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Problem::at(
            start,
            format!("the file is {} bytes; experiment files are limited to {} bytes", bytes.len(), MAX_FILE_BYTES),
        ));
    }
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        let prefix = String::from_utf8_lossy(&bytes[..nul]);
        return Err(Problem::at(end_pos(&prefix), "the file contains a NUL byte: it looks binary, not YAML text"));
    }
    let valid = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let prefix = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            return Err(Problem::at(
                end_pos(prefix),
                format!("the file is not valid UTF-8 (invalid byte 0x{:02x})", bytes[e.valid_up_to()]),
            ));
        }
    };
    Ok(valid)
}

/// The position just after `prefix`.
fn end_pos(prefix: &str) -> Pos {
    let line = prefix.matches('\n').count() + 1;
    let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos { line, column }
}

fn pos(marker: &Marker) -> Pos {
    Pos { line: marker.line(), column: marker.col() + 1 }
}

/// An open mapping or list.
struct Frame {
    path: KeyPath,
    anchor: usize,
    /// Node count when the container opened, to size its anchor.
    nodes_at_start: usize,
    container: Container,
}

enum Container {
    List(Vec<Value>),
    Mapping {
        map: Map<String, Value>,
        /// The key read but whose value has not arrived yet.
        pending: Option<(String, Pos)>,
        seen: HashMap<String, Pos>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Anchor id → (value, node count).
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    documents: usize,
    root: Option<(Value, usize)>,
    source: SourceMap,
}

impl Builder {
    /// Handles one event; `Ok(true)` when the stream ended.
    fn on_event(&mut self, event: Event<'_>, at: Pos) -> Result<bool, Problem> {
        match event {
            Event::StreamEnd => return Ok(true),
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Problem::at(
                        at,
                        "a second YAML document starts here; an experiment file holds exactly one",
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.is_key_slot() {
                    self.key(text.into_owned(), at)?;
                } else {
                    let value = resolve_scalar(&text, style, tag.as_deref(), at)?;
                    // Long strings weigh more, so that aliases of a long string cannot
                    // expand into gigabytes within the value budget.
                    self.node(value, weight(&text), anchor, at)?;
                }
            }
            Event::Alias(id) => {
                let Some((value, count)) = self.anchors.get(&id).cloned() else {
                    return Err(Problem::at(at, "this alias refers to an unknown anchor"));
                };
                if self.is_key_slot() {
                    return Err(Problem::at(at, "mapping keys must be plain text, not aliases"));
                }
                self.node(value, count, 0, at)?;
            }
            Event::SequenceStart(anchor, _) => self.open(Container::List(Vec::new()), anchor, at)?,
            Event::MappingStart(anchor, _) => {
                self.open(Container::Mapping { map: Map::new(), pending: None, seen: HashMap::new() }, anchor, at)?
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(at)?,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(false)
    }

    fn is_key_slot(&self) -> bool {
        matches!(self.stack.last(), Some(Frame { container: Container::Mapping { pending: None, .. }, .. }))
    }

    fn key(&mut self, key: String, at: Pos) -> Result<(), Problem> {
        let Some(Frame { container: Container::Mapping { pending, seen, .. }, path, .. }) = self.stack.last_mut()
        else {
            unreachable!("key slot checked by the caller");
        };
        if let Some(first) = seen.get(&key) {
            return Err(Problem::new(
                at,
                path.key(&key),
                format!("duplicate key `{key}` (first written at line {})", first.line),
            ));
        }
        seen.insert(key.clone(), at);
        let key_weight = weight(&key) - 1;
        *pending = Some((key, at));
        self.count(key_weight, at)
    }

    /// Path and key position of the next value, given the innermost open container.
    fn next_slot(&self) -> (KeyPath, Option<Pos>) {
        match self.stack.last() {
            None => (KeyPath::root(), None),
            Some(Frame { path, container: Container::List(items), .. }) => (path.index(items.len()), None),
            Some(Frame { path, container: Container::Mapping { pending, .. }, .. }) => {
                let (key, key_pos) = pending.as_ref().expect("value slot has a pending key");
                (path.key(key), Some(*key_pos))
            }
        }
    }

    fn open(&mut self, container: Container, anchor: usize, at: Pos) -> Result<(), Problem> {
        if self.is_key_slot() {
            return Err(Problem::at(at, "mapping keys must be plain text, not lists or mappings"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(Problem::at(at, format!("nesting is deeper than {MAX_DEPTH} levels")));
        }
        let (path, key) = self.next_slot();
        self.count(1, at)?;
        self.source.insert(path.clone(), Span { key, value: at });
        self.stack.push(Frame { path, anchor, nodes_at_start: self.nodes, container });
        Ok(())
    }

    fn close(&mut self, at: Pos) -> Result<(), Problem> {
        let frame = self.stack.pop().ok_or_else(|| Problem::at(at, "unbalanced YAML structure"))?;
        let value = match frame.container {
            Container::List(items) => Value::Array(items),
            Container::Mapping { map, .. } => Value::Object(map),
        };
        let count = self.nodes - frame.nodes_at_start + 1;
        if frame.anchor != 0 {
            self.anchors.insert(frame.anchor, (value.clone(), count));
        }
        self.attach(value, count);
        Ok(())
    }

    /// A complete value (scalar or expanded alias) in the next slot.
    fn node(&mut self, value: Value, count: usize, anchor: usize, at: Pos) -> Result<(), Problem> {
        self.count(count, at)?;
        let (path, key) = self.next_slot();
        self.source.insert(path, Span { key, value: at });
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), count));
        }
        self.attach(value, count);
        Ok(())
    }

    fn count(&mut self, count: usize, at: Pos) -> Result<(), Problem> {
        self.nodes = self.nodes.saturating_add(count);
        if self.nodes > MAX_NODES {
            return Err(Problem::at(
                at,
                format!("the document expands to more than {MAX_NODES} values (through aliases?)"),
            ));
        }
        Ok(())
    }

    fn attach(&mut self, value: Value, count: usize) {
        match self.stack.last_mut() {
            None => self.root = Some((value, count)),
            Some(Frame { container: Container::List(items), .. }) => items.push(value),
            Some(Frame { container: Container::Mapping { map, pending, .. }, .. }) => {
                let (key, _) = pending.take().expect("value slot has a pending key");
                map.insert(key, value);
            }
        }
    }
}

/// What a scalar counts against [`MAX_NODES`]: one, plus one per 64 bytes.
fn weight(text: &str) -> usize {
    1 + text.len() / 64
}

/// YAML 1.2 core schema: plain scalars may be null, booleans or numbers; quoted and
/// block scalars are strings.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>, at: Pos) -> Result<Value, Problem> {
    if let Some(tag) = tag {
        if !tag.is_yaml_core_schema() {
            return Err(Problem::at(at, format!("unsupported YAML tag `{tag}`")));
        }
        if tag.suffix == "str" {
            return Ok(Value::String(text.to_owned()));
        }
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_owned()));
    }
    Ok(match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | ".nan" | ".NaN" | ".NAN" => {
            return Err(Problem::at(at, format!("`{text}` is not a finite number")));
        }
        _ => number(text).unwrap_or_else(|| Value::String(text.to_owned())),
    })
}

fn number(text: &str) -> Option<Value> {
    if let Some(hex) = text.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok().map(Value::from);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return u64::from_str_radix(oct, 8).ok().map(Value::from);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        || !digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        || !digits.chars().any(|c| c.is_ascii_digit())
    {
        return None;
    }
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    if let Ok(i) = unsigned.parse::<i64>() {
        return Some(Value::from(i));
    }
    let float: f64 = unsigned.parse().ok()?;
    // A whole number written as `2.0` or `1e3` is an integer, as a researcher means it
    // (integer keys would otherwise fail late with a vague message).
    if float.fract() == 0.0 && float.abs() < 9_007_199_254_740_992.0 {
        return Some(Value::from(float as i64));
    }
    Number::from_f64(float).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Parsed {
        parse(text.as_bytes()).unwrap()
    }

    fn err(text: &[u8]) -> String {
        let p = parse(text).unwrap_err();
        format!("{}: {}", p.pos, p.message)
    }

    #[test]
    fn core_schema_scalars() {
        let p = ok("a: 1\nb: -2.5\nc: yes\nd: ~\ne: true\nf: '1'\ng: 0x1F\nh: 1e3\ni: 1.2.3\nj: 2.0\n");
        assert_eq!(
            p.value,
            serde_json::json!({"a":1,"b":-2.5,"c":"yes","d":null,"e":true,"f":"1","g":31,"h":1000,"i":"1.2.3","j":2})
        );
    }

    #[test]
    fn positions_of_keys_and_values() {
        let p = ok("id: x\nscenes:\n  - kind: end\n    id: done\n");
        let path = KeyPath::root().key("scenes").index(0).key("id");
        let span = p.source.span(&path).unwrap();
        assert_eq!(span.key, Some(Pos { line: 4, column: 5 }));
        assert_eq!(span.value, Pos { line: 4, column: 9 });
    }

    #[test]
    fn hostile_inputs_get_one_clear_problem() {
        assert!(err(b"").contains("empty"));
        assert!(err(b"# only a comment\n").contains("empty"));
        assert_eq!(err(b"a: 1\nb: \xff\n"), "2:4: the file is not valid UTF-8 (invalid byte 0xff)");
        assert!(err(b"a: \x00").contains("binary"));
        assert!(err(b"a: 1\n---\nb: 2\n").starts_with("2:1: a second YAML document"));
        assert!(err("a: [".repeat(100).as_bytes()).contains("deeper than 32"));
        assert!(err(b"a: 1\na: 2\n").contains("duplicate key `a` (first written at line 1)"));
        assert!(err(b"x: .nan").contains("not a finite number"));
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
        assert!(err(bomb.as_bytes()).contains("more than 100000 values"));
        assert!(err(&vec![b'a'; MAX_FILE_BYTES + 1]).contains("limited to"));
        let long = format!("s: &s \"{}\"\nl: [{}]\n", "x".repeat(500_000), vec!["*s"; 2000].join(", "));
        assert!(err(long.as_bytes()).contains("more than 100000 values"), "aliases of a long string are weighed");
    }

    #[test]
    fn aliases_expand_within_budget() {
        let p = ok("base: &q {kind: text, id: a}\nlist: [*q, *q]\n");
        assert_eq!(p.value["list"][1]["kind"], "text");
    }
}
