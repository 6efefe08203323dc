//! Semantic checks of what a multiplayer scene plays and pays: the game's folder and
//! module (through the host's engine), and the bonus rule's source.

use serde_json::Value;

use super::{Checker, SceneView};
use crate::config::KeyPath;
use crate::config::model::{Bonus, Scene};
use crate::config::multiplayer::MultiplayerScene;

impl Checker<'_> {
    /// The game's folder can be served and its module passes the engine's check
    /// (exports, determinism) for this group size and config.
    pub(super) fn game(&mut self, at: &KeyPath, m: &MultiplayerScene) {
        let secrets: Vec<std::path::PathBuf> = m.ice_servers.iter().filter_map(|s| s.secret_file.clone()).collect();
        let folder = match crate::game::files::GameFolder::read(self.base, &m.game.module, &secrets) {
            Ok(folder) => folder,
            Err(e) => return self.report(at.clone(), e.to_string()),
        };
        let config = Value::Object(m.game.config.clone());
        let seats = (m.group_size + m.game.bot_seats) as usize;
        if seats > 16 {
            return self.report(at.clone(), format!("{seats} seats (group_size + bot_seats): at most 16"));
        }
        let to_end = self.results_wanted.contains(m.id.as_str());
        let checked = crate::game::check::check(&folder, &config, seats, m.game.tick_rate, to_end);
        if let Ok(crate::game::engine::Exports { result: Some(result), .. }) = &checked
            && to_end
        {
            self.results.insert(m.id.to_string(), result.clone());
        }
        match checked {
            Err(e) => self.report(at.clone(), format!("`{}`: {e}", m.game.module.display())),
            Ok(exports) if !exports.has("bot") => {
                let needs = [
                    (m.game.bot_seats > 0, "fill `bot_seats`"),
                    (m.on_dropout == crate::config::multiplayer::Dropout::Bot, "take a seat (`on_dropout: bot`)"),
                    (
                        m.on_dropout == crate::config::multiplayer::Dropout::Backfill,
                        "hold a seat for a newcomer (`on_dropout: backfill`)",
                    ),
                    (
                        m.waitroom.fill_with_bots_after_secs.is_some(),
                        "fill seats (`waitroom.fill_with_bots_after_secs`)",
                    ),
                ];
                for (_, what) in needs.iter().filter(|(needed, _)| *needed) {
                    self.report(
                        at.clone(),
                        format!("`{}` exports no `bot`, so it cannot {what}", m.game.module.display()),
                    );
                }
            }
            Ok(_) => {}
        }
    }

    /// `recruitment.bonus.from` names a multiplayer scene whose game's result holds a
    /// number under the key (as the validation run, played to its end, returned it),
    /// or a survey and a question whose answers are numbers.
    pub(super) fn bonus(&mut self, bonus: &Bonus, views: &[SceneView]) {
        let at = KeyPath::root().key("recruitment").key("bonus").key("from");
        let (scene, key) = bonus.from.split_once('.').unwrap_or((bonus.from.as_str(), ""));
        let found = views.iter().find(|v| v.id.as_ref().is_some_and(|id| id.as_str() == scene));
        match found.and_then(|v| v.typed.as_ref()) {
            None if found.is_none() => self.report(at, format!("no scene has the id `{scene}`")),
            None => {}
            Some(Scene::Multiplayer(m)) => {
                // A game that did not end in the validation run (or failed its check,
                // reported at its module) says nothing about its result.
                let Some(result) = self.results.get(m.id.as_str()).cloned() else { return };
                let module = m.game.module.display();
                match result.get(key) {
                    Some(v) if v.is_number() => {}
                    Some(v) => {
                        self.report(at, format!("the result of `{module}` holds `{v}` under `{key}`, not a number"))
                    }
                    None => {
                        let keys =
                            result.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
                        let near = crate::config::diagnostic::did_you_mean(key, keys.iter().map(String::as_str))
                            .map(|n| format!(" (did you mean `{n}`?)"))
                            .unwrap_or_default();
                        let have = if keys.is_empty() { result.to_string() } else { keys.join(", ") };
                        self.report(
                            at,
                            format!("the result of `{module}` has no `{key}`{near}: its game ended with {have}"),
                        );
                    }
                }
            }
            Some(Scene::Survey(s)) => match s.questions.iter().find(|q| q.id().as_str() == key) {
                None => self.report(at, format!("the survey `{scene}` has no question `{key}`")),
                Some(q) => {
                    if let Some(why) = not_a_number(q) {
                        self.report(at, format!("the question `{key}` {why}: the bonus needs a number"));
                    }
                }
            },
            Some(_) => self.report(at, format!("`{scene}` is neither a multiplayer scene nor a survey")),
        }
    }
}

/// Why answers to `q` are not numbers, if they are not: a choice among several, or a
/// single choice whose options are not all numbers.
pub(super) fn not_a_number(q: &crate::config::survey::Question) -> Option<String> {
    use crate::config::survey::Question;
    match q {
        Question::MultipleChoice(_) => Some("allows several choices".to_owned()),
        Question::Rank(_) => Some("gives an order of options".to_owned()),
        Question::Matrix(_) => Some("gives a rating per item".to_owned()),
        Question::SingleChoice(crate::config::survey::ChoiceQuestion { options, .. })
        | Question::Dropdown(crate::config::survey::DropdownQuestion { options, .. }) => {
            let words: Vec<&str> =
                options.iter().map(String::as_str).filter(|o| o.trim().parse::<f64>().is_err()).collect();
            (!words.is_empty()).then(|| format!("has options that are not numbers (`{}`)", words.join("`, `")))
        }
        Question::Text(_) | Question::Likert(_) | Question::Number(_) | Question::Slider(_) => None,
    }
}
