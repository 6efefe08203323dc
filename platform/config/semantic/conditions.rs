//! Semantic check of `conditions`: each set a list or factors (not both), names unique,
//! quotas naming conditions that exist, a sane number of combinations, an `on_full`
//! that says what happens; and nothing else claiming the names conditions take (the
//! `condition` attribute, a game config's `conditions` key).

use std::collections::HashSet;

use serde_json::Value;

use super::{Checker, SceneView};
use crate::config::KeyPath;
use crate::config::conditions::{ConditionSet, Conditions, MAX_CONDITIONS};
use crate::config::model::Scene;
use crate::config::types::Slug;

impl Checker<'_> {
    pub(super) fn conditions(&mut self, document: &Value, views: &[SceneView]) {
        let Some(raw) = document.get("conditions") else {
            self.tell_about_bots(None, views);
            for (i, view) in views.iter().enumerate() {
                let Some(Scene::Multiplayer(m)) = &view.typed else { continue };
                for key in m.game.config_by_condition.keys() {
                    let at = KeyPath::root().key("scenes").index(i).key("game").key("config_by_condition").key(key);
                    self.report_key(
                        at,
                        "a game's config by condition needs conditions (`conditions.entry` or `conditions.group`)",
                    );
                }
            }
            return self.by_condition(views);
        };
        let Ok(conditions) = serde_json::from_value::<Conditions>(raw.clone()) else { return }; // schema errors
        self.by_condition(views);
        self.tell_about_bots(conditions.entry.as_ref(), views);
        let at = KeyPath::root().key("conditions");
        let nowhere = Slug::try_from("conditions".to_owned()).expect("a valid slug");
        for (name, set) in [("entry", &conditions.entry), ("group", &conditions.group)] {
            if let Some(set) = set {
                self.condition_set(&at.key(name), set);
                self.outcome(&at.key(name).key("on_full"), &set.on_full, &nowhere);
            }
        }
        if let Some(entry) = &conditions.entry {
            self.composition(&at.key("entry"), entry, views);
        }
        if conditions.group.as_ref().is_some_and(|g| !g.compose.is_empty()) {
            self.report_key(
                at.key("group").key("compose"),
                "`compose` says how many of each entry condition a group holds: it belongs to `conditions.entry`",
            );
        }
        if conditions.group.as_ref().is_some_and(|g| g.grouping.is_some()) {
            self.report_key(
                at.key("group").key("match"),
                "`match` says who is grouped by their entry condition: it belongs to `conditions.entry`",
            );
        }
        let within =
            conditions.entry.as_ref().is_some_and(|e| e.grouping() == crate::config::conditions::Grouping::Within);
        for (i, view) in views.iter().enumerate() {
            let Some(Scene::Multiplayer(m)) = &view.typed else { continue };
            if within && m.reunion.is_some() {
                self.report_key(
                    KeyPath::root().key("scenes").index(i).key("reunion"),
                    "a reunion regroups earlier partners whatever their entry conditions, while `conditions.entry.match` is `within`: set `match: across`",
                );
            }
        }
        for (i, view) in views.iter().enumerate() {
            let Some(Scene::Multiplayer(m)) = &view.typed else { continue };
            let scene = KeyPath::root().key("scenes").index(i);
            let by = scene.key("game").key("config_by_condition");
            for (key, over) in &m.game.config_by_condition {
                let names_entry = conditions
                    .entry
                    .as_ref()
                    .is_some_and(|set| set.conditions().iter().any(|c| crate::config::by_condition::applies(key, c)));
                if names_entry && !within {
                    self.report_key(
                        by.key(key),
                        format!("every copy of a game runs with one config, and groups here may mix entry conditions (`conditions.entry.match` is not `within`): `{key}` cannot have a config of its own; vary the game by a group condition instead"),
                    );
                } else if !names_entry {
                    self.text_key(by.key(key), key, None, views);
                }
                if over.contains_key("conditions") {
                    self.report(
                        by.key(key).key("conditions"),
                        "`conditions` in a game's config is where cohort puts the participants' and the group's conditions: use another key",
                    );
                }
            }
            if m.game.config.contains_key("conditions") {
                self.report(
                    scene.key("game").key("config").key("conditions"),
                    "`conditions` in a game's config is where cohort puts the participants' and the group's conditions: use another key",
                );
            }
            if conditions.entry.is_some() {
                for (j, a) in m.matchmaker.attributes.iter().enumerate() {
                    if a.name() == "condition" || a.name().starts_with("condition.") {
                        self.report(
                            scene.key("matchmaker").key("attributes").index(j),
                            format!("`{}` is the entry condition's attribute: name this one otherwise", a.name()),
                        );
                    }
                }
            }
        }
    }

    /// A `by_condition` key (of scene `scene`'s texts, or of an outcome's messages):
    /// an entry condition or a `factor=level` of them, or a group condition's — which is
    /// drawn when a group forms, so only scenes after a multiplayer scene may name it.
    pub(super) fn text_key(&mut self, at: KeyPath, key: &str, scene: Option<usize>, views: &[SceneView]) {
        let (entry, group) = (self.entry.clone(), self.group.clone());
        let names = |set: &Option<ConditionSet>| {
            set.as_ref().is_some_and(|s| s.conditions().iter().any(|c| crate::config::by_condition::applies(key, c)))
        };
        if names(&entry) {
            return;
        }
        if names(&group) {
            let after_a_group =
                scene.is_none_or(|i| views[..i].iter().any(|v| matches!(v.typed, Some(Scene::Multiplayer(_)))));
            if !after_a_group {
                self.report_key(
                    at,
                    format!("`{key}` is a group condition, drawn when a group forms: only scenes after a multiplayer scene can give texts for it"),
                );
            }
            return;
        }
        match (entry, group) {
            (None, None) => {
                self.report_key(at, "texts by condition need conditions (`conditions.entry` or `conditions.group`)")
            }
            (Some(set), None) => {
                self.condition_key(at, key, &set, true);
            }
            (entry, Some(group)) => {
                let sets: Vec<&ConditionSet> = entry.iter().chain(std::iter::once(&group)).collect();
                let known: Vec<String> = sets
                    .iter()
                    .flat_map(|s| {
                        let levels =
                            s.factors.iter().flat_map(|f| f.levels.iter().map(move |l| format!("{}={l}", f.name)));
                        s.conditions().into_iter().map(|c| c.id).chain(levels).collect::<Vec<_>>()
                    })
                    .collect();
                let near = crate::config::diagnostic::did_you_mean(key, known.iter().map(String::as_str))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                self.report_key(
                    at,
                    format!("`{key}` is neither an entry nor a group condition, nor a `factor=level` of them{near}"),
                );
            }
        }
    }

    /// A text given both for an entry condition and for a group condition: a
    /// participant of both reads only the group's (a debrief for an entry condition
    /// would be lost), so it is refused.
    fn entry_and_group_texts(&mut self, at: &KeyPath, scene: &Scene) {
        let names = |set: &Option<ConditionSet>, key: &str| {
            set.as_ref().is_some_and(|s| s.conditions().iter().any(|c| crate::config::by_condition::applies(key, c)))
        };
        let (entry, group) = (self.entry.clone(), self.group.clone());
        let keys = scene.condition_fields();
        for (g, g_fields) in keys.iter().filter(|(k, _)| !names(&entry, k) && names(&group, k)) {
            for (e, e_fields) in keys.iter().filter(|(k, _)| names(&entry, k)) {
                for field in g_fields.iter().filter(|f| e_fields.contains(f)) {
                    self.report_key(
                        at.key(g).key(field),
                        format!("`{g}` (a group condition) gives `{field}`, and so does `{e}` (an entry condition): participants of both would read only `{g}`'s; give `{field}` under one kind of condition (a text everyone of `{e}` must read, such as a debrief, can be a scene of its own)"),
                    );
                }
            }
        }
    }

    /// Scene texts by condition (`by_condition`): each key names a condition (see
    /// `text_key`), and what it gives is checked as the scene's own; `show_if` names
    /// entry conditions.
    pub(super) fn by_condition(&mut self, views: &[SceneView]) {
        let conditions = self.entry.clone();
        let conditions = conditions.as_ref();
        for (i, view) in views.iter().enumerate() {
            let Some(scene) = &view.typed else { continue };
            let at = KeyPath::root().key("scenes").index(i).key("by_condition");
            for key in scene.condition_keys() {
                self.text_key(at.key(key), key, Some(i), views);
            }
            self.entry_and_group_texts(&at, scene);
            self.condition_texts(&at, scene);
            let scene_at = KeyPath::root().key("scenes").index(i);
            let mut keys: Vec<(KeyPath, &str)> = Vec::new();
            if let Some(show) = scene.show_if() {
                keys.extend(condition_keys(show, &scene_at.key("show_if")));
            }
            if let Scene::Survey(survey) = scene {
                for (q, question) in survey.questions.iter().enumerate() {
                    if let Some(show) = question.show_if() {
                        keys.extend(condition_keys(show, &scene_at.key("questions").index(q).key("show_if")));
                    }
                }
                if let Some(set) = conditions {
                    for c in set.conditions() {
                        let possible = |s: &Option<crate::config::show_if::ShowIf>| {
                            s.as_ref().is_none_or(|s| s.possible(Some(&c)))
                        };
                        let shown = survey.questions.iter().any(|q| possible(q.show_if()));
                        if !shown && possible(scene.show_if()) {
                            self.report(scene_at.key("questions"), format!("participants of `{}` are shown no question of this survey: hide the survey from them (`show_if` on the scene) or show them a question", c.id));
                        }
                    }
                }
            }
            for (at, key) in keys {
                match conditions {
                    None => self.report(at, "`show_if` by condition needs entry conditions (`conditions.entry`)"),
                    Some(set) => {
                        self.condition_key(at, key, set, false);
                    }
                }
            }
        }
    }

    /// What each `by_condition` entry gives: one body at most, files that exist,
    /// placeholders that are filled in.
    fn condition_texts(&mut self, at: &KeyPath, scene: &Scene) {
        let bodies: Vec<(&str, bool, Option<&std::path::Path>)> = match scene {
            Scene::Consent(s) => {
                s.by_condition.iter().map(|(k, t)| (k.as_str(), t.body.is_some(), t.body_file.as_deref())).collect()
            }
            Scene::Instructions(s) => {
                s.by_condition.iter().map(|(k, t)| (k.as_str(), t.body.is_some(), t.body_file.as_deref())).collect()
            }
            Scene::End(e) => {
                for (k, t) in &e.by_condition {
                    if let Some(message) = &t.message {
                        self.placeholders(
                            &at.key(k).key("message"),
                            message,
                            &["pay", "bonus", "group_code", "condition"],
                        );
                    }
                }
                Vec::new()
            }
            _ => Vec::new(),
        };
        for (key, inline, file) in bodies {
            match (inline, file) {
                (true, Some(_)) => {
                    self.report_key(at.key(key).key("body_file"), "give either `body` or `body_file`, not both")
                }
                (_, Some(file)) => self.file(at.key(key).key("body_file"), file, None),
                _ => {}
            }
        }
    }

    /// `compose`: keys that name conditions (or `factor=level`), no condition counted
    /// under two keys, counts that fill every multiplayer scene's groups, and groups
    /// formed across conditions.
    fn composition(&mut self, at: &KeyPath, entry: &ConditionSet, views: &[SceneView]) {
        if entry.compose.is_empty() {
            return;
        }
        let here = at.key("compose");
        if entry.grouping == Some(crate::config::conditions::Grouping::Within) {
            self.report_key(
                at.key("match"),
                "`match: within` forms groups of one condition, which `compose` mixes: leave `match` out",
            );
        }
        let all = entry.conditions();
        for key in entry.compose.keys() {
            self.condition_key(here.key(key), key, entry, true);
        }
        for c in &all {
            let keys: Vec<&str> = entry
                .compose
                .keys()
                .filter(|k| crate::config::by_condition::applies(k, c))
                .map(String::as_str)
                .collect();
            if keys.len() > 1 {
                self.report(
                    here.clone(),
                    format!(
                        "the condition `{}` is counted under `{}`: count each condition under one key",
                        c.id,
                        keys.join("` and `")
                    ),
                );
            }
        }
        let total: u32 = entry.compose.values().sum();
        for (i, view) in views.iter().enumerate() {
            let Some(Scene::Multiplayer(m)) = &view.typed else { continue };
            if m.group_size != total {
                let message = format!(
                    "the composition adds up to {total}, but the groups of `{}` have {} members (`scenes[{i}].group_size`)",
                    m.id, m.group_size
                );
                self.report(here.clone(), message);
            }
        }
    }

    /// `tell_about_bots` by condition: keys that name entry conditions, and every
    /// condition named (nobody is left untold by default).
    pub(super) fn tell_about_bots(&mut self, entry: Option<&ConditionSet>, views: &[SceneView]) {
        for (i, view) in views.iter().enumerate() {
            let Some(Scene::Multiplayer(m)) = &view.typed else { continue };
            if let Some(fill_if) = &m.waitroom.fill_with_bots_if {
                let at = KeyPath::root().key("scenes").index(i).key("waitroom").key("fill_with_bots_if");
                if m.waitroom.fill_with_bots_after_secs.is_none() {
                    self.report_key(at.clone(), "`fill_with_bots_if` says who is given bots after `fill_with_bots_after_secs`, which is not set");
                }
                for (at, key) in condition_keys(fill_if, &at) {
                    match entry {
                        None => self.report(at, "bot fill by condition needs entry conditions (`conditions.entry`)"),
                        Some(set) => {
                            self.condition_key(at, key, set, false);
                        }
                    }
                }
            }
            let crate::config::multiplayer::TellBots::ByCondition(map) = &m.waitroom.tell_about_bots else { continue };
            let at = KeyPath::root().key("scenes").index(i).key("waitroom").key("tell_about_bots");
            let Some(entry) = entry else {
                self.report(
                    at,
                    "telling by condition needs entry conditions (`conditions.entry`); give `true` or `false`",
                );
                continue;
            };
            let all = entry.conditions();
            for key in map.keys() {
                self.condition_key(at.key(key), key, entry, true);
            }
            let unnamed: Vec<&str> = all
                .iter()
                .filter(|c| !map.keys().any(|k| crate::config::by_condition::applies(k, c)))
                .map(|c| c.id.as_str())
                .collect();
            if !unnamed.is_empty() {
                self.report(
                    at,
                    format!(
                        "say for every condition whether it is told about computer players: `{}` is not named",
                        unnamed.join("`, `")
                    ),
                );
            }
        }
    }

    /// Whether `key` names an entry condition of `set` (or a `factor=level` of them);
    /// if not, says so at `at` (the key's position when `at_key`), suggesting the
    /// nearest.
    pub(super) fn condition_key(&mut self, at: KeyPath, key: &str, set: &ConditionSet, at_key: bool) -> bool {
        let all = set.conditions();
        if all.iter().any(|c| crate::config::by_condition::applies(key, c)) {
            return true;
        }
        let levels: Vec<String> =
            set.factors.iter().flat_map(|f| f.levels.iter().map(move |l| format!("{}={l}", f.name))).collect();
        let known = all.iter().map(|c| c.id.as_str()).chain(levels.iter().map(String::as_str));
        let near = crate::config::diagnostic::did_you_mean(key, known)
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        let message = format!("`{key}` is neither an entry condition nor a `factor=level` of them{near}");
        if at_key {
            self.report_key(at, message)
        } else {
            self.report(at, message)
        }
        false
    }

    fn condition_set(&mut self, at: &KeyPath, set: &ConditionSet) {
        match (set.list.is_empty(), set.factors.is_empty()) {
            (true, true) => return self.report(at.clone(), "give the conditions: `list` or `factors`"),
            (false, false) => return self.report(at.key("factors"), "give `list` or `factors`, not both"),
            _ => {}
        }
        let mut seen = HashSet::new();
        for (i, id) in set.list.iter().enumerate() {
            if !seen.insert(id.as_str()) {
                self.report(at.key("list").index(i), format!("`{id}` is listed twice"));
            }
        }
        let mut names = HashSet::new();
        let mut combinations: usize = 1;
        for (i, factor) in set.factors.iter().enumerate() {
            let here = at.key("factors").index(i);
            if !names.insert(factor.name.as_str()) || factor.name.as_str() == "id" {
                self.report(here.key("name"), format!("`{}` names another factor (or `id`)", factor.name));
            }
            let levels: HashSet<&str> = factor.levels.iter().map(Slug::as_str).collect();
            if levels.len() != factor.levels.len() {
                self.report(here.key("levels"), "a level is listed twice");
            }
            combinations = combinations.saturating_mul(factor.levels.len());
        }
        if combinations > MAX_CONDITIONS {
            self.report(at.key("factors"), format!("{combinations} combinations; at most {MAX_CONDITIONS}"));
            return;
        }
        let ids: Vec<String> = set.conditions().into_iter().map(|c| c.id).collect();
        for name in set.quotas.keys() {
            if !ids.contains(name) {
                let near = super::super::diagnostic::did_you_mean(name, ids.iter().map(String::as_str))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                self.report(at.key("quotas").key(name), format!("no condition is named `{name}`{near}"));
            }
        }
    }
}

/// Every condition key a rule names, with where it is.
fn condition_keys<'a>(rule: &'a crate::config::show_if::ShowIf, at: &KeyPath) -> Vec<(KeyPath, &'a str)> {
    rule.located(at)
        .into_iter()
        .flat_map(|(at, r)| {
            r.condition.iter().flatten().enumerate().map(move |(j, k)| (at.key("condition").index(j), k.as_str()))
        })
        .collect()
}
