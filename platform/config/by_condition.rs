//! Scene texts by condition (`by_condition`): a consent, instructions, survey or end
//! scene may give some of its participant-facing texts differently to participants of
//! some conditions. Keys are a condition's name, or `factor=level` for every condition
//! with that level — an entry condition's, or, on scenes after a group formed, the
//! group condition's; what a key does not give comes from the scene itself (the
//! fallback), so nothing of another condition is ever needed to show a scene. Several
//! keys may apply to one participant: the entry condition's `factor=level` keys in the
//! order the factors are declared, then its name, then the group condition's the same
//! way, each over the one before.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::conditions::Condition;
use super::model::{ConsentScene, EndScene, InstructionsScene, TextFormat};
use super::show_if::ShowIf;
use super::survey::SurveyScene;

/// Overrides keyed by condition name or `factor=level`.
pub type ByCondition<T> = BTreeMap<String, T>;

/// A consent scene's texts for some conditions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentTexts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200000))]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TextFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    pub agree_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub button: Option<String>,
}

/// An instructions scene's texts for some conditions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructionsTexts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200000))]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TextFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub button: Option<String>,
}

/// A survey's texts for some conditions (its questions are the same for everyone).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyTexts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub button: Option<String>,
}

/// An end scene's texts for some conditions (its completion code is the same for
/// everyone: pay does not depend on a condition's wording).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndTexts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 5000))]
    pub message: Option<String>,
}

/// Whose texts a scene is shown in: a participant's entry condition, and the condition
/// of their last group (once a group formed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Audience<'a> {
    pub entry: Option<&'a Condition>,
    pub group: Option<&'a Condition>,
}

impl<'a> Audience<'a> {
    pub fn entry(condition: &'a Condition) -> Self {
        Self { entry: Some(condition), group: None }
    }
}

/// An outcome's message for some conditions (its code is the same for everyone).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeTexts {
    #[schemars(length(min = 1, max = 5000))]
    pub message: String,
}

impl super::model::Outcome {
    /// The message a participant of `audience` reads.
    pub fn message_for(&self, audience: Audience) -> Option<&str> {
        let own = overrides(&self.by_condition, audience).last().map(|t| t.message.as_str());
        own.or(self.message.as_deref())
    }
}

/// Whether the key `key` of a `by_condition` map applies to `condition`.
pub fn applies(key: &str, condition: &Condition) -> bool {
    match key.split_once('=') {
        Some((factor, level)) => condition.levels.iter().any(|(f, l)| f == factor && l == level),
        None => key == condition.id,
    }
}

/// The overrides of `map` that apply to `audience`, weakest first: for the entry
/// condition, then the group's, the `factor=level` keys in the order of its factors,
/// then its own name.
pub fn overrides<'a, T>(map: &'a ByCondition<T>, audience: Audience) -> Vec<&'a T> {
    let mut out: Vec<&T> = Vec::new();
    for condition in [audience.entry, audience.group].into_iter().flatten() {
        out.extend(condition.levels.iter().filter_map(|(factor, level)| map.get(&format!("{factor}={level}"))));
        out.extend(map.get(&condition.id));
    }
    out
}

fn set<T: Clone>(target: &mut T, value: &Option<T>) {
    if let Some(v) = value {
        *target = v.clone();
    }
}

fn set_some<T: Clone>(target: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        target.clone_from(value);
    }
}

/// A scene as participants of one condition see it.
pub trait ForCondition: Sized + Clone {
    /// Whether the scene gives any text by condition.
    fn varies(&self) -> bool;
    /// The scene with the texts that apply to `audience` in place (without its
    /// `by_condition`, which has then been applied).
    fn for_condition(&self, audience: Audience) -> Self;
}

impl ForCondition for ConsentScene {
    fn varies(&self) -> bool {
        !self.by_condition.is_empty()
    }

    fn for_condition(&self, audience: Audience) -> Self {
        let mut out = Self { by_condition: BTreeMap::new(), ..self.clone() };
        for t in overrides(&self.by_condition, audience) {
            set_some(&mut out.title, &t.title);
            if t.body.is_some() || t.body_file.is_some() {
                (out.body, out.body_file) = (t.body.clone(), t.body_file.clone());
            }
            set(&mut out.format, &t.format);
            set(&mut out.agree_label, &t.agree_label);
            set(&mut out.button, &t.button);
        }
        out
    }
}

impl ForCondition for InstructionsScene {
    fn varies(&self) -> bool {
        !self.by_condition.is_empty()
    }

    fn for_condition(&self, audience: Audience) -> Self {
        let mut out = Self { by_condition: BTreeMap::new(), ..self.clone() };
        for t in overrides(&self.by_condition, audience) {
            set_some(&mut out.title, &t.title);
            if t.body.is_some() || t.body_file.is_some() {
                (out.body, out.body_file) = (t.body.clone(), t.body_file.clone());
            }
            set(&mut out.format, &t.format);
            set(&mut out.button, &t.button);
        }
        out
    }
}

impl ForCondition for SurveyScene {
    fn varies(&self) -> bool {
        !self.by_condition.is_empty() || self.questions.iter().any(|q| q.show_if().is_some())
    }

    /// The survey's texts for `audience`, without the questions its entry condition is
    /// never shown.
    fn for_condition(&self, audience: Audience) -> Self {
        let questions = self.questions.iter().filter(|q| possible(q.show_if(), audience.entry)).cloned().collect();
        let mut out = Self { by_condition: BTreeMap::new(), questions, ..self.clone() };
        for t in overrides(&self.by_condition, audience) {
            set_some(&mut out.title, &t.title);
            set(&mut out.button, &t.button);
        }
        out
    }
}

impl ForCondition for EndScene {
    fn varies(&self) -> bool {
        !self.by_condition.is_empty()
    }

    fn for_condition(&self, audience: Audience) -> Self {
        let mut out = Self { by_condition: BTreeMap::new(), ..self.clone() };
        for t in overrides(&self.by_condition, audience) {
            set_some(&mut out.title, &t.title);
            set(&mut out.message, &t.message);
        }
        out
    }
}

impl super::model::Scene {
    /// The scene's `show_if` (end scenes have none: everyone can finish).
    pub fn show_if(&self) -> &Option<ShowIf> {
        use super::model::Scene;
        const NONE: Option<ShowIf> = None;
        match self {
            Scene::Consent(s) => &s.show_if,
            Scene::Instructions(s) => &s.show_if,
            Scene::Survey(s) => &s.show_if,
            Scene::Multiplayer(m) => &m.show_if,
            Scene::End(_) => &NONE,
        }
    }

    /// Whether the scene gives any text by condition.
    pub fn varies_by_condition(&self) -> bool {
        use super::model::Scene;
        match self {
            Scene::Consent(s) => s.varies(),
            Scene::Instructions(s) => s.varies(),
            Scene::Survey(s) => s.varies(),
            Scene::End(s) => s.varies(),
            Scene::Multiplayer(_) => false,
        }
    }

    /// The scene as participants of `audience` see it.
    pub fn for_condition(&self, audience: Audience) -> Self {
        use super::model::Scene;
        match self {
            Scene::Consent(s) => Scene::Consent(s.for_condition(audience)),
            Scene::Instructions(s) => Scene::Instructions(s.for_condition(audience)),
            Scene::Survey(s) => Scene::Survey(s.for_condition(audience)),
            Scene::End(s) => Scene::End(s.for_condition(audience)),
            Scene::Multiplayer(m) => Scene::Multiplayer(m.clone()),
        }
    }

    /// The keys of the scene's `by_condition`, each with the texts it gives (`title`,
    /// `body`, …; `body_file` counted as `body`).
    pub fn condition_fields(&self) -> Vec<(&str, Vec<String>)> {
        use super::model::Scene;
        fn fields<T: Serialize>(map: &ByCondition<T>) -> Vec<(&str, Vec<String>)> {
            map.iter()
                .map(|(k, t)| {
                    let given = match serde_json::to_value(t) {
                        Ok(serde_json::Value::Object(o)) => {
                            o.keys().map(|f| if f == "body_file" { "body".to_owned() } else { f.clone() }).collect()
                        }
                        _ => Vec::new(),
                    };
                    (k.as_str(), given)
                })
                .collect()
        }
        match self {
            Scene::Consent(s) => fields(&s.by_condition),
            Scene::Instructions(s) => fields(&s.by_condition),
            Scene::Survey(s) => fields(&s.by_condition),
            Scene::End(s) => fields(&s.by_condition),
            Scene::Multiplayer(_) => Vec::new(),
        }
    }

    /// The keys of the scene's `by_condition`.
    pub fn condition_keys(&self) -> Vec<&str> {
        use super::model::Scene;
        match self {
            Scene::Consent(s) => s.by_condition.keys().map(String::as_str).collect(),
            Scene::Instructions(s) => s.by_condition.keys().map(String::as_str).collect(),
            Scene::Survey(s) => s.by_condition.keys().map(String::as_str).collect(),
            Scene::End(s) => s.by_condition.keys().map(String::as_str).collect(),
            Scene::Multiplayer(_) => Vec::new(),
        }
    }
}

/// Whether something with `show_if` may be shown to a participant of `condition`
/// (rules over answers and results may hold).
fn possible(show_if: &Option<ShowIf>, condition: Option<&Condition>) -> bool {
    show_if.as_ref().is_none_or(|s| s.possible(condition))
}
