//! Writing the log: [`LogFile`] appends records and makes them durable in groups, and
//! survives a failed write (disk full, read-only) without losing or doubling a record.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{Event, Record};

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
