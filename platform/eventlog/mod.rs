//! The durable event log: every decision and every answer, as append-only JSON lines in
//! `DATA/<experiment>/<run>/events.jsonl` (a run = one start of the host for that
//! experiment).
//!
//! [`Event`] is the typed vocabulary; each later feature adds its variants here.
//! [`LogFile`] appends and syncs (the caller decides when: the experiment's outbox
//! syncs in small groups before sending anything that depends on the events);
//! [`Records`] streams a log back, skipping (and counting) lines it cannot read, such
//! as a torn last line left by a crash.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::game::EndReason;
use crate::probe::Phase;
use crate::protocol::{Answer, GameId, OutcomeReason, ParticipantId, ProbeId};

/// Everything the host records. Tagged by `"event"` in the JSON line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The host started serving this experiment (first line of every run).
    RunStarted {
        experiment: String,
        run: String,
        host_version: String,
        /// SHA-256 (hex) of each file the run serves, by path relative to the
        /// experiment file (the experiment file itself, each policy); copies are kept
        /// in the run directory under `files/`.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        files: BTreeMap<String, String>,
    },
    /// The host stopped serving it cleanly (last line of a clean run).
    RunStopped,
    /// New participants are turned away from now on (`reason`: `disk_space`, ...),
    /// with `message`; running sessions go on.
    ArrivalsClosed {
        reason: String,
        message: String,
    },
    /// New participants are admitted again.
    ArrivalsOpened,
    /// `count` events of kind `what` (`refused`, `policy_log`) of one participant or
    /// one scene's policy were not logged one by one: over the log budget for the
    /// minute that just ended.
    LogSuppressed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scene: Option<String>,
        what: String,
        count: u64,
    },
    /// A new participant. `recruitment_id` and `params` stay in the data only.
    SessionStarted {
        participant: ParticipantId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recruitment_id: Option<String>,
        params: BTreeMap<String, String>,
        /// SHA-256 (hex) of the session's resume token, so that a restarted host
        /// recognises the tab (the token itself is never logged).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_sha256: Option<String>,
    },
    /// A new resume token for a session of an earlier run that came back without its
    /// old one (by recruitment id): its SHA-256, so that a later restart knows it.
    TokenIssued {
        participant: ParticipantId,
        token_sha256: String,
    },
    /// An unfinished session of an earlier run, brought back at the start of this run
    /// where it was (`scene`).
    SessionRestored {
        participant: ParticipantId,
        scene: String,
    },
    /// A participant's socket attached (`resumed`: to an existing session).
    Connected {
        participant: ParticipantId,
        resumed: bool,
    },
    /// A participant's socket went away; the grace period starts.
    Disconnected {
        participant: ParticipantId,
    },
    /// A second connection for a connected participant was refused, or (`took_over`)
    /// a new connection took the session over from the old one.
    DuplicateRefused {
        participant: ParticipantId,
        /// By recruitment id after the participant chose "continue here" (`takeover`),
        /// rather than by the tab's own token.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        took_over: bool,
    },
    /// The participant's part ended early (waitroom timeout, left the waitroom, a
    /// partner left, away past the grace period).
    Outcome {
        participant: ParticipantId,
        scene: String,
        reason: OutcomeReason,
    },
    SceneEntered {
        participant: ParticipantId,
        scene: String,
        index: usize,
    },
    SceneLeft {
        participant: ParticipantId,
        scene: String,
        index: usize,
    },
    ConsentGiven {
        participant: ParticipantId,
        scene: String,
    },
    SurveyAnswered {
        participant: ParticipantId,
        scene: String,
        answers: BTreeMap<String, Answer>,
    },
    /// Entered the waitroom of a multiplayer scene.
    WaitroomJoined {
        participant: ParticipantId,
        scene: String,
    },
    /// Left the waitroom: `matched`, `timeout`, `left` or `expired`.
    WaitroomLeft {
        participant: ParticipantId,
        scene: String,
        reason: String,
    },
    /// The policy's answer was refused or the policy failed; `fallback` applied.
    PolicyFault {
        scene: String,
        policy: String,
        arriving: ParticipantId,
        fault: String,
        fallback: String,
    },
    /// Lines a policy logged while deciding.
    PolicyLog {
        scene: String,
        policy: String,
        arriving: ParticipantId,
        lines: Vec<String>,
    },
    /// A group was proposed and its pairs are being probed.
    MatchProposed {
        r#match: uuid::Uuid,
        scene: String,
        members: Vec<ParticipantId>,
        probes: Vec<ProbeId>,
    },
    /// A proposed group was confirmed (`accepted`) or dropped.
    MatchResolved {
        r#match: uuid::Uuid,
        accepted: bool,
    },
    ProbeStarted {
        probe: ProbeId,
        r#match: uuid::Uuid,
        offerer: ParticipantId,
        answerer: ParticipantId,
    },
    /// A probe ended: how far it got (`reached`), its final `state` (complete or
    /// failed), what each peer reported, the decided RTT, the threshold and the outcome
    /// (`accepted`, `rejected`, `timed_out`, `aborted`).
    ProbeFinished {
        probe: ProbeId,
        offerer: ParticipantId,
        answerer: ParticipantId,
        duration_ms: u64,
        reached: Phase,
        state: Phase,
        reported_rtt_ms: [Option<f64>; 2],
        /// Why a peer's measurement failed, as it reported.
        #[serde(default)]
        reported_errors: [Option<String>; 2],
        rtt_ms: Option<f64>,
        threshold_ms: Option<f64>,
        outcome: String,
    },
    GameCreated {
        game: GameId,
        scene: String,
        players: Vec<ParticipantId>,
    },
    GameStarted {
        game: GameId,
    },
    /// A player's game input (relayed to the group).
    GameAction {
        game: GameId,
        participant: ParticipantId,
        action: serde_json::Value,
    },
    GameCompleted {
        game: GameId,
        participant: ParticipantId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<serde_json::Value>,
    },
    GameEnded {
        game: GameId,
        reason: EndReason,
    },
    /// A probe or game message was refused (a stale client, or an attempt to act on
    /// someone else's session).
    Refused {
        participant: ParticipantId,
        message: String,
        reason: String,
    },
    /// The participant reached an `end` scene.
    Finished {
        participant: ParticipantId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recruitment_id: Option<String>,
        scene: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        completion_code: Option<String>,
    },
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Position in this run's log, from 1.
    pub seq: u64,
    /// Wall-clock time of the decision, milliseconds since the Unix epoch.
    pub ts_ms: u64,
    #[serde(flatten)]
    pub event: Event,
}

/// SHA-256 of `bytes`, hex: how the log names what it must not hold (resume tokens) or
/// need not hold (the files a run served).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Errors of the event log, with the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot create the event log {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error("cannot write the event log {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// An open, append-only log file. Appended records wait in memory until
/// [`LogFile::sync`] writes and fsyncs them together; a sync that fails (disk full,
/// read-only) leaves the file as it was and keeps the records, so that the same sync
/// can be retried until it succeeds. Nothing is ever half in the log.
pub struct LogFile {
    path: PathBuf,
    file: File,
    /// Length of the file up to the last successful sync.
    durable_len: u64,
    /// Serialized records not yet durable.
    pending: Vec<u8>,
    /// A failed write could not be cut back: the file may end past `durable_len`.
    torn: bool,
    seq: u64,
}

impl LogFile {
    /// Creates `dir/events.jsonl` (and `dir`); fails if the file already exists, so a
    /// run never appends to another run's log. The directory entry is made durable.
    pub fn create(dir: &Path) -> Result<Self, LogError> {
        let path = dir.join("events.jsonl");
        let create = |source| LogError::Create { path: path.clone(), source };
        std::fs::create_dir_all(dir).map_err(create)?;
        let file = OpenOptions::new().append(true).create_new(true).open(&path).map_err(create)?;
        // The new file's name must survive a crash too.
        File::open(dir).and_then(|d| d.sync_all()).map_err(create)?;
        Ok(Self { path, file, durable_len: 0, pending: Vec::new(), torn: false, seq: 0 })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues one record; call [`LogFile::sync`] to make it durable.
    pub fn append(&mut self, ts_ms: u64, event: Event) -> Result<(), LogError> {
        self.seq += 1;
        let record = Record { seq: self.seq, ts_ms, event };
        serde_json::to_writer(&mut self.pending, &record).expect("events serialize");
        self.pending.push(b'\n');
        Ok(())
    }

    /// Writes and fsyncs everything appended so far (no-op when nothing is pending).
    /// On failure the file is cut back to what was durable and the records stay
    /// pending: call again to retry.
    pub fn sync(&mut self) -> Result<(), LogError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let wrap = |source| LogError::Write { path: self.path.clone(), source };
        // A partial write that could not be cut back before is cut back now, or nothing
        // is written (the retry must start on a line of its own).
        if self.torn {
            self.file.set_len(self.durable_len).map_err(wrap)?;
            self.torn = false;
        }
        let written = self.file.write_all(&self.pending).and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            // A partial write must not stay in front of the retry.
            self.torn = self.file.set_len(self.durable_len).is_err();
            return Err(LogError::Write { path: self.path.clone(), source });
        }
        self.durable_len += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Records waiting for a successful sync, in bytes.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }
}

/// Reads a log: every readable record, in order. A line that cannot be read (a torn
/// last line after a crash, or damage inside) is skipped with a warning; the rest of
/// the run still counts.
pub fn read(path: &Path) -> io::Result<Vec<Record>> {
    Ok(Records::open(path)?.collect())
}

/// The records of a log, streamed one line at a time (recovery, export and replay read
/// logs of any size this way).
pub struct Records {
    path: PathBuf,
    lines: io::Split<BufReader<File>>,
    number: usize,
    skipped: usize,
}

impl Records {
    pub fn open(path: &Path) -> io::Result<Self> {
        let lines = BufReader::new(File::open(path)?).split(b'\n');
        Ok(Self { path: path.to_path_buf(), lines, number: 0, skipped: 0 })
    }

    /// Lines skipped so far because they could not be read.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

impl Iterator for Records {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            let line = match self.lines.next()? {
                Ok(line) => line,
                Err(e) => {
                    tracing::warn!(file = %self.path.display(), error = %e, "cannot read on in the event log");
                    return None;
                }
            };
            self.number += 1;
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Record>(&line) {
                Ok(record) => return Some(record),
                Err(e) => {
                    self.skipped += 1;
                    tracing::warn!(file = %self.path.display(), line = self.number, error = %e, "skipping an unreadable line of the event log");
                }
            }
        }
    }
}

/// The directory of a new run: `data/<experiment>/<run>` where `run` sorts by start time.
pub fn run_dir(data: &Path, experiment: &str, run: &str) -> PathBuf {
    data.join(experiment).join(run)
}

/// Every earlier run's log of `experiment` under `data`, oldest first.
pub fn previous_logs(data: &Path, experiment: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(data.join(experiment)) else {
        return Vec::new();
    };
    let mut logs: Vec<PathBuf> =
        entries.filter_map(|e| e.ok()).map(|e| e.path().join("events.jsonl")).filter(|p| p.is_file()).collect();
    logs.sort();
    logs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid() -> ParticipantId {
        ParticipantId(uuid::Uuid::from_u128(7))
    }

    #[test]
    fn appended_records_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogFile::create(dir.path()).unwrap();
        log.append(1, Event::Connected { participant: pid(), resumed: false }).unwrap();
        log.append(2, Event::Disconnected { participant: pid() }).unwrap();
        log.sync().unwrap();
        let records = read(log.path()).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1], Record { seq: 2, ts_ms: 2, event: Event::Disconnected { participant: pid() } });
        assert!(LogFile::create(dir.path()).is_err(), "a run must not reuse another run's log");
    }

    #[test]
    fn unreadable_lines_are_skipped_and_counted_and_the_rest_still_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogFile::create(dir.path()).unwrap();
        log.append(1, Event::RunStopped).unwrap();
        log.sync().unwrap();
        let path = log.path().to_path_buf();
        drop(log);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"seq\":2,\"ts_ms\":5,\"event\":\"disc").unwrap();
        assert_eq!(read(&path).unwrap().len(), 1);
        file.write_all(b"\n{\"seq\":3,\"ts_ms\":6,\"event\":\"run_stopped\"}\n").unwrap();
        let mut records = Records::open(&path).unwrap();
        let seqs: Vec<u64> = records.by_ref().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 3], "the damaged line is skipped, the one after it read");
        assert_eq!(records.skipped(), 1);
    }
}
