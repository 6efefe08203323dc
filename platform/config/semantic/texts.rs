//! Semantic check of `texts`: keys the catalog has, and only the placeholders the
//! built-in text has (a misspelt one would be shown as is).

use serde_json::Value;

use super::Checker;
use crate::config::KeyPath;
use crate::config::texts::{TEXTS, entry, placeholders};

impl Checker<'_> {
    pub(super) fn texts(&mut self, document: &Value) {
        if let Some(Value::Object(texts)) = document.get("texts") {
            self.text_map(&KeyPath::root().key("texts"), texts, false);
        }
        let Some(Value::Object(by)) = document.get("texts_by_condition") else { return };
        let entry = self.entry.clone();
        let at = KeyPath::root().key("texts_by_condition");
        for (condition, texts) in by {
            match &entry {
                None => {
                    self.report_key(at.key(condition), "texts by condition need entry conditions (`conditions.entry`)")
                }
                Some(set) => {
                    self.condition_key(at.key(condition), condition, set, true);
                }
            }
            if let Value::Object(texts) = texts {
                self.text_map(&at.key(condition), texts, true);
            }
        }
    }

    /// Keys the catalog has, and only the placeholders the built-in text has; `page`:
    /// only texts the page shows (the host's own messages are the same for everyone).
    fn text_map(&mut self, at: &KeyPath, texts: &serde_json::Map<String, Value>, page: bool) {
        for (key, value) in texts {
            if page && (key.starts_with("outcome.") || key.starts_with("host.")) {
                let message = format!(
                    "`{key}` is a message of the host, the same for every condition: give outcome messages in the scene's outcome (`message`)"
                );
                self.report_key(at.key(key), message);
                continue;
            }
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
