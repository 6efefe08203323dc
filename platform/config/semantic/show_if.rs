//! Semantic check of display logic and comprehension checks: every `show_if` names
//! values that exist and can have been given before the rule is decided, each value
//! with a comparison and each comparison with its value; options compared with are
//! options of the question; a check's `attempts` and `on_fail` belong to a survey with
//! `correct` answers.
//!
//! "Before" is the order of `scenes`: a rule may name answers of surveys and results of
//! multiplayer scenes earlier in the list, and on a question, the questions above it in
//! its own survey. A scene in the same randomized block may come after it, so it cannot
//! be named. In a repeated block, the latest round's answer counts.

use std::collections::HashMap;

use serde_json::Value;

use super::{Checker, SceneView};
use crate::config::KeyPath;
use crate::config::blocks::Block;
use crate::config::model::Scene;
use crate::config::show_if::{ShowIf, Source};
use crate::config::survey::Question;

/// Where a rule is decided: before the scene at `index`, and on a question, after the
/// questions above it (`above`) of that survey.
struct Place<'a> {
    index: usize,
    above: Option<&'a [Question]>,
}

impl Checker<'_> {
    pub(super) fn show_ifs(&mut self, document: &Value, views: &[SceneView]) {
        let blocks = shuffled_blocks(document, views);
        let shuffled: HashMap<usize, &str> = blocks.iter().map(|(i, b)| (*i, b.as_str())).collect();
        for (i, view) in views.iter().enumerate() {
            let Some(scene) = &view.typed else { continue };
            let at = KeyPath::root().key("scenes").index(i);
            if let Some(rule) = scene.show_if() {
                self.rule(&at.key("show_if"), rule, &Place { index: i, above: None }, views, &shuffled);
            }
            match scene {
                Scene::Survey(survey) => {
                    for (q, question) in survey.questions.iter().enumerate() {
                        if let Some(rule) = question.show_if() {
                            let place = Place { index: i, above: Some(&survey.questions[..q]) };
                            self.rule(&at.key("questions").index(q).key("show_if"), rule, &place, views, &shuffled);
                        }
                    }
                    if !survey.is_check() {
                        for key in ["attempts", "on_fail"] {
                            let given = match key {
                                "attempts" => survey.attempts.is_some(),
                                _ => survey.on_fail.is_some(),
                            };
                            if given {
                                self.report_key(
                                    at.key(key),
                                    format!("`{key}` belongs to a check: give a question its `correct` answer"),
                                );
                            }
                        }
                    }
                    if let Some(on_fail) = &survey.on_fail {
                        self.outcome(&at.key("on_fail"), on_fail, &survey.id);
                    }
                    let sends_back = survey.on_fail.as_ref().is_some_and(|o| o.goto.is_some());
                    for (key, given) in
                        [("rounds", survey.rounds.is_some()), ("on_give_up", survey.on_give_up.is_some())]
                    {
                        if given && !sends_back {
                            self.report_key(
                                at.key(key),
                                format!("`{key}` belongs to `on_fail: {{goto: …}}`, which sends participants back"),
                            );
                        }
                    }
                    if let Some(give_up) = &survey.on_give_up {
                        if give_up.goto.is_some() {
                            self.report(at.key("on_give_up").key("goto"), "giving up ends the participant's part: give a `message` and `completion_code`, not `goto`");
                        }
                        self.outcome(&at.key("on_give_up"), give_up, &survey.id);
                    }
                }
                Scene::Multiplayer(m) => {
                    if let Some(rule) = &m.waitroom.fill_with_bots_if {
                        let at = at.key("waitroom").key("fill_with_bots_if");
                        self.rule(&at, rule, &Place { index: i, above: None }, views, &shuffled);
                    }
                }
                _ => {}
            }
        }
    }

    /// Piped values (`{answer:…}`, `{result:…}`) in a scene's texts and body file name
    /// what was given before the scene.
    pub(super) fn piped(&mut self, document: &Value, views: &[SceneView]) {
        let blocks = shuffled_blocks(document, views);
        let shuffled: HashMap<usize, &str> = blocks.iter().map(|(i, b)| (*i, b.as_str())).collect();
        let Some(scenes) = document.get("scenes").and_then(Value::as_array) else { return };
        for (i, raw) in scenes.iter().enumerate() {
            let at = KeyPath::root().key("scenes").index(i);
            let mut texts: Vec<(KeyPath, String)> = Vec::new();
            strings(raw, &at, &mut texts);
            if let Some(file) = raw.get("body_file").and_then(Value::as_str) {
                let text = std::fs::read_to_string(self.base.join(file)).unwrap_or_default();
                texts.push((at.key("body_file"), text));
            }
            for (at, text) in texts {
                for name in crate::config::texts::placeholders(&text) {
                    if !(name.starts_with("answer:") || name.starts_with("result:")) {
                        continue;
                    }
                    match crate::config::show_if::ValueRef::try_from(name.to_owned()) {
                        Err(why) => self.report(at.clone(), why),
                        Ok(value) => {
                            self.value(&at, &value, &Place { index: i, above: None }, views, &shuffled);
                        }
                    }
                }
            }
        }
    }

    fn rule(
        &mut self,
        at: &KeyPath,
        rule: &ShowIf,
        place: &Place,
        views: &[SceneView],
        shuffled: &HashMap<usize, &str>,
    ) {
        for (at, r) in rule.located(at) {
            let empty =
                r.condition.is_none() && r.value.is_none() && r.all.is_none() && r.any.is_none() && r.not.is_none();
            if empty {
                self.report(
                    at.clone(),
                    "an empty rule: give `condition`, `value` with a comparison, `all`, `any` or `not`",
                );
            }
            match &r.value {
                None if r.has_comparison() || r.answered.is_some() => {
                    self.report(at.clone(), "a comparison needs the `value` it compares (`answer:<scene>.<question>` or `result:<scene>.<key>`)");
                }
                None => {}
                Some(value) => {
                    if !r.has_comparison() && r.answered.is_none() {
                        self.report(
                            at.key("value"),
                            "compare it with something: `equals`, `in`, `at_least`, `includes`, `answered`, …",
                        );
                    }
                    if let Some(question) = self.value(&at.key("value"), value, place, views, shuffled) {
                        self.compared_options(&at, r, question);
                    }
                }
            }
        }
    }

    /// Checks that `value` names something given before `place`; the question it names,
    /// if it is an answer.
    fn value<'v>(
        &mut self,
        at: &KeyPath,
        value: &crate::config::show_if::ValueRef,
        place: &Place<'v>,
        views: &'v [SceneView],
        shuffled: &HashMap<usize, &str>,
    ) -> Option<&'v Question> {
        let scene_id = value.scene();
        let Some(j) = views.iter().position(|v| v.id.as_ref().is_some_and(|s| s.as_str() == scene_id)) else {
            self.report(at.clone(), format!("no scene has the id `{scene_id}`"));
            return None;
        };
        let typed = views[j].typed.as_ref()?;
        let here = views[place.index].id.as_ref().map(|s| s.to_string()).unwrap_or_default();
        match (value.source(), typed) {
            (Source::Answer { question, item, .. }, Scene::Survey(s)) => {
                let Some(q) = s.questions.iter().find(|q| q.id().as_str() == question) else {
                    self.report(at.clone(), format!("survey `{scene_id}` has no question `{question}`"));
                    return None;
                };
                // One item of a matrix: a point, compared as a number.
                let compared = match (item, q) {
                    (None, _) => Some(q),
                    (Some(item), Question::Matrix(m)) if m.items.iter().any(|i| i.id.as_str() == item) => None,
                    (Some(item), Question::Matrix(_)) => {
                        self.report(at.clone(), format!("the matrix `{question}` has no item `{item}`"));
                        return None;
                    }
                    (Some(_), _) => {
                        self.report(
                            at.clone(),
                            format!("`{question}` is not a matrix: only a matrix's answer has items"),
                        );
                        return None;
                    }
                };
                if j == place.index {
                    match place.above {
                        Some(above) if above.iter().any(|a| a.id() == q.id()) => return compared,
                        Some(_) => self.report(
                            at.clone(),
                            format!("`{question}` is not above this question in the survey: a rule names answers given before it"),
                        ),
                        None => self.report(
                            at.clone(),
                            format!("`{scene_id}` is this scene: a rule or a text names what was given before it"),
                        ),
                    }
                    return None;
                }
                if self.before(at, j, place.index, &here, scene_id, shuffled) { compared } else { None }
            }
            (Source::Result { key, .. }, Scene::Multiplayer(m)) => {
                if self.before(at, j, place.index, &here, scene_id, shuffled)
                    && let Some(result) = self.results.get(scene_id)
                    && result.get(key).is_none()
                {
                    let keys: Vec<String> =
                        result.as_object().map(|o| o.keys().map(|k| format!("`{k}`")).collect()).unwrap_or_default();
                    let module = m.game.module.display();
                    self.report(
                        at.clone(),
                        format!(
                            "the result of `{module}` (its validation run, played to its end) has no `{key}`; it has {}",
                            if keys.is_empty() { "no keys".to_owned() } else { keys.join(", ") }
                        ),
                    );
                }
                None
            }
            (Source::Answer { .. }, _) => {
                self.report(at.clone(), format!("`{scene_id}` is not a survey: `answer:` names a survey's question"));
                None
            }
            (Source::Result { .. }, _) => {
                self.report(
                    at.clone(),
                    format!("`{scene_id}` is not a multiplayer scene: `result:` names a key of a game's result"),
                );
                None
            }
        }
    }

    /// Whether the scene at `j` always comes before the one at `here` (reported if not).
    fn before(
        &mut self,
        at: &KeyPath,
        j: usize,
        index: usize,
        here: &str,
        scene_id: &str,
        shuffled: &HashMap<usize, &str>,
    ) -> bool {
        if j >= index {
            let why = if j == index { "is this scene".to_owned() } else { format!("comes after `{here}`") };
            self.report(at.clone(), format!("`{scene_id}` {why}: a rule or a text names what was given before it"));
            return false;
        }
        if let (Some(a), Some(b)) = (shuffled.get(&j), shuffled.get(&index))
            && a == b
        {
            self.report(
                at.clone(),
                format!("`{scene_id}` and `{here}` are in the randomized block `{a}`: `{scene_id}` may come after it"),
            );
            return false;
        }
        true
    }

    /// The comparisons fit the question's answers (numbers compared as numbers, lists
    /// by what they include, a matrix only by `answered`), and the options compared
    /// with (`equals`, `in`, `includes`) are options of the question.
    fn compared_options(&mut self, at: &KeyPath, rule: &ShowIf, question: &Question) {
        let id = question.id();
        let numeric = rule.at_least.is_some() || rule.at_most.is_some() || rule.above.is_some() || rule.below.is_some();
        if matches!(question, Question::Matrix(_)) && rule.has_comparison() {
            return self.report(
                at.clone(),
                format!("`{id}` is a matrix: its answer is a point per item, so compare it only with `answered`"),
            );
        }
        if numeric && let Some(why) = super::games::not_a_number(question) {
            self.report(
                at.clone(),
                format!("`{id}` {why}: `at_least`, `at_most`, `above` and `below` compare numbers"),
            );
        }
        let list = matches!(question, Question::MultipleChoice(_) | Question::Rank(_));
        if rule.includes.is_some() && !list {
            self.report(at.key("includes"), format!("`{id}` is answered with one value: `includes` tests a list (multiple choice, rank); use `equals` or `in`"));
        }
        let one_string = [&rule.equals, &rule.not_equals].into_iter().flatten().any(Value::is_string)
            || rule.one_of.iter().flatten().any(Value::is_string);
        if list && one_string {
            self.report(at.clone(), format!("`{id}` is answered with a list: test one option with `includes`"));
        }
        let options = match question {
            Question::SingleChoice(q) => &q.options,
            Question::MultipleChoice(q) => &q.options,
            Question::Dropdown(q) => &q.options,
            Question::Rank(q) => &q.options,
            _ => return,
        };
        let mut compared: Vec<(KeyPath, &str)> = Vec::new();
        for (key, value) in [("equals", &rule.equals), ("not_equals", &rule.not_equals)] {
            if let Some(Value::String(s)) = value {
                compared.push((at.key(key), s));
            }
        }
        for (k, v) in rule.one_of.iter().flatten().enumerate() {
            if let Value::String(s) = v {
                compared.push((at.key("in").index(k), s));
            }
        }
        if let Some(o) = &rule.includes {
            compared.push((at.key("includes"), o));
        }
        for (at, option) in compared {
            if !options.iter().any(|o| o == option) {
                let near = super::super::diagnostic::did_you_mean(option, options.iter().map(String::as_str))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                self.report(at, format!("`{option}` is not an option of `{}`{near}", question.id()));
            }
        }
    }
}

/// Every string under `value` with where it is, rules (`show_if`) left out.
fn strings(value: &Value, at: &KeyPath, out: &mut Vec<(KeyPath, String)>) {
    match value {
        Value::String(s) if s.contains('{') => out.push((at.clone(), s.clone())),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| strings(v, &at.index(i), out)),
        Value::Object(map) => {
            // Rules are checked as rules; a game's and a policy's settings are not texts.
            let texts = |k: &str| !matches!(k, "show_if" | "fill_with_bots_if" | "game" | "matchmaker" | "probe");
            for (k, v) in map.iter().filter(|(k, _)| texts(k)) {
                strings(v, &at.key(k), out);
            }
        }
        _ => {}
    }
}

/// The randomized block of each scene in one (by scene index).
fn shuffled_blocks(document: &Value, views: &[SceneView]) -> HashMap<usize, String> {
    let blocks: Vec<Block> =
        document.get("blocks").and_then(|b| serde_json::from_value(b.clone()).ok()).unwrap_or_default();
    let position = |id: &str| views.iter().position(|v| v.id.as_ref().is_some_and(|s| s.as_str() == id));
    blocks
        .iter()
        .filter(|b| b.randomize)
        .flat_map(|b| b.scenes.iter().filter_map(move |s| Some((position(s.as_str())?, b.id.to_string()))))
        .collect()
}

/// The scenes whose game results a rule or a text names (`result:<scene>.<key>`).
pub(super) fn result_scenes(document: &Value) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    let mut stack = vec![document];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                for part in s.split("result:").skip(1) {
                    if let Some((scene, _)) = part.split_once('.') {
                        out.insert(scene.to_owned());
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    out
}
