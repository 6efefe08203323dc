//! `cohort export`: an experiment's event logs, across all its runs, as tables a
//! researcher loads into pandas or R — participants, answers, matches, probes, games,
//! game inputs, and every event — described in `docs/data.md`. Pilot and bot sessions
//! are left out unless asked for; recruitment ids can be replaced by keyed hashes.

pub mod csv;
pub mod forget;
mod pay;
mod rows;
mod tables;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use tables::Tables;

/// What to export and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep sessions marked as pilot or bot (`cohort_bot=1` or `pilot=1` in the link).
    pub include_pilot: bool,
    /// Replace recruitment ids by HMAC-SHA256(key, id) (hex, 16 digits).
    pub pseudonym_key: Option<Vec<u8>>,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0} holds no event log (expected DATA/<experiment>/<run>/events.jsonl)")]
    NoLogs(String),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// The experiment directories under `dir`: `dir` itself when it holds runs, else each
/// subdirectory that does (a whole data directory).
pub fn experiments(dir: &Path) -> Vec<(PathBuf, String)> {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let holds_runs = |p: &Path| {
        let parent = p.parent().unwrap_or(Path::new("."));
        !crate::eventlog::previous_logs(parent, &name(p)).is_empty()
    };
    if holds_runs(dir) {
        return vec![(dir.to_path_buf(), name(dir))];
    }
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && holds_runs(p))
        .map(|p| {
            let n = name(&p);
            (p, n)
        })
        .collect();
    out.sort();
    out
}

/// Reads every run of the experiment in `dir` (`DATA/<experiment>`) into tables.
pub fn read(dir: &Path, opts: &Options) -> Result<Tables, ExportError> {
    let experiment = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let logs = crate::eventlog::previous_logs(dir.parent().unwrap_or(Path::new(".")), &experiment);
    if logs.is_empty() {
        return Err(ExportError::NoLogs(dir.display().to_string()));
    }
    let mut runs = Vec::new();
    for log in logs {
        let run = log.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let records = crate::eventlog::Records::open(&log)
            .map_err(|e| ExportError::Write { path: log.display().to_string(), source: e })?;
        runs.push((run, records.collect::<Vec<_>>()));
    }
    let recruitment = recruitment(dir, &runs).unwrap_or_default();
    Ok(Tables::build(&runs, opts, &recruitment))
}

/// The experiment's `recruitment` settings (pay, bonus, the panel's link parameters),
/// from the copy of the experiment file the latest run kept.
fn recruitment(
    dir: &Path,
    runs: &[(String, Vec<crate::eventlog::Record>)],
) -> Option<crate::config::model::Recruitment> {
    let (run, records) = runs.last()?;
    let files = records.iter().find_map(|r| match &r.event {
        crate::eventlog::Event::RunStarted { files, .. } => Some(files.clone()),
        _ => None,
    })?;
    let (name, hash) = files.iter().find(|(n, _)| !n.contains('/') && (n.ends_with(".yaml") || n.ends_with(".yml")))?;
    let copy = dir.join(run).join("files").join(format!("{}-{name}", &hash[..16.min(hash.len())]));
    let parsed = crate::config::yaml::parse(&std::fs::read(copy).ok()?).ok()?;
    serde_json::from_value(parsed.value.get("recruitment")?.clone()).ok()
}

/// Writes each table as `<out>/<table>.csv`; returns (table, rows) written.
pub fn write_csv(tables: &Tables, out: &Path) -> Result<Vec<(&'static str, usize)>, ExportError> {
    let fail = |path: &Path, source| ExportError::Write { path: path.display().to_string(), source };
    std::fs::create_dir_all(out).map_err(|e| fail(out, e))?;
    let mut written = Vec::new();
    for table in tables.all() {
        let path = out.join(format!("{}.csv", table.name));
        let file = std::fs::File::create(&path).map_err(|e| fail(&path, e))?;
        let mut w = std::io::BufWriter::new(file);
        table.write(&mut w).and_then(|()| std::io::Write::flush(&mut w)).map_err(|e| fail(&path, e))?;
        written.push((table.name, table.len()));
    }
    // Prolific's bulk bonus takes `<participant id>,<amount>` lines, no header.
    let path = out.join("prolific_bonus.csv");
    let lines: String = tables.bonuses().map(|(id, amount)| format!("{id},{amount:.2}\n")).collect();
    std::fs::write(&path, lines).map_err(|e| fail(&path, e))?;
    Ok(written)
}

/// A recruitment id's stable pseudonym under `key` (HMAC-SHA256, first 16 hex digits).
pub fn pseudonym(key: &[u8], id: &str) -> String {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(id.as_bytes()).finalize();
    let outer = Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize();
    let hex: String = outer.iter().map(|b| format!("{b:02x}")).collect();
    format!("p_{}", &hex[..16])
}

#[cfg(test)]
mod tests {
    use crate::eventlog::{Record, one_of_each};
    use crate::protocol::ParticipantId;

    /// An experiment whose log holds one event of every kind about two sessions: `a`
    /// (recruitment id `RID`), a pilot whenever `pilot`, and `b`, always a pilot.
    fn log_of_every_kind(pilot: bool) -> (tempfile::TempDir, ParticipantId, ParticipantId) {
        let (a, b) = (ParticipantId(uuid::Uuid::from_u128(1)), ParticipantId(uuid::Uuid::from_u128(2)));
        let data = tempfile::tempdir().unwrap();
        let run = data.path().join("x").join("r1");
        std::fs::create_dir_all(&run).unwrap();
        let mut events = one_of_each(a, b, "RID");
        if !pilot && let crate::eventlog::Event::SessionStarted { params, .. } = &mut events[7] {
            params.remove("pilot");
        }
        let b_session = crate::eventlog::Event::SessionStarted {
            participant: b,
            recruitment_id: Some("RIDB".into()),
            params: [("cohort_bot".to_owned(), "1".to_owned())].into(),
            token_sha256: None,
        };
        events.insert(1, b_session);
        let lines: String = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| {
                serde_json::to_string(&Record { seq: i as u64 + 1, ts_ms: 1_000 + i as u64, event }).unwrap() + "\n"
            })
            .collect();
        std::fs::write(run.join("events.jsonl"), lines).unwrap();
        (data, a, b)
    }

    fn cells(tables: &super::Tables) -> Vec<String> {
        let mut out = Vec::new();
        for table in tables.all() {
            for row in table.rows() {
                out.extend(row.iter().map(|c| format!("{}: {c}", table.name)));
            }
        }
        out
    }

    #[test]
    fn a_study_of_pilots_and_bots_exports_no_row_about_them_for_any_event_kind() {
        let (data, a, b) = log_of_every_kind(true);
        let tables = super::read(&data.path().join("x"), &super::Options::default()).unwrap();
        let about: Vec<String> = cells(&tables)
            .into_iter()
            .filter(|c| c.contains(&a.to_string()) || c.contains(&b.to_string()) || c.contains("RID"))
            .collect();
        assert!(about.is_empty(), "rows naming pilots or bots: {about:#?}");
        assert!(tables.events.len() >= 8, "events about nobody in particular stay: {}", tables.events.len());
        let all =
            super::read(&data.path().join("x"), &super::Options { include_pilot: true, ..Default::default() }).unwrap();
        assert_eq!(all.events.len(), 58, "asked for, every event is there: {}", all.events.len());
    }

    #[test]
    fn pseudonymized_the_recruitment_id_is_in_no_table_for_any_event_kind() {
        let (data, a, _) = log_of_every_kind(false);
        let opts = super::Options { include_pilot: false, pseudonym_key: Some(b"k".to_vec()) };
        let tables = super::read(&data.path().join("x"), &opts).unwrap();
        let leaked: Vec<String> =
            cells(&tables).into_iter().filter(|c| c.contains("RID") || c.contains("sess-1")).collect();
        assert!(leaked.is_empty(), "{leaked:#?}");
        assert!(cells(&tables).iter().any(|c| c.contains(&super::pseudonym(b"k", "RID"))));
        assert!(cells(&tables).iter().any(|c| c.contains(&a.to_string())), "the real participant is exported");
    }

    #[test]
    fn forgetting_redacts_every_event_that_names_only_them_whatever_its_kind() {
        let (data, a, b) = log_of_every_kind(false);
        let done = super::forget::forget(data.path(), "RID").unwrap();
        assert_eq!(done.participants, vec![a]);
        let text = std::fs::read_to_string(data.path().join("x/r1/events.jsonl")).unwrap();
        assert!(!text.contains("RID\""), "the recruitment id is gone");
        for line in text.lines() {
            let record: Record = serde_json::from_str(line).unwrap();
            let named = record.event.participants();
            assert!(named != vec![a], "an event naming only them was kept: {line}");
            if named.contains(&b) {
                assert!(line.contains(&b.to_string()), "events naming others keep them: {line}");
            }
        }
    }
    #[test]
    fn pseudonyms_are_hmac_sha256_and_stable() {
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let p = super::pseudonym(b"Jefe", "what do ya want for nothing?");
        assert_eq!(p, "p_5bdcc146bf60754e");
        assert_ne!(super::pseudonym(b"other key", "what do ya want for nothing?"), p);
    }
}
