//! Reading logs back, one line at a time, skipping (and counting) lines that cannot
//! be read.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::Record;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventlog::{Event, LogFile};
    use crate::protocol::ParticipantId;
    use std::fs::OpenOptions;
    use std::io::Write;

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
