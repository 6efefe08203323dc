//! `cohort export`: an experiment's event logs, across all its runs, as tables a
//! researcher loads into pandas or R — participants, answers, matches, probes, games,
//! game inputs, and every event — described in `docs/data.md`. Pilot and bot sessions
//! are left out unless asked for; recruitment ids can be replaced by keyed hashes.

pub mod csv;
pub mod forget;
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
    let bonus = bonus_rule(dir, &runs);
    Ok(Tables::build(&runs, opts, bonus.as_ref()))
}

/// The experiment's `recruitment.bonus`, from the copy of the experiment file the
/// latest run kept.
fn bonus_rule(dir: &Path, runs: &[(String, Vec<crate::eventlog::Record>)]) -> Option<crate::config::model::Bonus> {
    let (run, records) = runs.last()?;
    let files = records.iter().find_map(|r| match &r.event {
        crate::eventlog::Event::RunStarted { files, .. } => Some(files.clone()),
        _ => None,
    })?;
    let (name, hash) = files.iter().find(|(n, _)| !n.contains('/') && (n.ends_with(".yaml") || n.ends_with(".yml")))?;
    let copy = dir.join(run).join("files").join(format!("{}-{name}", &hash[..16.min(hash.len())]));
    let parsed = crate::config::yaml::parse(&std::fs::read(copy).ok()?).ok()?;
    serde_json::from_value(parsed.value.get("recruitment")?.get("bonus")?.clone()).ok()
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
    #[test]
    fn pseudonyms_are_hmac_sha256_and_stable() {
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let p = super::pseudonym(b"Jefe", "what do ya want for nothing?");
        assert_eq!(p, "p_5bdcc146bf60754e");
        assert_ne!(super::pseudonym(b"other key", "what do ya want for nothing?"), p);
    }
}
