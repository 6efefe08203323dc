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
}

/// Per multiplayer scene with `reunion`: recruitment id → their earlier group.
pub type Reunions = HashMap<usize, HashMap<String, Former>>;

/// Reads the earlier experiments' groups from their logs under `data`.
pub fn load(experiment: &Experiment, data: &Path) -> Reunions {
    let mut out = Reunions::new();
    for (i, scene) in experiment.scenes.iter().enumerate() {
        let Scene::Multiplayer(m) = scene else { continue };
        let Some(r) = &m.reunion else { continue };
        let mut rid: HashMap<ParticipantId, String> = HashMap::new();
        let mut groups: HashMap<String, Former> = HashMap::new();
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
                        for member in &members {
                            groups.insert(member.clone(), Former { game, members: members.clone() });
                        }
                    }
                    _ => {}
                }
            }
        }
        out.insert(i, groups);
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
        let Some(rid) = self.participants[&pid].recruitment_id.clone() else { return };
        let Some(former) = self.reunions.get(&scene).and_then(|g| g.get(&rid)).cloned() else { return };
        if former.members.len() < 2 {
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

    /// For a participant held for a reunion: their earlier partners, if all of them are
    /// waiting and available (`Some(group)`), or `None` while some are missing.
    pub(super) fn reunion_group(&self, scene: usize, pid: ParticipantId) -> Option<Vec<ParticipantId>> {
        let rid = self.participants[&pid].recruitment_id.as_ref()?;
        let former = self.reunions.get(&scene)?.get(rid)?;
        let room = &self.rooms[&scene];
        let mut group = Vec::new();
        for member in &former.members {
            let other = *self.by_recruitment.get(member)?;
            let entry = room.entries.get(&other)?;
            if !(entry.available() && entry.reunite.is_some_and(|(g, _)| g == former.game)) {
                return None;
            }
            group.push(other);
        }
        Some(group)
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
            None => self.note_why(scene, arriving, "waiting for their earlier partners (reunion)".to_owned(), &[]),
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
