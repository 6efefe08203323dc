//! A restart loses no one: the sessions of earlier runs, rebuilt from their event logs
//! (streamed, oldest run first) when an experiment starts.
//!
//! Each participant's story is folded from the events: who they are (recruitment id,
//! link parameters, the hash of their resume token), where they got to (scene, answers,
//! partners) and how it ended. [`State::restore`] then brings them back: finished or
//! ended participants are recognised (by recruitment id or token) and shown the same
//! end again; those on a consent, instructions or survey page continue there, answers
//! kept; those who were waiting or playing, whose partners are gone with the old run,
//! get the `host_restarted` outcome.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use super::state::{Ended, Participant, Place, State};
use super::timers::Timer;
use crate::config::{Experiment, Scene};
use crate::eventlog::{self, Event};
use crate::protocol::{Answer, GameId, OutcomeReason, ParticipantId};

/// Where a participant of an earlier run got to.
#[derive(Debug, Clone, PartialEq)]
pub enum Reached {
    /// On the solo scene at this index.
    Scene(usize),
    /// In the waitroom or a game of the multiplayer scene at this index.
    Multiplayer(usize),
    Finished(usize),
    Over(usize, OutcomeReason),
}

/// One participant of an earlier run.
#[derive(Debug, Clone)]
pub struct Restored {
    pub participant: ParticipantId,
    pub recruitment_id: Option<String>,
    pub params: BTreeMap<String, String>,
    /// SHA-256 of their resume token (hex), when the log has it.
    pub token_sha256: Option<String>,
    pub reached: Reached,
    pub answers: BTreeMap<String, BTreeMap<String, Answer>>,
    pub partners: Vec<ParticipantId>,
}

/// Folds every earlier run's log of `experiment` under `data`.
pub fn restore(experiment: &Experiment, data: &Path) -> Vec<Restored> {
    let mut fold = Fold { experiment, people: HashMap::new(), order: Vec::new(), games: HashMap::new() };
    for path in eventlog::previous_logs(data, experiment.id.as_str()) {
        let mut records = match eventlog::Records::open(&path) {
            Ok(records) => records,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read an earlier run's log");
                continue;
            }
        };
        for record in records.by_ref() {
            fold.apply(record.event);
        }
        if records.skipped() > 0 {
            tracing::warn!(file = %path.display(), skipped = records.skipped(), "unreadable lines skipped");
        }
    }
    let Fold { mut people, order, .. } = fold;
    order.into_iter().filter_map(|pid| people.remove(&pid)).collect()
}

struct Fold<'a> {
    experiment: &'a Experiment,
    people: HashMap<ParticipantId, Restored>,
    /// First appearance order, so that restoring is deterministic.
    order: Vec<ParticipantId>,
    games: HashMap<GameId, Vec<ParticipantId>>,
}

impl Fold<'_> {
    /// The index of scene `id`, preferring `hint` (the logged index) when it still
    /// names that scene (the experiment file may have changed between runs).
    fn scene(&self, id: &str, hint: Option<usize>) -> Option<usize> {
        let scenes = &self.experiment.scenes;
        hint.filter(|i| scenes.get(*i).is_some_and(|s| s.id().as_str() == id))
            .or_else(|| scenes.iter().position(|s| s.id().as_str() == id))
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::SessionStarted { participant, recruitment_id, params, token_sha256 } => {
                if !self.people.contains_key(&participant) {
                    self.order.push(participant);
                }
                let restored = Restored {
                    participant,
                    recruitment_id,
                    params,
                    token_sha256,
                    reached: Reached::Scene(0),
                    answers: BTreeMap::new(),
                    partners: Vec::new(),
                };
                self.people.insert(participant, restored);
            }
            Event::SceneEntered { participant, scene, index } => {
                let Some(i) = self.scene(&scene, Some(index)) else { return self.forget(participant) };
                let reached = match &self.experiment.scenes[i] {
                    Scene::Multiplayer(_) => Reached::Multiplayer(i),
                    Scene::End(_) => Reached::Finished(i),
                    _ => Reached::Scene(i),
                };
                self.set(participant, reached);
            }
            Event::SurveyAnswered { participant, scene, answers } => {
                if let Some(p) = self.people.get_mut(&participant) {
                    p.answers.insert(scene, answers);
                }
            }
            Event::Outcome { participant, scene, reason } => match self.scene(&scene, None) {
                Some(i) => self.set(participant, Reached::Over(i, reason)),
                None => self.forget(participant),
            },
            Event::Finished { participant, scene, .. } => match self.scene(&scene, None) {
                Some(i) => self.set(participant, Reached::Finished(i)),
                None => self.forget(participant),
            },
            Event::GameCreated { game, players, .. } => {
                for p in &players {
                    if let Some(person) = self.people.get_mut(p) {
                        for other in players.iter().filter(|o| *o != p) {
                            if !person.partners.contains(other) {
                                person.partners.push(*other);
                            }
                        }
                    }
                }
                self.games.insert(game, players);
            }
            Event::GameEnded { game, .. } => {
                self.games.remove(&game);
            }
            _ => {}
        }
    }

    fn set(&mut self, participant: ParticipantId, reached: Reached) {
        if let Some(p) = self.people.get_mut(&participant) {
            // What has ended stays ended (a late event of an old run changes nothing).
            if !matches!(p.reached, Reached::Finished(_) | Reached::Over(..)) {
                p.reached = reached;
            }
        }
    }

    /// A participant whose scene no longer exists in the experiment: not restored
    /// (they start afresh if they come back).
    fn forget(&mut self, participant: ParticipantId) {
        self.people.remove(&participant);
    }
}

impl State {
    /// Brings the participants of earlier runs back (see the module doc). Returns the
    /// effects to carry out: the log lines of this run that say so.
    pub fn restore(&mut self, sessions: Vec<Restored>, now: Duration) -> Vec<super::state::Effect> {
        for s in sessions {
            let pid = s.participant;
            let token = self.new_secret();
            for key in s.token_sha256.iter().cloned().chain([super::sessions::token_key(&token)]) {
                self.by_token.insert(key, pid);
            }
            if let Some(rid) = &s.recruitment_id {
                self.by_recruitment.insert(rid.clone(), pid);
            }
            let place = match s.reached {
                Reached::Finished(i) => Place::Finished(i),
                Reached::Over(i, reason) => Place::Over(i, reason),
                Reached::Scene(i) => Place::Scene(i),
                Reached::Multiplayer(i) => Place::Scene(i), // ended just below
            };
            if !place.active() {
                self.ended.insert(pid, Ended { recruitment_id: s.recruitment_id, token, place });
                continue;
            }
            let participant = Participant {
                id: pid,
                recruitment_id: s.recruitment_id,
                token,
                place,
                started_at: now,
                conn: None,
                away_since: Some(now),
                server_rtt_ms: None,
                answers: s.answers,
                params: s.params,
                partners: s.partners,
            };
            self.participants.insert(pid, participant);
            let scene = self.experiment.scenes[place.scene()].id().to_string();
            self.log(crate::eventlog::Event::SessionRestored { participant: pid, scene });
            if let Reached::Multiplayer(i) = s.reached {
                // Their group went with the old run.
                self.end_early(pid, i, OutcomeReason::HostRestarted, now);
            }
            if let Some(p) = self.participants.get(&pid)
                && p.place.active()
            {
                self.timers.schedule(now + self.max_duration.max(self.grace), Timer::Away(pid));
            }
            self.touched.push(pid);
        }
        self.evict_ended();
        self.take_effects()
    }
}
