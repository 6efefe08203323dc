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
use crate::game::EndReason;
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
    /// SHA-256 (hex) of every resume token they were given.
    pub token_hashes: Vec<String>,
    pub reached: Reached,
    pub answers: BTreeMap<String, BTreeMap<String, Answer>>,
    pub partners: Vec<ParticipantId>,
    /// When the session started (wall clock, ms since the epoch).
    pub started_ms: u64,
    /// Their entry condition's name, if they got one.
    pub condition: Option<String>,
    /// Their route (`blocks`), and the iteration of the scene they reached.
    pub route: Vec<usize>,
    pub iteration: u32,
    /// What their games in the bonus's scene added up to (`{bonus}`).
    pub bonus_points: f64,
    /// The last game they were in (`{group_code}`).
    pub last_game: Option<GameId>,
    /// Their last game result per multiplayer scene (`result:` in `show_if`).
    pub results: BTreeMap<String, serde_json::Value>,
    /// Orders drawn for their current survey and their attempts at checks.
    pub survey: super::model::SurveyProgress,
}

/// Everything earlier runs leave to this one: their participants, and the groups that
/// completed their game per group condition (for balancing).
#[derive(Debug, Clone, Default)]
pub struct Recovered {
    pub people: Vec<Restored>,
    pub group_completed: BTreeMap<String, u64>,
    /// Every game's group condition (the texts after a game are its group's).
    pub game_groups: HashMap<GameId, String>,
}

/// Folds every earlier run's log of `experiment` under `data`.
pub fn restore(experiment: &Experiment, data: &Path) -> Recovered {
    let logs = eventlog::previous_logs(data, experiment.id.as_str());
    let records = logs.into_iter().flat_map(|path| {
        let records = eventlog::Records::open(&path);
        if let Err(e) = &records {
            tracing::warn!(file = %path.display(), error = %e, "cannot read an earlier run's log");
        }
        records.into_iter().flatten().map(|r| (r.ts_ms, r.event))
    });
    fold(experiment, records)
}

/// Folds `(wall ms, event)` in log order into every participant's story.
pub fn fold(experiment: &Experiment, events: impl IntoIterator<Item = (u64, Event)>) -> Recovered {
    let mut fold = Fold {
        experiment,
        people: HashMap::new(),
        order: Vec::new(),
        games: HashMap::new(),
        game_scenes: HashMap::new(),
        group_conditions: HashMap::new(),
        group_completed: BTreeMap::new(),
        game_groups: HashMap::new(),
    };
    for (ts_ms, event) in events {
        fold.apply(ts_ms, event);
    }
    let Fold { mut people, order, group_completed, game_groups, .. } = fold;
    let people = order.into_iter().filter_map(|pid| people.remove(&pid)).collect();
    Recovered { people, group_completed, game_groups }
}

struct Fold<'a> {
    experiment: &'a Experiment,
    people: HashMap<ParticipantId, Restored>,
    /// First appearance order, so that restoring is deterministic.
    order: Vec<ParticipantId>,
    games: HashMap<GameId, Vec<ParticipantId>>,
    /// The scene of each game while it runs (for the bonus's results).
    game_scenes: HashMap<GameId, String>,
    /// Games with a group condition, while they run.
    group_conditions: HashMap<GameId, String>,
    group_completed: BTreeMap<String, u64>,
    game_groups: HashMap<GameId, String>,
}

impl Fold<'_> {
    /// The index of scene `id`, preferring `hint` (the logged index) when it still
    /// names that scene (the experiment file may have changed between runs).
    fn scene(&self, id: &str, hint: Option<usize>) -> Option<usize> {
        let scenes = &self.experiment.scenes;
        hint.filter(|i| scenes.get(*i).is_some_and(|s| s.id().as_str() == id))
            .or_else(|| scenes.iter().position(|s| s.id().as_str() == id))
    }

    fn apply(&mut self, ts_ms: u64, event: Event) {
        match event {
            Event::SessionStarted { participant, recruitment_id, params, token_sha256 } => {
                if !self.people.contains_key(&participant) {
                    self.order.push(participant);
                }
                let restored = Restored {
                    participant,
                    recruitment_id,
                    params,
                    token_hashes: token_sha256.into_iter().collect(),
                    reached: Reached::Scene(0),
                    answers: BTreeMap::new(),
                    partners: Vec::new(),
                    started_ms: ts_ms,
                    condition: None,
                    route: Vec::new(),
                    iteration: 1,
                    bonus_points: 0.0,
                    last_game: None,
                    results: BTreeMap::new(),
                    survey: Default::default(),
                };
                self.people.insert(participant, restored);
            }
            Event::SceneEntered { participant, scene, index, iteration } => {
                // A scene the experiment no longer has: they stay where they were.
                let Some(i) = self.scene(&scene, Some(index)) else { return };
                if let Some(p) = self.people.get_mut(&participant)
                    && !matches!(p.reached, Reached::Finished(_) | Reached::Over(..))
                {
                    p.iteration = iteration;
                    (p.survey.tries_here, p.survey.orders) = (0, None);
                    p.survey.wrong.clear();
                    if matches!(self.experiment.scenes[i], Scene::Multiplayer(_)) {
                        p.results.remove(&scene);
                    }
                }
                let reached = match &self.experiment.scenes[i] {
                    Scene::Multiplayer(_) => Reached::Multiplayer(i),
                    Scene::End(_) => Reached::Finished(i),
                    _ => Reached::Scene(i),
                };
                self.set(participant, reached);
            }
            Event::TokenIssued { participant, token_sha256 } => {
                if let Some(p) = self.people.get_mut(&participant) {
                    p.token_hashes.push(token_sha256);
                }
            }
            Event::RouteAssigned { participant, route } => {
                let route: Option<Vec<usize>> = route.iter().map(|id| self.scene(id, None)).collect();
                if let (Some(p), Some(route)) = (self.people.get_mut(&participant), route) {
                    p.route = route; // a route naming a scene since removed is dropped
                }
            }
            Event::SurveyAnswered { participant, scene, answers, iteration, attempt } => {
                if let Some(p) = self.people.get_mut(&participant) {
                    let n = p.survey.attempts.entry((scene.clone(), iteration)).or_insert(0);
                    *n = (*n).max(attempt);
                    p.answers.insert(scene, answers);
                }
            }
            Event::OrderDrawn { participant, scene, iteration, orders } => {
                let i = self.scene(&scene, None);
                if let (Some(p), Some(i)) = (self.people.get_mut(&participant), i) {
                    p.survey.orders = Some((i, iteration, orders));
                }
            }
            Event::CheckGraded { participant, passed, wrong, .. } => {
                if let Some(p) = self.people.get_mut(&participant) {
                    if passed {
                        p.survey.tries_here = 0;
                    } else {
                        p.survey.tries_here += 1;
                    }
                    p.survey.wrong = wrong;
                }
            }
            // What has ended stays ended, even if its scene was renamed since: an end
            // is never lost (nobody takes the study twice).
            Event::Outcome { participant, scene, reason, .. } => {
                let i = self.scene(&scene, None).unwrap_or(0);
                self.set(participant, Reached::Over(i, reason));
            }
            Event::Finished { participant, scene, .. } => {
                let is_end = |i: &usize| matches!(self.experiment.scenes[*i], Scene::End(_));
                let end = self
                    .scene(&scene, None)
                    .filter(is_end)
                    .or_else(|| self.experiment.scenes.iter().rposition(|s| matches!(s, Scene::End(_))));
                match end {
                    Some(i) => self.set(participant, Reached::Finished(i)),
                    None => self.set(participant, Reached::Over(0, OutcomeReason::Expired)),
                }
            }
            Event::GameCompleted { game, participant, result, .. } => {
                let (Some(scene), Some(p)) = (self.game_scenes.get(&game), self.people.get_mut(&participant)) else {
                    return;
                };
                let bonus = self.experiment.recruitment.bonus.as_ref();
                if let Some(points) = bonus.zip(result.as_ref()).and_then(|(b, r)| b.points_in(scene, r)) {
                    p.bonus_points += points;
                }
                match result {
                    Some(r) => p.results.insert(scene.clone(), r),
                    None => p.results.remove(scene),
                };
            }
            Event::GameCreated { game, players, scene } => {
                self.game_scenes.insert(game, scene);
                for p in &players {
                    if let Some(person) = self.people.get_mut(p) {
                        person.last_game = Some(game);
                        for other in players.iter().filter(|o| *o != p) {
                            if !person.partners.contains(other) {
                                person.partners.push(*other);
                            }
                        }
                    }
                }
                self.games.insert(game, players);
            }
            Event::GameEnded { game, reason } => {
                self.games.remove(&game);
                self.game_scenes.remove(&game);
                if let Some(condition) = self.group_conditions.remove(&game)
                    && reason == EndReason::Completed
                {
                    *self.group_completed.entry(condition).or_default() += 1;
                }
            }
            Event::ConditionAssigned { participant, condition } => {
                if let Some(p) = self.people.get_mut(&participant) {
                    p.condition = condition["id"].as_str().map(str::to_owned);
                }
            }
            Event::GroupConditionAssigned { game, condition } => {
                if let Some(id) = condition["id"].as_str() {
                    self.group_conditions.insert(game, id.to_owned());
                    self.game_groups.insert(game, id.to_owned());
                }
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
}

impl State {
    /// Brings the participants of earlier runs back (see the module doc), at `now`
    /// (experiment time) and `wall_ms` (the wall clock). Returns the effects to carry
    /// out: the log lines of this run that say so.
    pub fn restore(&mut self, recovered: Recovered, now: Duration, wall_ms: u64) -> Vec<super::state::Effect> {
        if let Some(b) = self.group_conditions.as_mut() {
            for (id, n) in &recovered.group_completed {
                if let Some(i) = b.index_of(id) {
                    b.completed[i] += n;
                }
            }
            for (game, id) in &recovered.game_groups {
                if let Some(i) = b.index_of(id) {
                    self.game_groups.insert(*game, i);
                }
            }
        }
        for s in recovered.people {
            // Balancing counts who completed and who may still: the finished count,
            // those who go on are taken (and freed below if their part ends).
            let condition = s.condition.as_deref().and_then(|id| self.entry_conditions.as_ref()?.index_of(id));
            if let (Some(i), Some(b)) = (condition, self.entry_conditions.as_mut()) {
                match s.reached {
                    Reached::Finished(_) => b.completed[i] += 1,
                    Reached::Over(..) => {}
                    _ => b.take(i),
                }
            }
            let pid = s.participant;
            for key in s.token_hashes {
                self.by_token.insert(key, pid);
            }
            // Unknown until the tab presents it (or a new one is issued on return).
            let token = String::new();
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
                let bonus_points = s.bonus_points;
                let (recruitment_id, last_game) = (s.recruitment_id, s.last_game);
                self.ended.insert(pid, Ended { recruitment_id, token, place, condition, last_game, bonus_points });
                continue;
            }
            // How long the session has lasted already (its limit counts from its start).
            let age = Duration::from_millis(wall_ms.saturating_sub(s.started_ms));
            let lasts_until = now + self.max_duration.saturating_sub(age);
            let participant = Participant {
                away_since: Some(now),
                answers: s.answers,
                params: s.params,
                partners: s.partners,
                condition,
                step: super::route::step_of(&s.route, place.scene(), s.iteration),
                route: s.route,
                bonus_points: s.bonus_points,
                last_game: s.last_game,
                results: s.results,
                survey: s.survey,
                ..Participant::new(pid, s.recruitment_id, token, place, lasts_until)
            };
            self.participants.insert(pid, participant);
            let scene = self.experiment.scenes[place.scene()].id().to_string();
            self.log(crate::eventlog::Event::SessionRestored { participant: pid, scene });
            match s.reached {
                // Their group went with the old run.
                Reached::Multiplayer(i) => self.end_early(pid, i, OutcomeReason::HostRestarted, now),
                Reached::Scene(i) if age >= self.max_duration => self.end_early(pid, i, OutcomeReason::Expired, now),
                _ => {
                    if let Some(at) = self.expires_at(pid) {
                        self.timers.schedule(at, Timer::Away(pid));
                    }
                }
            }
            self.touched.push(pid);
        }
        self.evict_ended();
        self.take_effects()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::eventlog::LogFile;

    fn experiment(yaml: &str) -> Experiment {
        crate::config::parse(yaml.as_bytes(), Path::new(".")).expect("valid")
    }

    const NOW: &str = "id: t\ntitle: T\nscenes:\n  - {id: consent, kind: consent, body: Agree?}\n  \
                       - {id: instructions, kind: instructions, body: Hi}\n  - {id: done, kind: end}\n";

    #[test]
    fn an_end_is_never_lost_even_when_scenes_were_renamed_since() {
        let data = tempfile::tempdir().unwrap();
        let mut log = LogFile::create(&data.path().join("t").join("20260101T000000Z-0001")).unwrap();
        let p = ParticipantId(uuid::Uuid::from_u128(1));
        let q = ParticipantId(uuid::Uuid::from_u128(2));
        let events = [
            Event::SessionStarted {
                participant: p,
                recruitment_id: Some("fin".into()),
                params: BTreeMap::new(),
                token_sha256: None,
            },
            Event::SceneEntered { participant: p, scene: "intro".into(), index: 1, iteration: 1 }, // since renamed
            Event::Finished {
                participant: p,
                recruitment_id: Some("fin".into()),
                scene: "the-end".into(),
                completion_code: None,
            },
            Event::SessionStarted {
                participant: q,
                recruitment_id: Some("mid".into()),
                params: BTreeMap::new(),
                token_sha256: None,
            },
            Event::SceneEntered { participant: q, scene: "instructions".into(), index: 1, iteration: 1 },
            Event::SceneEntered { participant: q, scene: "intro".into(), index: 1, iteration: 1 }, // gone: stays where it was
        ];
        for e in events {
            log.append(1, e).unwrap();
        }
        log.sync().unwrap();
        let restored = restore(&experiment(NOW), data.path());
        let reached: Vec<(ParticipantId, Reached)> =
            restored.people.iter().map(|r| (r.participant, r.reached.clone())).collect();
        assert_eq!(reached, [(p, Reached::Finished(2)), (q, Reached::Scene(1))]);
    }
}
