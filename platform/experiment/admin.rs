//! Interventions by the people running a study (the `/admin` API): each is an input of
//! the state machine, logged as `admin_action` before it takes effect — close or
//! reopen arrivals, post a message to everyone waiting, end a game (its players move
//! on), end a participant's session with the study's completion code, reload the
//! policy files (the actor loads them off its thread, then [`State::replace_policy`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::state::{Arrivals, Place, State};
use crate::eventlog::Event;
use crate::game::EndReason;
use crate::protocol::{GameId, OutcomeReason, ParticipantId, ServerMsg};

/// Most characters of a message for participants.
pub const MAX_MESSAGE: usize = 500;

/// One intervention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum AdminAction {
    /// Admit new participants, or turn them away with `message`.
    Arrivals {
        open: bool,
        #[serde(default)]
        message: Option<String>,
    },
    /// Show `message` to everyone in a waitroom now.
    Broadcast { message: String },
    /// End a game now: its players get `game_end {reason: ended}` and the next scene.
    EndGame { game: GameId },
    /// End a participant's session (outcome `ended_by_researcher`, with the study's
    /// completion code); partners in a game are handled as if they had left.
    EndSession { participant: ParticipantId },
    /// Send a participant whose session runs to the scene `scene` (its id): out of a
    /// waitroom or game first, as if they had left it.
    Goto { participant: ParticipantId, scene: String },
    /// Load each scene's policy file again and swap it in without dropping anyone
    /// waiting (the experiment file is not read again). The actor loads them; each
    /// swap is logged as `policy_reloaded`, a failure as `policy_reload_failed` (the
    /// old policy stays).
    ReloadPolicy,
}

impl AdminAction {
    /// A refusal for an action that cannot be taken as given.
    pub fn check(&self) -> Result<(), String> {
        let long = |m: &str| m.chars().count() > MAX_MESSAGE;
        match self {
            AdminAction::Arrivals { message: Some(m), .. } | AdminAction::Broadcast { message: m } if long(m) => {
                Err(format!("a message is at most {MAX_MESSAGE} characters"))
            }
            AdminAction::Broadcast { message } if message.trim().is_empty() => Err("the message is empty".into()),
            _ => Ok(()),
        }
    }
}

impl State {
    /// Swaps in `policy` (just loaded) for the multiplayer scene at `scene`: it is
    /// told everyone waiting, and the swap is logged with both files' hashes. With an
    /// error, the old policy stays and the failure is logged.
    pub fn replace_policy(
        &mut self,
        scene: usize,
        loaded: Result<Box<dyn crate::matchmaking::Matchmaker>, String>,
        now: Duration,
    ) -> Vec<super::state::Effect> {
        self.now = now;
        let Some(room) = self.rooms.get_mut(&scene) else { return Vec::new() };
        let scene_id = self.experiment.scenes[scene].id().to_string();
        match loaded {
            Err(error) => {
                let policy = room.policy.name().to_owned();
                tracing::warn!(%policy, %error, "policy reload failed; the old policy stays");
                self.log(Event::PolicyReloadFailed { scene: scene_id, policy, error });
            }
            Ok(mut policy) => {
                let old = room.policy.fingerprint().unwrap_or_default();
                let waiting: Vec<_> =
                    room.order.iter().filter_map(|p| room.entries.get(p)).map(|e| e.candidate.clone()).collect();
                let told = waiting.iter().filter(|c| policy.on_join(c).is_ok()).count();
                let _ = policy.take_log();
                let new = policy.fingerprint().unwrap_or_default();
                let name = policy.name().to_owned();
                room.policy = policy;
                room.resume_at = None;
                tracing::info!(policy = %name, %old, %new, told, "policy reloaded");
                self.log(Event::PolicyReloaded {
                    scene: scene_id,
                    policy: name,
                    old_sha256: old,
                    new_sha256: new,
                    told,
                });
                let ids: Vec<_> = waiting.iter().map(|c| c.id).collect();
                self.retry_after_return(scene, &ids, now);
            }
        }
        self.finish(now)
    }

    /// Takes a running participant out of their waitroom or game (as if they had left
    /// it); their place before, or `None` when their session is not running.
    fn leave_for_admin(&mut self, pid: ParticipantId, now: Duration) -> Option<Place> {
        let place = self.participants.get(&pid)?.place;
        match place {
            Place::Waiting(scene) => self.leave_room(pid, scene, "ended", now),
            Place::Playing(scene, game) => self.player_left_game(pid, scene, game, now),
            Place::Scene(_) => {}
            Place::Finished(_) | Place::Over(..) => return None,
        }
        Some(place)
    }

    pub(super) fn on_admin(&mut self, action: AdminAction, now: Duration) {
        self.log(Event::AdminAction { action: serde_json::to_value(&action).unwrap_or_default() });
        match action {
            AdminAction::Arrivals { open: true, .. } => self.on_arrivals(Arrivals::Open),
            AdminAction::Arrivals { open: false, message } => {
                let message =
                    message.unwrap_or_else(|| "This study is not taking new participants at the moment.".into());
                self.on_arrivals(Arrivals::Closed { reason: "admin".into(), message });
            }
            AdminAction::Broadcast { message } => {
                let waiting: Vec<ParticipantId> = self.rooms.values().flat_map(|r| r.entries.keys().copied()).collect();
                for pid in waiting {
                    self.send_to(pid, ServerMsg::Notice { message: message.clone() });
                }
            }
            AdminAction::EndGame { game } => {
                let scene = self.rooms.iter().find(|(_, r)| r.games.contains_key(&game)).map(|(s, _)| *s);
                if let Some(scene) = scene {
                    self.end_game(scene, game, EndReason::Ended, now);
                }
            }
            AdminAction::EndSession { participant } => {
                if let Some(place) = self.leave_for_admin(participant, now) {
                    self.end_early(participant, place.scene(), OutcomeReason::EndedByResearcher, now);
                }
            }
            AdminAction::ReloadPolicy => {} // carried out by the actor (loading takes time)
            AdminAction::Goto { participant, scene } => {
                let Some(target) = self.experiment.scenes.iter().position(|s| s.id().as_str() == scene) else { return };
                if let Some(place) = self.leave_for_admin(participant, now) {
                    let scene = self.experiment.scenes[place.scene()].id().to_string();
                    let iteration = self.iteration(participant);
                    self.log(Event::SceneLeft { participant, scene, index: place.scene(), iteration });
                    self.enter_scene(participant, target, now);
                }
            }
        }
    }
}

/// How the shell sets the state up: policies, ICE servers; what `simulate` reads back.
impl State {
    /// Uses `policy` for the multiplayer scene at `scene` (default: FIFO).
    pub fn set_policy(&mut self, scene: usize, policy: Box<dyn crate::matchmaking::Matchmaker>) {
        if let Some(room) = self.rooms.get_mut(&scene) {
            room.policy = policy;
        }
    }

    /// Each room's policy: its name, work done so far and call times (for `cohort
    /// simulate`).
    pub fn policy_usage(&self) -> Vec<(String, u64, Option<crate::matchmaking::CallTimes>)> {
        let mut rooms: Vec<_> = self.rooms.iter().collect();
        rooms.sort_by_key(|(scene, _)| **scene);
        rooms.into_iter().map(|(_, r)| (r.policy.name().to_owned(), r.policy.work(), r.policy.call_times())).collect()
    }

    /// The fingerprint (file hash) of the policy of the scene at `scene`, if it has one.
    pub fn policy_fingerprint(&self, scene: usize) -> Option<String> {
        self.rooms.get(&scene).and_then(|r| r.policy.fingerprint())
    }

    /// Uses `ice` to give participants their ICE servers (default: the static ones).
    pub fn set_ice_provider(&mut self, ice: super::state::IceProvider) {
        self.ice = ice;
    }
}
