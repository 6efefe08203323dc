//! Group reunion (`reunion: {from, scene, timeout_secs}`): the groups of the earlier
//! experiment are read from its logs — all of them at start, then what was appended
//! since, before each `hello` (the earlier experiment may run on in the same host) —
//! and a participant who comes back (their group's code in the link, or the same
//! recruitment id) is held for their earlier partners — grouped with them as soon as
//! all are waiting, offered to nobody else — until `timeout_secs`, then matched like
//! anyone else.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::state::State;
use super::timers::Timer;
use crate::config::Experiment;
use crate::config::Scene;
use crate::eventlog::{self, Event, Record};
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

impl Index {
    fn insert(&mut self, former: Former) {
        for member in &former.members {
            self.by_id.insert(member.clone(), former.clone());
        }
        self.by_code.insert(crate::config::reunion::group_code(&former.game), former);
    }
}

/// Follows the logs of the earlier experiments: each read takes only what was
/// appended since the last (whole lines), so following costs a directory listing and
/// a `stat` per log when nothing changed.
pub struct Follower {
    data: PathBuf,
    scenes: Vec<Followed>,
}

/// One scene's `reunion`, and how far its earlier experiment's logs were read.
struct Followed {
    scene: usize,
    from: String,
    only: Option<String>,
    read: HashMap<PathBuf, u64>,
    /// Recruitment ids of the earlier experiment's sessions, as their games need them.
    rid: HashMap<ParticipantId, String>,
}

impl Follower {
    /// `None` when no scene of `experiment` has a `reunion`.
    pub fn new(experiment: &Experiment, data: &Path) -> Option<Self> {
        let scenes: Vec<Followed> = experiment
            .scenes
            .iter()
            .enumerate()
            .filter_map(|(scene, s)| match s {
                Scene::Multiplayer(m) => m.reunion.as_ref().map(|r| Followed {
                    scene,
                    from: r.from.to_string(),
                    only: r.scene.as_ref().map(|s| s.to_string()),
                    read: HashMap::new(),
                    rid: HashMap::new(),
                }),
                _ => None,
            })
            .collect();
        (!scenes.is_empty()).then(|| Self { data: data.to_path_buf(), scenes })
    }

    /// The groups formed in the earlier experiments since the last read, by scene.
    pub fn read_new(&mut self) -> Vec<(usize, Former)> {
        let mut out = Vec::new();
        for f in &mut self.scenes {
            for path in eventlog::previous_logs(&self.data, &f.from) {
                let mut from = f.read.get(&path).copied().unwrap_or(0);
                while let Some((bytes, upto)) = appended(&path, from) {
                    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                        let Ok(record) = serde_json::from_slice::<Record>(line) else { continue };
                        if let Some(former) = f.note(record.event) {
                            out.push((f.scene, former));
                        }
                    }
                    from = upto;
                }
                f.read.insert(path, from);
            }
        }
        out
    }
}

impl Followed {
    fn note(&mut self, event: Event) -> Option<Former> {
        match event {
            Event::SessionStarted { participant, recruitment_id: Some(id), .. } => {
                self.rid.insert(participant, id);
                None
            }
            Event::GameCreated { game, scene, players } if self.only.as_ref().is_none_or(|s| *s == scene) => {
                let members = players.iter().filter_map(|p| self.rid.get(p).cloned()).collect();
                Some(Former { game, members, size: players.len() })
            }
            _ => None,
        }
    }
}

/// At most this much of a log is held in memory at once.
const CHUNK: u64 = 4 << 20;

/// The whole lines appended to `path` after byte `from` (at most [`CHUNK`]), and where
/// they end; `None` when there is no whole line more. A log shorter than `from` was
/// replaced: it is read again from the start.
fn appended(path: &Path, from: u64) -> Option<(Vec<u8>, u64)> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let from = if len < from { 0 } else { from };
    let want = (len - from).min(CHUNK);
    if want == 0 {
        return None;
    }
    file.seek(SeekFrom::Start(from)).ok()?;
    let mut bytes = Vec::with_capacity(want as usize);
    file.take(want).read_to_end(&mut bytes).ok()?;
    match bytes.iter().rposition(|&b| b == b'\n') {
        Some(at) => {
            bytes.truncate(at + 1);
            Some((bytes, from + at as u64 + 1))
        }
        // A line longer than a chunk is no event of ours: passed over.
        None if want == CHUNK => Some((Vec::new(), from + CHUNK)),
        // A line still being written is read next time.
        None => None,
    }
}

impl State {
    /// Knows the earlier groups a [`Follower`] read.
    pub fn add_reunions(&mut self, formed: Vec<(usize, Former)>) {
        for (scene, former) in formed {
            self.reunions.entry(scene).or_default().insert(former);
        }
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

#[cfg(test)]
mod tests {
    use super::appended;

    #[test]
    fn a_line_still_being_written_is_read_once_whole_and_a_replaced_log_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, b"{\"a\":1}\n{\"b\"").unwrap();
        let (bytes, upto) = appended(&path, 0).unwrap();
        assert_eq!((bytes.as_slice(), upto), (&b"{\"a\":1}\n"[..], 8));
        assert_eq!(appended(&path, upto), None, "half a line waits");
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut f, b":2}\n").unwrap();
        assert_eq!(appended(&path, upto), Some((b"{\"b\":2}\n".to_vec(), 16)));
        assert_eq!(appended(&path, 16), None);
        std::fs::write(&path, b"{}\n").unwrap();
        assert_eq!(appended(&path, 16), Some((b"{}\n".to_vec(), 3)), "shorter than read: read again");
    }
}
