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
        match crate::game::check::check(&folder, &config, seats, m.game.tick_rate) {
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

    /// `recruitment.bonus.from` names a multiplayer scene, or a survey and its question.
    pub(super) fn bonus(&mut self, bonus: &Bonus, views: &[SceneView]) {
        let at = KeyPath::root().key("recruitment").key("bonus").key("from");
        let (scene, key) = bonus.from.split_once('.').unwrap_or((bonus.from.as_str(), ""));
        let found = views.iter().find(|v| v.id.as_ref().is_some_and(|id| id.as_str() == scene));
        match found.and_then(|v| v.typed.as_ref()) {
            None if found.is_none() => self.report(at, format!("no scene has the id `{scene}`")),
            Some(Scene::Multiplayer(_)) | None => {}
            Some(Scene::Survey(s)) if !s.questions.iter().any(|q| q.id().as_str() == key) => {
                self.report(at, format!("the survey `{scene}` has no question `{key}`"))
            }
            Some(Scene::Survey(_)) => {}
            Some(_) => self.report(at, format!("`{scene}` is neither a multiplayer scene nor a survey")),
        }
    }
}
