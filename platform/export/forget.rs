//! `cohort forget DATA_DIR RECRUITMENT_ID`: a participant's data deleted on request.
//! Every event about them alone (their session with its recruitment id and link
//! parameters, answers, inputs, outcomes: events naming no one else, whatever the
//! field) becomes `{"seq", "ts_ms", "event":
//! "redacted"}` in every run of every experiment under `DATA_DIR`, so the logs keep
//! their numbering and still read back; other events keep only the opaque id (which
//! nothing links to a person any more). Each rewrite is atomic (a new file renamed
//! over the old), and `DATA_DIR/<experiment>/forgotten.jsonl` records that it was done
//! (when, which participant id, how many lines), never the recruitment id. Run it
//! while the host is stopped.

use std::io::{BufRead, Write};
use std::path::Path;

use crate::protocol::ParticipantId;

/// What `forget` did.
#[derive(Debug, Default)]
pub struct Forgotten {
    pub participants: Vec<ParticipantId>,
    pub lines: usize,
    pub files: usize,
}

/// Redacts `recruitment_id`'s events under `dir` (a data directory or one experiment's).
pub fn forget(dir: &Path, recruitment_id: &str) -> std::io::Result<Forgotten> {
    let mut done = Forgotten::default();
    for (experiment_dir, _) in super::experiments(dir) {
        let name = experiment_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let logs = crate::eventlog::previous_logs(experiment_dir.parent().unwrap_or(Path::new(".")), &name);
        // Their participant ids: from the sessions that carry the recruitment id.
        let mut ids = Vec::new();
        for log in &logs {
            for r in crate::eventlog::Records::open(log)? {
                if let crate::eventlog::Event::SessionStarted { participant, recruitment_id: Some(rid), .. } = &r.event
                    && rid == recruitment_id
                    && !ids.contains(participant)
                {
                    ids.push(*participant);
                }
            }
        }
        if ids.is_empty() {
            continue;
        }
        let mut lines = 0;
        for log in &logs {
            let n = redact_file(log, &ids)?;
            if n > 0 {
                lines += n;
                done.files += 1;
            }
        }
        let record = serde_json::json!({
            "ts_ms": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            "forgotten": ids,
            "lines_redacted": lines,
        });
        let mut f =
            std::fs::OpenOptions::new().create(true).append(true).open(experiment_dir.join("forgotten.jsonl"))?;
        writeln!(f, "{record}")?;
        f.sync_all()?;
        done.lines += lines;
        done.participants.extend(ids);
    }
    Ok(done)
}

/// Whether a log line is about the forgotten participants only: every participant
/// its event names (in any field, as the event's type says) is one of `ids`. A line
/// this version cannot read as an event (a newer kind) is judged by its
/// `participant` field.
fn about_only(line: &serde_json::Value, ids: &[ParticipantId], wanted: &[String]) -> bool {
    match serde_json::from_value::<crate::eventlog::Record>(line.clone()) {
        Ok(record) => {
            let named = record.event.participants();
            !named.is_empty() && named.iter().all(|p| ids.contains(p))
        }
        Err(_) => line.get("participant").and_then(|p| p.as_str()).is_some_and(|p| wanted.iter().any(|w| w == p)),
    }
}

/// Rewrites one log with the lines about `ids` redacted; how many were.
fn redact_file(log: &Path, ids: &[ParticipantId]) -> std::io::Result<usize> {
    let wanted: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    let reader = std::io::BufReader::new(std::fs::File::open(log)?);
    let tmp = log.with_extension("jsonl.forget");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    let mut redacted = 0;
    for line in reader.split(b'\n') {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let value: Option<serde_json::Value> = serde_json::from_slice(&line).ok();
        if let Some(v) = value.as_ref().filter(|v| about_only(v, ids, &wanted)) {
            let stub = serde_json::json!({"seq": v["seq"], "ts_ms": v["ts_ms"], "event": "redacted"});
            writeln!(out, "{stub}")?;
            redacted += 1;
        } else {
            out.write_all(&line)?;
            out.write_all(b"\n")?;
        }
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    if redacted == 0 {
        std::fs::remove_file(&tmp)?;
        return Ok(0);
    }
    std::fs::rename(&tmp, log)?;
    if let Some(parent) = log.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(redacted)
}
