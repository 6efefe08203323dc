//! The durable event log: every decision and every answer, as append-only JSON lines in
//! `DATA/<experiment>/<run>/events.jsonl` (a run = one start of the host for that
//! experiment).
//!
//! [`Event`] is the typed vocabulary; each later feature adds its variants here.
//! [`LogFile`] appends and syncs (the caller decides when: the experiment's outbox
//! syncs in small groups before sending anything that depends on the events);
//! [`Records`] streams a log back, skipping (and counting) lines it cannot read, such
//! as a torn last line left by a crash.

mod about;
mod event;
mod file;
mod read;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[cfg(any(test, feature = "testkit"))]
pub use about::one_of_each;
pub use about::{Members, Scope};
pub use event::Event;
pub use file::{LogError, LogFile};
pub use read::{Records, read};

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
