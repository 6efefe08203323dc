//! Semantic check of a scene's matchmaking policy: the component is loaded as `serve`
//! would load it, its imports and exports are checked against the contract, and it is
//! configured with the experiment's `matchmaker.config` — so that a refusal is a
//! located error before anyone is recruited, never a host that starts and then dies.

use super::Checker;
use crate::config::KeyPath;
use crate::config::multiplayer::MultiplayerScene;
use crate::plugin::{Limits, PluginError, PluginMatchmaker};

impl Checker<'_> {
    pub(super) fn policy(&mut self, at: &KeyPath, m: &MultiplayerScene) {
        let Some(plugin) = &m.matchmaker.plugin else { return };
        let path = self.base.join(plugin);
        if !path.is_file() {
            return; // reported by the file check
        }
        let config = serde_json::Value::Object(m.matchmaker.config.clone()).to_string();
        match PluginMatchmaker::load(&path, &config, Limits::of(&m.matchmaker)) {
            Ok(_) => {}
            Err(PluginError::Init { message, .. }) => self
                .report(at.key("config"), format!("the policy `{}` refused this config: {message}", plugin.display())),
            Err(e) => self.report(at.key("plugin"), e.to_string()),
        }
    }
}
