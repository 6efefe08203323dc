//! Display logic (`show_if`): who is shown a scene or a question, by their entry
//! condition, their earlier answers (`answer:<scene>.<question>`) and their games'
//! results (`result:<scene>.<key>`), with comparisons and `all` / `any` / `not`.
//!
//! One rule is a map; every key it gives must hold. A value that is missing (a question
//! not answered or not shown, a game that ended without a result, with `{error}`, or
//! without the key) fails every comparison but `answered: false`. The host evaluates a
//! rule against what it knows; within one survey, the part of a question's rule about
//! that survey's own answers is left for the page (see [`ShowIf::residual`]), which
//! shows and hides the question as the participant answers, and the host checks the
//! submission against the whole rule.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::conditions::Condition;

/// Who is shown a scene or a question. Every key given must hold; `all`, `any` and
/// `not` combine rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowIf {
    /// Participants of any of these entry conditions (a name or `factor=level`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub condition: Option<Vec<String>>,
    /// What the comparisons beside it test: an earlier answer
    /// (`answer:<scene>.<question>`) or a game result of an earlier multiplayer scene
    /// (`result:<scene>.<key>`, the participant's last game there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ValueRef>,
    /// The value is this (numbers by value: 3 equals 3.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// The value is given and is not this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Value>,
    /// The value is one of these.
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub one_of: Option<Vec<Value>>,
    /// The value is a number at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// The value is a number at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<f64>,
    /// The value is a number above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// The value is a number below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// The value is a list (multiple choice, rank) holding this option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    pub includes: Option<String>,
    /// `true`: the value is given; `false`: it is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<bool>,
    /// Every one of these rules holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    pub all: Option<Vec<ShowIf>>,
    /// At least one of these rules holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    pub any: Option<Vec<ShowIf>>,
    /// This rule does not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<ShowIf>>,
}

/// `answer:<scene>.<question>` or `result:<scene>.<key>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ValueRef(String);

/// What a [`ValueRef`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// An answer, or with `item` one item's point of a matrix answer.
    Answer {
        scene: &'a str,
        question: &'a str,
        item: Option<&'a str>,
    },
    Result {
        scene: &'a str,
        key: &'a str,
    },
}

impl Source<'_> {
    /// The value it names within `answer` (the whole answer, or a matrix item's point).
    pub fn pick(&self, answer: Value) -> Option<Value> {
        match self {
            Source::Answer { item: Some(item), .. } => answer.get(item).cloned(),
            _ => Some(answer),
        }
    }

    /// The value an `answer:` source names among one survey's `answers` (none when the
    /// question is unanswered or blank, or the source is a result).
    pub fn in_answers(&self, answers: &std::collections::BTreeMap<String, crate::protocol::Answer>) -> Option<Value> {
        let Source::Answer { question, .. } = self else { return None };
        let answer = answers.get(*question).filter(|a| !a.is_blank())?;
        self.pick(serde_json::to_value(answer).ok()?)
    }
}

const VALUE_PATTERN: &str = "^(answer:[a-z0-9][a-z0-9_-]{0,63}\\.[A-Za-z0-9_][A-Za-z0-9_-]{0,63}(\\.[A-Za-z0-9_][A-Za-z0-9_-]{0,63})?|result:[a-z0-9][a-z0-9_-]{0,63}\\.[A-Za-z0-9_][A-Za-z0-9_-]{0,63})$";

impl TryFrom<String> for ValueRef {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let key = |k: &str| {
            (1..=64).contains(&k.len())
                && !k.starts_with('-')
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        let ok = match s.split_once(':') {
            Some((kind @ ("answer" | "result"), rest)) => rest.split_once('.').is_some_and(|(scene, k)| {
                // `answer:<scene>.<matrix>.<item>` names one item of a matrix.
                let parts: Vec<&str> = k.split('.').collect();
                let fits = match (kind, parts.len()) {
                    ("answer", 1 | 2) | ("result", 1) => parts.iter().all(|p| key(p)),
                    _ => false,
                };
                super::types::Slug::try_from(scene.to_owned()).is_ok() && fits
            }),
            _ => false,
        };
        if ok {
            Ok(Self(s))
        } else {
            Err(format!(
                "`{s}` is not `answer:<scene>.<question>` (`.<item>` for a matrix item) or `result:<scene>.<key>`"
            ))
        }
    }
}

impl From<ValueRef> for String {
    fn from(v: ValueRef) -> String {
        v.0
    }
}

impl JsonSchema for ValueRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ValueRef".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": VALUE_PATTERN,
            "description": "`answer:<scene>.<question>`: an earlier answer (`answer:<scene>.<matrix>.<item>`: one item's point); `result:<scene>.<key>`: a key of the participant's last game result in an earlier multiplayer scene."
        })
    }
}

impl ValueRef {
    pub fn source(&self) -> Source<'_> {
        let (kind, rest) = self.0.split_once(':').unwrap_or(("answer", &self.0));
        let (scene, key) = rest.split_once('.').unwrap_or((rest, ""));
        match kind {
            "result" => Source::Result { scene, key },
            _ => {
                let (question, item) = key.split_once('.').map_or((key, None), |(q, i)| (q, Some(i)));
                Source::Answer { scene, question, item }
            }
        }
    }

    /// The scene it names.
    pub fn scene(&self) -> &str {
        match self.source() {
            Source::Answer { scene, .. } | Source::Result { scene, .. } => scene,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a rule is evaluated against: the participant's conditions and values.
pub trait Facts {
    /// Whether the participant is of the entry condition `key` (a name or
    /// `factor=level`).
    fn in_condition(&self, key: &str) -> bool;
    /// The value a reference names for the participant, `None` when missing.
    fn value(&self, of: &ValueRef) -> Option<Value>;
}

/// A participant's entry condition (and nothing else known).
pub struct ConditionOnly<'a>(pub Option<&'a Condition>);

impl Facts for ConditionOnly<'_> {
    fn in_condition(&self, key: &str) -> bool {
        self.0.is_some_and(|c| super::by_condition::applies(key, c))
    }
    fn value(&self, _: &ValueRef) -> Option<Value> {
        None
    }
}

/// A rule partly evaluated: known, or left to decide over some values.
#[derive(Debug, Clone, PartialEq)]
pub enum Residual {
    Known(bool),
    Open(Box<ShowIf>),
}

impl ShowIf {
    /// Whether the rule holds for `facts`.
    pub fn holds(&self, facts: &dyn Facts) -> bool {
        self.residual(facts, &|_| false) == Residual::Known(true)
    }

    /// The rule with every part decided that `facts` can decide: the comparisons on a
    /// value for which `open(value)` is true are left as they are (a survey's own
    /// answers, which the page decides as the participant answers).
    pub fn residual(&self, facts: &dyn Facts, open: &dyn Fn(&ValueRef) -> bool) -> Residual {
        let mut parts: Vec<Residual> = Vec::new();
        if let Some(keys) = &self.condition {
            parts.push(Residual::Known(keys.iter().any(|k| facts.in_condition(k))));
        }
        if let Some(value) = &self.value {
            if open(value) {
                parts.push(Residual::Open(Box::new(self.comparisons())));
            } else {
                parts.push(Residual::Known(self.compare(facts.value(value).as_ref())));
            }
        }
        if let Some(rules) = &self.all {
            parts.push(all(rules.iter().map(|r| r.residual(facts, open)).collect()));
        }
        if let Some(rules) = &self.any {
            parts.push(any(rules.iter().map(|r| r.residual(facts, open)).collect()));
        }
        if let Some(rule) = &self.not {
            parts.push(match rule.residual(facts, open) {
                Residual::Known(b) => Residual::Known(!b),
                Residual::Open(r) => Residual::Open(Box::new(ShowIf { not: Some(r), ..Default::default() })),
            });
        }
        all(parts)
    }

    /// Only the value and its comparisons.
    fn comparisons(&self) -> ShowIf {
        ShowIf { condition: None, all: None, any: None, not: None, ..self.clone() }
    }

    /// Whether `value` (`None`: missing) passes every comparison given.
    pub fn compare(&self, value: Option<&Value>) -> bool {
        let value = value.filter(|v| !blank(v));
        if let Some(answered) = self.answered
            && answered != value.is_some()
        {
            return false;
        }
        let Some(v) = value else {
            // Missing: only `answered: false` can hold.
            return self.answered == Some(false) && !self.has_comparison();
        };
        let number = number(v);
        let checks = [
            self.equals.as_ref().map(|x| same(v, x)),
            self.not_equals.as_ref().map(|x| !same(v, x)),
            self.one_of.as_ref().map(|xs| xs.iter().any(|x| same(v, x))),
            self.at_least.map(|x| number.is_some_and(|n| n >= x)),
            self.at_most.map(|x| number.is_some_and(|n| n <= x)),
            self.above.map(|x| number.is_some_and(|n| n > x)),
            self.below.map(|x| number.is_some_and(|n| n < x)),
            self.includes.as_ref().map(|o| v.as_array().is_some_and(|a| a.iter().any(|e| e.as_str() == Some(o)))),
        ];
        checks.into_iter().flatten().all(|ok| ok)
    }

    /// Whether it compares its value (other than `answered`).
    pub fn has_comparison(&self) -> bool {
        self.equals.is_some()
            || self.not_equals.is_some()
            || self.one_of.is_some()
            || self.at_least.is_some()
            || self.at_most.is_some()
            || self.above.is_some()
            || self.below.is_some()
            || self.includes.is_some()
    }

    /// Every value the rule refers to, nested rules included.
    pub fn values(&self) -> Vec<&ValueRef> {
        let mut out: Vec<&ValueRef> = self.value.iter().collect();
        for rules in [&self.all, &self.any].into_iter().flatten() {
            out.extend(rules.iter().flat_map(ShowIf::values));
        }
        if let Some(rule) = &self.not {
            out.extend(rule.values());
        }
        out
    }

    /// Every condition key the rule names, nested rules included.
    pub fn conditions(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.condition.iter().flatten().map(String::as_str).collect();
        for rules in [&self.all, &self.any].into_iter().flatten() {
            out.extend(rules.iter().flat_map(ShowIf::conditions));
        }
        if let Some(rule) = &self.not {
            out.extend(rule.conditions());
        }
        out
    }

    /// Every rule in this one (itself first) with where it is in the file.
    pub fn located(&self, at: &super::diagnostic::KeyPath) -> Vec<(super::diagnostic::KeyPath, &ShowIf)> {
        let mut out = vec![(at.clone(), self)];
        for (key, rules) in [("all", &self.all), ("any", &self.any)] {
            for (i, rule) in rules.iter().flatten().enumerate() {
                out.extend(rule.located(&at.key(key).index(i)));
            }
        }
        if let Some(rule) = &self.not {
            out.extend(rule.located(&at.key("not")));
        }
        out
    }

    /// Whether the rule could hold for a participant of `condition`, whatever their
    /// answers and results.
    pub fn possible(&self, condition: Option<&Condition>) -> bool {
        self.residual(&ConditionOnly(condition), &|_| true) != Residual::Known(false)
    }
}

/// Whether something with `show_if` is shown to a participant of `condition` when
/// nothing else is known (rules over values count as not holding).
pub fn shown(show_if: &Option<ShowIf>, condition: Option<&Condition>) -> bool {
    show_if.as_ref().is_none_or(|s| s.holds(&ConditionOnly(condition)))
}

/// Whether something with `show_if` is shown for `facts`.
pub fn shown_for(show_if: &Option<ShowIf>, facts: &dyn Facts) -> bool {
    show_if.as_ref().is_none_or(|s| s.holds(facts))
}

fn all(parts: Vec<Residual>) -> Residual {
    let mut open = Vec::new();
    for part in parts {
        match part {
            Residual::Known(false) => return Residual::Known(false),
            Residual::Known(true) => {}
            Residual::Open(rule) => open.push(*rule),
        }
    }
    match open.len() {
        0 => Residual::Known(true),
        1 => Residual::Open(Box::new(open.remove(0))),
        _ => Residual::Open(Box::new(ShowIf { all: Some(open), ..Default::default() })),
    }
}

fn any(parts: Vec<Residual>) -> Residual {
    let mut open = Vec::new();
    for part in parts {
        match part {
            Residual::Known(true) => return Residual::Known(true),
            Residual::Known(false) => {}
            Residual::Open(rule) => open.push(*rule),
        }
    }
    match open.len() {
        0 => Residual::Known(false),
        1 => Residual::Open(Box::new(open.remove(0))),
        _ => Residual::Open(Box::new(ShowIf { any: Some(open), ..Default::default() })),
    }
}

/// An empty text, list or object counts as missing.
fn blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A number, or text holding one.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The same value: numbers by value (also text holding a number), anything else as
/// JSON.
fn same(v: &Value, x: &Value) -> bool {
    match (number(v), number(x)) {
        (Some(a), Some(b)) if v.is_number() || x.is_number() => a == b,
        _ => v == x,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    struct Known(BTreeMap<&'static str, Value>, Option<Condition>);

    impl Facts for Known {
        fn in_condition(&self, key: &str) -> bool {
            ConditionOnly(self.1.as_ref()).in_condition(key)
        }
        fn value(&self, of: &ValueRef) -> Option<Value> {
            self.0.get(of.as_str()).cloned()
        }
    }

    fn rule(yaml: &str) -> ShowIf {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn comparisons_over_answers_results_and_missing_values() {
        let facts = Known(
            [
                ("answer:pre.age", json!(34)),
                ("answer:pre.tools", json!(["bike", "car"])),
                ("answer:pre.name", json!("  ")),
                ("result:play.score", json!(12.5)),
                ("answer:pre.code", json!("7")),
                ("answer:pre.tipi.calm", json!(5)),
            ]
            .into(),
            Some(Condition { id: "told_ai".into(), levels: vec![("told".into(), "ai".into())] }),
        );
        let holds = |yaml: &str| rule(yaml).holds(&facts);
        assert!(holds("{value: 'answer:pre.age', at_least: 18, below: 65}"));
        assert!(!holds("{value: 'answer:pre.age', above: 34}"));
        assert!(holds("{value: 'answer:pre.age', equals: 34.0}"));
        assert!(holds("{value: 'answer:pre.code', equals: 7}"), "text holding a number compares as one");
        assert!(holds("{value: 'answer:pre.tools', includes: car}"));
        assert!(holds("{value: 'answer:pre.tipi.calm', at_least: 4}"), "a matrix item's point");
        assert!(!holds("{value: 'answer:pre.tools', includes: boat}"));
        assert!(holds("{value: 'result:play.score', in: [12.5, 20]}"));
        // Missing values (not given, blank text): only `answered: false` holds.
        for missing in ["answer:pre.none", "answer:pre.name", "result:other.score"] {
            assert!(!holds(&format!("{{value: '{missing}', equals: x}}")));
            assert!(!holds(&format!("{{value: '{missing}', not_equals: x}}")), "{missing}");
            assert!(!holds(&format!("{{value: '{missing}', below: 100}}")));
            assert!(holds(&format!("{{value: '{missing}', answered: false}}")));
            assert!(holds(&format!("{{not: {{value: '{missing}', equals: x}}}}")));
        }
        assert!(holds("{condition: [told_ai], value: 'answer:pre.age', at_least: 18}"));
        assert!(!holds("{condition: ['told=human'], value: 'answer:pre.age', at_least: 18}"));
        assert!(holds("{any: [{condition: ['told=human']}, {value: 'result:play.score', above: 10}]}"));
        assert!(!holds("{all: [{condition: ['told=ai']}, {value: 'result:play.score', above: 20}]}"));
    }

    #[test]
    fn the_residual_keeps_only_what_is_left_open() {
        let facts = Known([("answer:pre.age", json!(34))].into(), None);
        let own = |v: &ValueRef| v.scene() == "here";
        let r = rule("{all: [{value: 'answer:pre.age', at_least: 18}, {value: 'answer:here.smoke', equals: 'yes'}]}");
        assert_eq!(
            r.residual(&facts, &own),
            Residual::Open(Box::new(rule("{value: 'answer:here.smoke', equals: 'yes'}")))
        );
        let r = rule("{any: [{value: 'answer:pre.age', at_least: 18}, {value: 'answer:here.smoke', equals: 'yes'}]}");
        assert_eq!(r.residual(&facts, &own), Residual::Known(true));
        let r = rule("{condition: [x], value: 'answer:here.smoke', equals: 'yes'}");
        assert_eq!(r.residual(&facts, &own), Residual::Known(false), "a condition the participant is not of");
        assert!(rule("{value: 'answer:here.smoke', equals: 'yes'}").possible(None));
        assert!(!rule("{condition: [x]}").possible(None));
    }

    #[test]
    fn references_are_checked_when_read() {
        assert!(serde_yaml::from_str::<ShowIf>("{value: 'answer:pre'}").is_err());
        assert!(serde_yaml::from_str::<ShowIf>("{value: 'param:x.y'}").is_err());
        assert!(serde_yaml::from_str::<ShowIf>("{value: 'result:play.score', at_least: 1}").is_ok());
        assert!(serde_yaml::from_str::<ShowIf>("{value: 'answer:pre.tipi.calm', at_least: 1}").is_ok());
        assert!(serde_yaml::from_str::<ShowIf>("{value: 'result:play.a.b', at_least: 1}").is_err());
        let item = ValueRef::try_from("answer:pre.tipi.calm".to_owned()).unwrap();
        assert_eq!(item.source(), Source::Answer { scene: "pre", question: "tipi", item: Some("calm") });
        assert_eq!(item.source().pick(json!({"calm": 5, "fun": 2})), Some(json!(5)));
        assert!(serde_yaml::from_str::<ShowIf>("{valeu: 'result:play.score'}").is_err());
    }
}
