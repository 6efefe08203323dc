//! Loading policy files: at start (every multiplayer scene that names a plugin), and
//! again on `reload_policy` (SIGHUP, `cohort reload`, the admin API) — then off the
//! actor's thread, since compiling a component can take seconds, and handed back to the
//! actor as [`ActorMsg::PolicyLoaded`] to be swapped in ([`State::replace_policy`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::actor::{ActorMsg, StartError};
use super::state::State;
use crate::config::{Experiment, Scene};
use crate::matchmaking::Matchmaker;
use crate::plugin::{Limits, PluginMatchmaker};

/// Policies by multiplayer scene index.
pub type Policies = Vec<(usize, Box<dyn Matchmaker>)>;

/// The plugin policy of every multiplayer scene that names one.
pub fn load_policies(experiment: &Experiment, base_dir: &Path) -> Result<Policies, StartError> {
    let mut policies: Policies = Vec::new();
    for (scene, plugin, config, limits) in plugins(experiment) {
        let policy = PluginMatchmaker::load(&base_dir.join(&plugin), &config, limits)?;
        tracing::info!(policy = %plugin.display(), source = ?policy.loaded.0, took_ms = policy.loaded.1.as_millis() as u64, "policy loaded");
        policies.push((scene, Box::new(policy)));
    }
    Ok(policies)
}

/// Each multiplayer scene with a plugin: its index, file, config (JSON) and limits.
fn plugins(experiment: &Experiment) -> Vec<(usize, PathBuf, String, Limits)> {
    experiment
        .scenes
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Scene::Multiplayer(m) => m.matchmaker.plugin.as_ref().map(|p| {
                let config = serde_json::Value::Object(m.matchmaker.config.clone()).to_string();
                (i, p.clone(), config, Limits::of(&m.matchmaker))
            }),
            _ => None,
        })
        .collect()
}

/// Loads policy files again on request, off the actor's thread.
pub struct Reloader {
    experiment: Arc<Experiment>,
    base_dir: PathBuf,
    inbox: mpsc::WeakSender<ActorMsg>,
}

impl Reloader {
    pub fn new(experiment: Arc<Experiment>, base_dir: &Path, inbox: mpsc::WeakSender<ActorMsg>) -> Self {
        Self { experiment, base_dir: base_dir.to_path_buf(), inbox }
    }

    /// Loads every scene's policy file whose content changed, on a thread of its own,
    /// and sends each result to the actor.
    pub fn start(&self, state: &State) {
        let current: Vec<Option<String>> =
            (0..self.experiment.scenes.len()).map(|scene| state.policy_fingerprint(scene)).collect();
        let (plugins, base_dir, inbox) = (plugins(&self.experiment), self.base_dir.clone(), self.inbox.clone());
        let spawned = std::thread::Builder::new().name("cohort-reload".into()).spawn(move || {
            for (scene, plugin, config, limits) in plugins {
                let path = base_dir.join(&plugin);
                let loaded = match std::fs::read(&path) {
                    Err(e) => Err(format!("cannot read {}: {e}", path.display())),
                    Ok(bytes) => {
                        use sha2::{Digest, Sha256};
                        if current[scene].as_deref() == Some(format!("{:x}", Sha256::digest(&bytes)).as_str()) {
                            tracing::info!(policy = %plugin.display(), "policy file unchanged: not reloaded");
                            continue;
                        }
                        PluginMatchmaker::load_bytes(&path, &bytes, &config, limits)
                            .map(|p| Box::new(p) as Box<dyn Matchmaker>)
                            .map_err(|e| e.to_string())
                    }
                };
                let Some(inbox) = inbox.upgrade() else { return };
                if inbox.blocking_send(ActorMsg::PolicyLoaded { scene, loaded }).is_err() {
                    return;
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the policy reload");
        }
    }
}
