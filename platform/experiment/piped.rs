//! Piped values: `{answer:<scene>.<question>}` and `{result:<scene>.<key>}` in the texts
//! a participant reads, filled in by the host with their own earlier answer or game
//! result when the page is sent. A participant's words are text, never markup: in an
//! HTML body they are escaped, elsewhere the page inserts them as text; the view is
//! rebuilt field by field, so no value can break the message either.

use serde_json::Value;

use super::state::State;
use crate::config::show_if::{Facts, ValueRef};
use crate::protocol::{ParticipantId, SceneView};

/// Whether `text` names a piped value.
pub fn pipes(text: &str) -> bool {
    text.contains("{answer:") || text.contains("{result:")
}

/// Keys of a scene view whose strings are never filled in: ids, the options and items
/// an answer names, rules, codes and links.
const KEPT: &[&str] = &["id", "kind", "options", "show_if", "completion_code", "redirect_url"];

impl State {
    /// `view` with every piped value filled in for `pid`.
    pub(super) fn pipe_view(&self, pid: ParticipantId, view: SceneView) -> SceneView {
        let Ok(mut tree) = serde_json::to_value(&view) else { return view };
        self.pipe_tree(pid, &mut tree, false);
        serde_json::from_value(tree).unwrap_or(view)
    }

    fn pipe_tree(&self, pid: ParticipantId, value: &mut Value, html: bool) {
        match value {
            Value::String(s) if pipes(s) => *s = self.pipe_text(pid, s, html),
            Value::Array(items) => items.iter_mut().for_each(|v| self.pipe_tree(pid, v, html)),
            Value::Object(map) => {
                for (key, v) in map.iter_mut().filter(|(k, _)| !KEPT.contains(&k.as_str())) {
                    self.pipe_tree(pid, v, key == "html");
                }
                // A matrix item's id stays as it is; its text is filled.
            }
            _ => {}
        }
    }

    /// `text` with `{answer:…}` and `{result:…}` filled in for `pid` (escaped for HTML
    /// when `html`); a missing value is filled in as nothing.
    pub(super) fn pipe_text(&self, pid: ParticipantId, text: &str, html: bool) -> String {
        let facts = self.facts_of(pid);
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let reference = after.find('}').and_then(|close| {
                let name = &after[..close];
                let value = ValueRef::try_from(name.to_owned()).ok()?;
                Some((close, value))
            });
            match reference {
                Some((close, value)) => {
                    let shown = facts.value(&value).map(|v| shown(&v)).unwrap_or_default();
                    out.push_str(&if html { escape(&shown) } else { shown });
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// A value as a participant reads it: text as it is, numbers as written, a list's
/// items and a matrix's points separated by commas.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map.iter().map(|(k, v)| format!("{k}: {}", shown(v))).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_text_and_markup_is_escaped() {
        assert_eq!(shown(&serde_json::json!(["tea", "coffee"])), "tea, coffee");
        assert_eq!(shown(&serde_json::json!({"calm": 5, "fun": 2})), "calm: 5, fun: 2");
        assert_eq!(shown(&serde_json::json!(2.5)), "2.5");
        assert_eq!(
            escape(r#"<img src=x onerror="alert(1)">&'"#),
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;"
        );
    }
}
