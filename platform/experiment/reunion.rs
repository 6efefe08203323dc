//! Group reunion (`reunion: {from, scene, timeout_secs}`): at start, the groups of the
//! earlier experiment are read from its logs; a participant who comes back (the same
//! recruitment id) is held for their earlier partners — grouped with them as soon as
//! all are waiting, offered to nobody else — until `timeout_secs`, then matched like
//! anyone else.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::state::State;
use super::timers::Timer;
use crate::config::Experiment;
use crate::config::Scene;
use crate::eventlog::{self, Event};
use crate::protocol::{GameId, ParticipantId};

/// An earlier group: its game, and its members' recruitment ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Former {
    pub game: GameId,
    pub members: Vec<String>,
    /// How many played in it.
    pub size: usize,
}

/// Per multiplayer scene with `reunion`: recruitment id → their earlier group, and
/// group code → that group.
pub type Reunions = HashMap<usize, Index>;

/// The earlier groups of one scene, by recruitment id and by code.
#[derive(Debug, Clone, Default)]
pub struct Index {
    pub by_id: HashMap<String, Former>,
    pub by_code: HashMap<String, Former>,
}

/// Reads the earlier experiments' groups from their logs under `data`.
pub fn load(experiment: &Experiment, data: &Path) -> Reunions {
    let mut out = Reunions::new();
    for (i, scene) in experiment.scenes.iter().enumerate() {
        let Scene::Multiplayer(m) = scene else { continue };
        let Some(r) = &m.reunion else { continue };
        let mut rid: HashMap<ParticipantId, String> = HashMap::new();
        let mut index = Index::default();
        for path in eventlog::previous_logs(data, r.from.as_str()) {
            let Ok(records) = eventlog::Records::open(&path) else { continue };
            for record in records {
                match record.event {
                    Event::SessionStarted { participant, recruitment_id: Some(id), .. } => {
                        rid.insert(participant, id);
                    }
                    Event::GameCreated { game, scene, players }
                        if r.scene.as_ref().is_none_or(|s| s.as_str() == scene) =>
                    {
                        let members: Vec<String> = players.iter().filter_map(|p| rid.get(p).cloned()).collect();
                        let former = Former { game, members, size: players.len() };
                        for member in &former.members {
                            index.by_id.insert(member.clone(), former.clone());
                        }
                        index.by_code.insert(crate::config::reunion::group_code(&game), former);
                    }
                    _ => {}
                }
            }
        }
        out.insert(i, index);
    }
    out
}

impl State {
    /// Uses the earlier groups read by [`load`].
    pub fn set_reunions(&mut self, reunions: Reunions) {
        self.reunions = reunions;
    }

    /// A participant entering the waitroom of `scene`: held for their earlier partners
    /// if they had any there.
    pub(super) fn hold_for_reunion(&mut self, pid: ParticipantId, scene: usize, now: Duration) {
        let Some(r) = self.multiplayer(scene).reunion.clone() else { return };
        let p = &self.participants[&pid];
        let index = self.reunions.get(&scene);
        // A group code in the link first, then the recruitment id.
        let by_code = p.params.get(&r.code_param).and_then(|c| index?.by_code.get(&c.trim().to_uppercase()));
        let by_id = p.recruitment_id.as_ref().and_then(|id| index?.by_id.get(id));
        let Some(former) = by_code.or(by_id).cloned() else { return };
        if former.size < 2 {
            return;
        }
        let until = now + Duration::from_secs_f64(r.timeout_secs);
        let room = self.rooms.get_mut(&scene).expect("room exists");
        let Some(entry) = room.entries.get_mut(&pid) else { return };
        entry.reunite = Some((former.game, until));
        self.timers.schedule(until, Timer::Reunion(scene, pid));
        let scene_id = self.experiment.scenes[scene].id().to_string();
        self.log(Event::ReunionWaiting { participant: pid, scene: scene_id, earlier_game: former.game });
    }

    /// For a participant held for a reunion: everyone waiting for the same earlier
    /// group, once they are as many as played in it (`Some(group)`, oldest first).
    pub(super) fn reunion_group(&self, scene: usize, pid: ParticipantId) -> Option<Vec<ParticipantId>> {
        let room = &self.rooms[&scene];
        let (game, _) = room.entries.get(&pid)?.reunite?;
        let size = self.reunions.get(&scene)?.by_code.get(&crate::config::reunion::group_code(&game))?.size;
        let group: Vec<ParticipantId> = room
            .order
            .iter()
            .filter(|p| room.entries.get(p).is_some_and(|e| e.available() && e.reunite.is_some_and(|(g, _)| g == game)))
            .copied()
            .take(size)
            .collect();
        (group.len() == size).then_some(group)
    }

    /// Matching for a participant held for a reunion: their earlier group once all of
    /// it is here (and the scene's group size), nobody else meanwhile.
    pub(super) fn try_reunion(&mut self, scene: usize, arriving: ParticipantId, now: Duration) {
        if !self.rooms[&scene].entries.get(&arriving).is_some_and(|e| e.available() && e.deadline > now) {
            return;
        }
        let size = self.rooms[&scene].group_size;
        match self.reunion_group(scene, arriving).filter(|g| g.len() == size) {
            Some(group) => {
                let scene_id = self.experiment.scenes[scene].id().to_string();
                let members = group.clone();
                let policy = "reunion".to_owned();
                self.log(Event::MatchDecided { scene: scene_id, policy, arriving, members, fallback: false });
                for pid in &group {
                    if let Some(e) = self.rooms.get_mut(&scene).and_then(|r| r.entries.get_mut(pid)) {
                        e.reunite = None;
                    }
                }
                self.propose(scene, group, now);
            }
            None => self.note_why(scene, arriving, "waiting for their earlier partners (reunion)", &[]),
        }
    }

    /// Reunion holds that ran out: matched like anyone else from now on.
    pub(super) fn reunion_timeouts(&mut self, due: Vec<(usize, ParticipantId)>, now: Duration) {
        for (scene, pid) in due {
            let room = self.rooms.get_mut(&scene).expect("room exists");
            let Some(entry) = room.entries.get_mut(&pid) else { continue };
            let Some((game, until)) = entry.reunite else { continue };
            if until > now {
                continue;
            }
            entry.reunite = None;
            self.log(Event::ReunionTimeout { participant: pid, earlier_game: game });
            self.try_match(scene, pid, now);
        }
    }
}
