//! Semantic check of `texts`: keys the catalog has, and only the placeholders the
//! built-in text has (a misspelt one would be shown as is).

use serde_json::Value;

use super::Checker;
use crate::config::KeyPath;
use crate::config::texts::{TEXTS, entry, placeholders};

impl Checker<'_> {
    pub(super) fn texts(&mut self, document: &Value) {
        let Some(Value::Object(texts)) = document.get("texts") else { return };
        let at = KeyPath::root().key("texts");
        for (key, value) in texts {
            let Some(builtin) = entry(key) else {
                let near = super::super::diagnostic::did_you_mean(key, TEXTS.iter().map(|t| t.key))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                self.report_key(at.key(key), format!("no text is named `{key}`{near}; the keys are in docs/texts.md"));
                continue;
            };
            let Some(text) = value.as_str() else { continue }; // schema errors
            let known = placeholders(builtin.en);
            for name in placeholders(text) {
                if !known.contains(&name) {
                    let offered = if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.iter().map(|k| format!("{{{k}}}")).collect::<Vec<_>>().join(", ")
                    };
                    self.report(at.key(key), format!("`{{{name}}}` is not filled in here (this text has {offered})"));
                }
            }
        }
    }
}
