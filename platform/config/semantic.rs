//! Checks the schema cannot express: cross-references between scenes, files on disk,
//! uniqueness, consistency between keys. Each problem is located by key path.

use std::collections::HashMap;
use std::path::Path;

use super::diagnostic::{KeyPath, Problem, SourceMap};
use serde_json::Value;

use super::model::{Outcome, Recruitment, Scene};
use super::multiplayer::{IceServer, MultiplayerScene};
use super::survey::Question;
use super::types::{AttributeSource, HttpUrl, Slug, URL_PLACEHOLDERS};

mod blocks;
mod conditions;
mod games;
mod pay;
mod policy;
mod relax;
mod reunion;
mod screening;
mod show_if;
mod texts;

/// Largest body file accepted, in bytes.
pub const MAX_BODY_FILE_BYTES: u64 = 1024 * 1024;

/// A scene as far as it could be read: raw `id` and `kind` even when the scene has
/// schema errors, and the typed scene when it has none. Semantic checks run on what
/// could be read, so a file's schema and semantic problems are reported together.
struct SceneView {
    id: Option<Slug>,
    kind: Option<String>,
    typed: Option<Scene>,
}

/// Collects semantic problems.
struct Checker<'a> {
    source: &'a SourceMap,
    base: &'a Path,
    scene_ids: HashMap<Slug, usize>,
    problems: Vec<Problem>,
    /// The multiplayer scenes whose game result something names (`recruitment.bonus.from`,
    /// `result:` in rules and texts): their games are played to their end when checked,
    /// and what `done` returned is kept (by scene id).
    results_wanted: std::collections::HashSet<String>,
    results: HashMap<String, Value>,
    /// The entry and group conditions, for keys that name them (`by_condition`).
    entry: Option<crate::config::conditions::ConditionSet>,
    group: Option<crate::config::conditions::ConditionSet>,
}

/// All semantic problems of a parsed document (schema-valid or not). `base` is the
/// directory relative paths (body files, plugins) are resolved against.
pub fn check(document: &Value, source: &SourceMap, base: &Path) -> Vec<Problem> {
    let views: Vec<SceneView> = document
        .get("scenes")
        .and_then(Value::as_array)
        .map(|scenes| {
            scenes
                .iter()
                .map(|v| SceneView {
                    id: v.get("id").and_then(|id| serde_json::from_value(id.clone()).ok()),
                    kind: v.get("kind").and_then(Value::as_str).map(str::to_owned),
                    typed: serde_json::from_value(v.clone()).ok(),
                })
                .collect()
        })
        .unwrap_or_default();
    let bonus_scene = document
        .pointer("/recruitment/bonus/from")
        .and_then(Value::as_str)
        .and_then(|from| from.split_once('.'))
        .map(|(scene, _)| scene.to_owned());
    let mut results_wanted = show_if::result_scenes(document);
    results_wanted.extend(bonus_scene);
    let entry = document.pointer("/conditions/entry").and_then(|e| serde_json::from_value(e.clone()).ok());
    let group = document.pointer("/conditions/group").and_then(|e| serde_json::from_value(e.clone()).ok());
    let (scene_ids, problems) = (HashMap::new(), Vec::new());
    let results = HashMap::new();
    let mut c = Checker { source, base, scene_ids, problems, results_wanted, results, entry, group };
    let scenes = KeyPath::root().key("scenes");
    for (i, view) in views.iter().enumerate() {
        let Some(id) = &view.id else { continue };
        if let Some(first) = c.scene_ids.get(id) {
            let msg = format!("duplicate scene id `{id}` (also scenes[{first}])");
            c.report(scenes.index(i).key("id"), msg);
        } else {
            c.scene_ids.insert(id.clone(), i);
        }
    }
    let recruitment: Option<Recruitment> =
        serde_json::from_value(document.get("recruitment").cloned().unwrap_or(Value::Object(Default::default()))).ok();
    if let Some(Recruitment { redirect_url: Some(url), .. }) = &recruitment {
        c.url(KeyPath::root().key("recruitment").key("redirect_url"), url);
    }
    let bonus = recruitment.as_ref().and_then(|r| r.bonus.clone());
    let id_param = recruitment.as_ref().map(|r| r.id_param.clone());
    for (i, view) in views.iter().enumerate() {
        if let Some(scene) = &view.typed {
            c.scene(&scenes.index(i), scene);
            if let Scene::Multiplayer(m) = scene {
                let own = document.get("id").and_then(Value::as_str);
                c.reunion(&scenes.index(i), m, own);
                c.attributes(&scenes.index(i).key("matchmaker").key("attributes"), m, &views[..i], id_param.as_deref());
                if let Some(chat) = &m.chat {
                    c.chat(&scenes.index(i).key("chat").key("during"), chat, i, &views);
                }
            }
        }
    }
    if let Some(bonus) = &bonus {
        c.bonus(bonus, &views); // after the scenes: their game's result is known
    }
    if let Some(recruitment) = recruitment.as_ref().filter(|r| r.pay.is_set()) {
        let conditions =
            document.get("conditions").and_then(|c| serde_json::from_value(c.clone()).ok()).unwrap_or_default();
        let screening = document.get("screening").and_then(|s| serde_json::from_value(s.clone()).ok());
        let setting = pay::PaySetting { recruitment, conditions: &conditions, screening: screening.as_ref() };
        c.pay(&setting, &views);
    }
    c.conditions(document, &views);
    c.blocks(document, &views);
    c.show_ifs(document, &views);
    c.piped(document, &views);
    c.texts(document);
    c.screening(document);
    c.reachability(&views, &scenes);
    c.problems
}

impl<'a> Checker<'a> {
    fn report(&mut self, path: KeyPath, message: impl Into<String>) {
        self.problems.push(Problem::new(self.source.value_pos(&path), path, message));
    }

    fn report_key(&mut self, path: KeyPath, message: impl Into<String>) {
        self.problems.push(Problem::new(self.source.key_pos(&path), path, message));
    }

    fn scene(&mut self, at: &KeyPath, scene: &Scene) {
        match scene {
            Scene::Consent(s) => self.body(at, s.body.is_some(), s.body_file.as_deref()),
            Scene::Instructions(s) => self.body(at, s.body.is_some(), s.body_file.as_deref()),
            Scene::Survey(s) => self.questions(&at.key("questions"), &s.questions),
            Scene::Multiplayer(m) => self.multiplayer(at, m),
            Scene::End(e) => {
                if let Some(url) = &e.redirect_url {
                    self.url(at.key("redirect_url"), url);
                }
                self.placeholders(&at.key("message"), &e.message, &["pay", "bonus", "group_code", "condition"]);
            }
        }
    }

    /// `{name}` placeholders in a participant's text are ones the host fills in there
    /// (`known`, and `condition.<factor>` with `condition`): a typo would be shown as
    /// it is.
    fn placeholders(&mut self, at: &KeyPath, text: &str, known: &[&str]) {
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            let name = &after[..close];
            let looks_like = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.' || c.is_ascii_digit());
            let fine = known.contains(&name) || (known.contains(&"condition") && name.starts_with("condition."));
            if looks_like && !fine {
                let near = super::diagnostic::did_you_mean(name, known.iter().copied())
                    .map(|n| format!(" (did you mean `{{{n}}}`?)"))
                    .unwrap_or_default();
                let list: Vec<String> = known.iter().map(|k| format!("`{{{k}}}`")).collect();
                self.report(
                    at.clone(),
                    format!("`{{{name}}}` is not filled in here{near}; this text may use {}", list.join(", ")),
                );
            }
            rest = &after[close + 1..];
        }
    }

    /// Exactly one of `body` / `body_file`, and the file readable and not too large.
    fn body(&mut self, at: &KeyPath, inline: bool, file: Option<&Path>) {
        match (inline, file) {
            (false, None) => self.report(at.clone(), "give the text as `body` or `body_file`"),
            (true, Some(_)) => self.report_key(at.key("body_file"), "give either `body` or `body_file`, not both"),
            (_, Some(file)) => self.file(at.key("body_file"), file, None),
            (true, None) => {}
        }
    }

    /// A referenced file must exist (relative to the experiment file) and be small
    /// enough; `extension` is checked when given.
    fn file(&mut self, at: KeyPath, file: &Path, extension: Option<&str>) {
        if let Some(ext) = extension
            && file.extension().and_then(|e| e.to_str()) != Some(ext)
        {
            self.report(at.clone(), format!("`{}` should be a .{ext} file", file.display()));
        }
        let resolved = self.base.join(file);
        match std::fs::metadata(&resolved) {
            Ok(meta) if meta.is_file() => {
                if extension.is_none() && meta.len() > MAX_BODY_FILE_BYTES {
                    self.report(at, format!("`{}` is larger than {MAX_BODY_FILE_BYTES} bytes", resolved.display()));
                }
            }
            Ok(_) => self.report(at, format!("`{}` is not a file", resolved.display())),
            Err(_) => self.report(at, format!("file not found: `{}`", resolved.display())),
        }
    }

    fn questions(&mut self, at: &KeyPath, questions: &[Question]) {
        let mut seen: HashMap<&Slug, usize> = HashMap::new();
        for (i, q) in questions.iter().enumerate() {
            let here = at.index(i);
            if let Some(first) = seen.insert(q.id(), i) {
                seen.insert(q.id(), first);
                self.report(here.key("id"), format!("duplicate question id `{}` (also questions[{first}])", q.id()));
            }
            match q {
                Question::SingleChoice(c) => self.options(&here, &c.options),
                Question::MultipleChoice(c) => {
                    self.options(&here, &c.options);
                    let n = c.options.len() as u32;
                    if c.min_selected > n {
                        self.report(here.key("min_selected"), format!("is more than the {n} options"));
                    }
                    match c.max_selected {
                        Some(max) if max > n => {
                            self.report(here.key("max_selected"), format!("is more than the {n} options"))
                        }
                        Some(max) if max < c.min_selected => self.report(
                            here.key("max_selected"),
                            format!("is less than `min_selected` ({})", c.min_selected),
                        ),
                        _ => {}
                    }
                }
                Question::Likert(l) => {
                    self.scale(&here, l.points, &l.labels, l.low_label.is_some() || l.high_label.is_some())
                }
                Question::Matrix(m) => {
                    self.scale(&here, m.points, &m.labels, m.low_label.is_some() || m.high_label.is_some());
                    for (k, item) in m.items.iter().enumerate() {
                        if let Some(first) = m.items[..k].iter().position(|i| i.id == item.id) {
                            self.report(
                                here.key("items").index(k).key("id"),
                                format!("duplicate item id `{}` (also items[{first}])", item.id),
                            );
                        }
                    }
                }
                Question::Dropdown(d) => self.options(&here, &d.options),
                Question::Rank(r) => self.options(&here, &r.options),
                Question::Number(n) => {
                    if let (Some(lo), Some(hi)) = (n.min, n.max)
                        && lo > hi
                    {
                        self.report(here.key("max"), format!("is less than `min` ({lo})"));
                    }
                }
                Question::Slider(sl) => {
                    if sl.min >= sl.max {
                        self.report(here.key("max"), format!("must be more than `min` ({})", sl.min));
                    } else if sl.step > sl.max - sl.min {
                        self.report(
                            here.key("step"),
                            format!("is more than the slider's length ({})", sl.max - sl.min),
                        );
                    } else if (sl.max - sl.min) / sl.step > 10_000.0 {
                        self.report(here.key("step"), "gives more than 10000 positions: take a larger step");
                    } else if let Some(start) = sl.start
                        && q.check(&crate::protocol::Answer::Decimal(start)).is_err()
                    {
                        self.report(
                            here.key("start"),
                            format!(
                                "is not a position of the slider ({} to {} in steps of {})",
                                sl.min, sl.max, sl.step
                            ),
                        );
                    }
                }
                Question::Text(_) => {}
            }
            // A matrix's `correct` may name some items only (an attention item).
            let graded = match q {
                Question::Matrix(m) => {
                    Question::Matrix(crate::config::survey::MatrixQuestion { required: false, ..m.clone() })
                }
                other => other.clone(),
            };
            if let Some(correct) = q.correct()
                && let Err(why) = graded.check(correct)
            {
                self.report(here.key("correct"), format!("is not a valid answer to this question: {why}"));
            }
        }
    }

    /// A rating scale's labels: one per point, or the two ends, not both.
    fn scale(&mut self, at: &KeyPath, points: u8, labels: &Option<Vec<String>>, ends: bool) {
        let Some(labels) = labels else { return };
        if labels.len() != usize::from(points) {
            self.report(at.key("labels"), format!("has {} labels for {} points", labels.len(), points));
        }
        if ends {
            self.report(at.key("labels"), "give either `labels` or `low_label`/`high_label`, not both");
        }
    }

    fn options(&mut self, at: &KeyPath, options: &[String]) {
        for (i, option) in options.iter().enumerate() {
            if let Some(first) = options[..i].iter().position(|o| o == option) {
                self.report(at.key("options").index(i), format!("duplicate option `{option}` (also options[{first}])"));
            }
        }
    }

    fn multiplayer(&mut self, at: &KeyPath, m: &MultiplayerScene) {
        let mm = at.key("matchmaker");
        match &m.matchmaker.plugin {
            Some(plugin) => self.file(mm.key("plugin"), plugin, Some("wasm")),
            None if !m.matchmaker.config.is_empty() => {
                self.report_key(mm.key("config"), "`config` is passed to a plugin, but no `plugin` is set")
            }
            None => {}
        }
        self.policy(&mm, m);
        self.relax(at, m);
        self.game(&at.key("game").key("module"), m);
        if m.on_dropout == super::multiplayer::Dropout::Backfill && m.max_p2p_rtt_ms.is_some() {
            self.report(
                at.key("on_dropout"),
                "`backfill` does not probe the newcomer yet: use it in a scene without `max_p2p_rtt_ms`, or `bot`",
            );
        }
        if let Some(fill) = m.waitroom.fill_with_bots_after_secs
            && fill >= m.waitroom.timeout_secs
        {
            let timeout = m.waitroom.timeout_secs;
            self.report(
                at.key("waitroom").key("fill_with_bots_after_secs"),
                format!("{fill} s is not before the waitroom timeout ({timeout} s): nobody would ever get bots"),
            );
        }
        if let Some(fill) = m.waitroom.fill_with_bots_after_secs
            && m.waitroom.paid_leave()
            && m.waitroom.fill_with_bots_if.is_none()
            && m.waitroom.leave_after_secs >= fill
        {
            let after = m.waitroom.leave_after_secs;
            self.report(
                at.key("waitroom").key("leave_after_secs"),
                format!("{after} s is not before the bot fill ({fill} s): everyone plays with bots before they could leave with pay"),
            );
        }
        if m.waitroom.paid_leave() && m.waitroom.leave_after_secs >= m.waitroom.timeout_secs {
            let (after, timeout) = (m.waitroom.leave_after_secs, m.waitroom.timeout_secs);
            self.report(
                at.key("waitroom").key("leave_after_secs"),
                format!("{after} s is not before the waitroom timeout ({timeout} s): nobody could ever leave with pay"),
            );
        }
        self.outcome(&at.key("waitroom").key("on_timeout"), &m.waitroom.on_timeout, &m.id);
        self.outcome(&at.key("waitroom").key("on_leave"), &m.waitroom.on_leave, &m.id);
        if let Some(check) = &m.waitroom.ready_check {
            self.outcome(&at.key("waitroom").key("ready_check").key("on_missed"), &check.on_missed, &m.id);
        }
        self.outcome(&at.key("on_partner_leave"), &m.on_partner_leave, &m.id);
        self.outcome(&at.key("on_partner_idle"), &m.on_partner_idle, &m.id);
        for (i, server) in m.ice_servers.iter().enumerate() {
            self.ice_server(&at.key("ice_servers").index(i), server);
        }
    }

    /// Attributes must name an answer of an earlier survey (or a URL parameter other
    /// than the recruitment id), each name once.
    /// A chat's places: `countdown`, `game`, or solo scenes after its multiplayer scene.
    fn chat(&mut self, at: &KeyPath, chat: &crate::config::multiplayer::Chat, index: usize, views: &[SceneView]) {
        for (k, place) in chat.during.iter().enumerate() {
            if place == "countdown" || place == "game" {
                continue;
            }
            let found = views.iter().position(|v| v.id.as_ref().is_some_and(|s| s.as_str() == place));
            let problem = match found.map(|j| (j, views[j].kind.as_deref())) {
                None => format!("`{place}` is neither `countdown`, `game` nor a scene's id"),
                Some((j, _)) if j <= index => format!("`{place}` does not come after this scene"),
                Some((_, Some("multiplayer" | "end"))) => {
                    format!(
                        "`{place}` is a multiplayer or end scene: a group chats on consent, instructions and survey scenes"
                    )
                }
                Some(_) => continue,
            };
            self.report(at.index(k), problem);
        }
    }

    fn attributes(&mut self, at: &KeyPath, m: &MultiplayerScene, earlier: &[SceneView], id_param: Option<&str>) {
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (i, attribute) in m.matchmaker.attributes.iter().enumerate() {
            if let Some(first) = names.insert(attribute.name(), i) {
                self.report(
                    at.index(i),
                    format!("the attribute name `{}` is also used by attributes[{first}]", attribute.name()),
                );
            }
            match attribute.source() {
                AttributeSource::Param(name) if Some(name) == id_param => {
                    self.report(at.index(i), "the recruitment id is never shared with policies");
                }
                AttributeSource::Param(_) => {}
                AttributeSource::Answer { scene, question } => {
                    let survey = earlier.iter().find_map(|v| match &v.typed {
                        Some(Scene::Survey(s)) if s.id.as_str() == scene => Some(s),
                        _ => None,
                    });
                    let message = match survey {
                        None => format!("no survey `{scene}` comes before this scene"),
                        Some(s) if !s.questions.iter().any(|q| q.id().as_str() == question) => {
                            format!("survey `{scene}` has no question `{question}`")
                        }
                        Some(_) => continue,
                    };
                    self.report(at.index(i), message);
                }
            }
        }
    }

    fn outcome(&mut self, at: &KeyPath, outcome: &Outcome, own_scene: &Slug) {
        if let Some(goto) = &outcome.goto {
            if !self.scene_ids.contains_key(goto) {
                let near = super::diagnostic::did_you_mean(goto.as_str(), self.scene_ids.keys().map(Slug::as_str))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                self.report(at.key("goto"), format!("no scene has the id `{goto}`{near}"));
            } else if goto == own_scene {
                self.report(at.key("goto"), "cannot go to the scene it belongs to");
            }
            if outcome.message.is_some() || outcome.completion_code.is_some() || outcome.redirect_url.is_some() {
                self.report_key(
                    at.key("goto"),
                    "`goto` cannot be combined with `message`, `completion_code` or `redirect_url`",
                );
            }
        } else if outcome.message.is_none() && outcome.redirect_url.is_none() {
            self.report(at.clone(), "say what happens: give `goto`, `message` or `redirect_url`");
        }
        if let Some(message) = &outcome.message {
            self.placeholders(&at.key("message"), message, &["pay", "bonus"]);
        }
        for (key, texts) in &outcome.by_condition {
            let here = at.key("by_condition").key(key);
            if outcome.goto.is_some() {
                self.report_key(
                    here.clone(),
                    "`goto` sends everyone to another scene: messages by condition would never show",
                );
            }
            self.text_key(here.clone(), key, None, &[]);
            self.placeholders(&here.key("message"), &texts.message, &["pay", "bonus"]);
        }
        if let Some(url) = &outcome.redirect_url {
            self.url(at.key("redirect_url"), url);
        }
    }

    fn ice_server(&mut self, at: &KeyPath, server: &IceServer) {
        let mut turn = false;
        for (i, url) in server.urls.iter().enumerate() {
            let scheme = url.split_once(':').map_or("", |(s, _)| s);
            match scheme {
                "stun" | "stuns" => {}
                "turn" | "turns" => turn = true,
                _ => self
                    .report(at.key("urls").index(i), format!("`{url}` must start with stun:, stuns:, turn: or turns:")),
            }
        }
        let statics = server.username.is_some() || server.credential.is_some();
        let secrets = usize::from(server.secret_env.is_some()) + usize::from(server.secret_file.is_some());
        if !turn {
            if statics || secrets > 0 {
                self.report(at.clone(), "STUN servers take no credentials; credentials are for turn: URLs");
            }
            return;
        }
        if statics && server.username.is_none() != server.credential.is_none() {
            self.report(at.clone(), "static TURN credentials need both `username` and `credential`");
        }
        match (statics, secrets) {
            (false, 0) => self.report(
                at.clone(),
                "a TURN server needs credentials: `username` + `credential`, or a shared secret via `secret_env` or `secret_file`",
            ),
            (true, 1..) | (false, 2..) => self.report(
                at.clone(),
                "give exactly one kind of TURN credentials: `username` + `credential`, `secret_env` or `secret_file`",
            ),
            _ => {}
        }
        if let Some(file) = &server.secret_file {
            self.file(at.key("secret_file"), file, None);
        }
    }

    /// Placeholders `{name}` in a redirect URL must be known.
    fn url(&mut self, at: KeyPath, url: &HttpUrl) {
        let mut rest = url.as_str();
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                self.report(at, "has a `{` without a closing `}`");
                return;
            };
            let name = &rest[open + 1..open + close];
            if !URL_PLACEHOLDERS.contains(&name) {
                self.report(
                    at.clone(),
                    format!(
                        "unknown placeholder `{{{name}}}`; known: {}",
                        URL_PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            rest = &rest[open + close + 1..];
        }
    }

    /// The last scene must be an `end`; scenes after an `end` must be reachable by `goto`.
    fn reachability(&mut self, views: &[SceneView], scenes: &KeyPath) {
        let targets: Vec<&Slug> = views
            .iter()
            .filter_map(|v| match &v.typed {
                Some(Scene::Multiplayer(m)) => Some(vec![
                    m.waitroom.on_timeout.goto.as_ref(),
                    m.waitroom.on_leave.goto.as_ref(),
                    m.on_partner_leave.goto.as_ref(),
                    m.on_partner_idle.goto.as_ref(),
                    m.waitroom.ready_check.as_ref().and_then(|r| r.on_missed.goto.as_ref()),
                ]),
                Some(Scene::Survey(s)) => Some(vec![s.on_fail.as_ref().and_then(|o| o.goto.as_ref())]),
                _ => None,
            })
            .flatten()
            .flatten()
            .collect();
        let is_end = |v: &SceneView| v.kind.as_deref() == Some("end");
        if let Some(last) = views.last()
            && last.kind.is_some()
            && !is_end(last)
        {
            let at = scenes.index(views.len() - 1).key("kind");
            self.report(at, "the last scene must be an `end` scene, or participants have nowhere to go");
        }
        let mut reachable = true;
        for (i, view) in views.iter().enumerate() {
            reachable |= view.id.as_ref().is_some_and(|id| targets.contains(&id));
            if !reachable {
                let name = view.id.as_ref().map_or_else(|| format!("scenes[{i}]"), |id| format!("scene `{id}`"));
                let msg = format!("{name} can never be reached: it follows an `end` scene and no `goto` leads to it");
                self.report(scenes.index(i), msg);
            }
            reachable &= !is_end(view);
        }
    }
}
