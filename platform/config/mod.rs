//! Experiment files: the model researchers write, and its loading pipeline.
//!
//! `bytes → yaml::parse (value + source map) → schema::check (all violations) →
//! typed model (serde) → semantic::check (cross-references, files)`. Every stage
//! reports [`Problem`]s located by key path and `line:column`; loading fails with all
//! of them at once.

/// `impl Default` for structs whose every field has a serde default, by deserializing
/// an empty mapping: the `Default` a section gets when its key is absent is then, by
/// construction, the same as the one documented per field.
macro_rules! defaults_from_empty {
    ($($ty:ty),*) => {$(
        impl Default for $ty {
            fn default() -> Self {
                serde_json::from_value(serde_json::Value::Object(Default::default()))
                    .expect(concat!(stringify!($ty), " has a default for every field"))
            }
        }
    )*};
}

pub mod blocks;
pub mod by_condition;
pub mod conditions;
pub mod diagnostic;
pub mod model;
pub mod multiplayer;
pub mod pay;
pub mod ready;
pub mod reunion;
pub mod schema;
pub mod screening;
pub mod show_if;
pub mod survey;
pub mod texts;
pub mod types;
pub mod yaml;

pub use diagnostic::{KeyPath, Pos, Problem, Report};
pub use model::{Experiment, Scene};
pub mod semantic;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// An experiment that passed every check, with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub experiment: Experiment,
    /// The file as given (for messages).
    pub path: PathBuf,
    /// Directory that relative paths in the file are resolved against.
    pub base_dir: PathBuf,
    /// Each multiplayer scene's game folder (by scene id), read once and served from
    /// memory.
    pub games: HashMap<String, std::sync::Arc<crate::game::files::GameFolder>>,
}

impl Loaded {
    /// An experiment checked elsewhere, with its game folders read from `base_dir`.
    pub fn new(experiment: Experiment, path: PathBuf, base_dir: PathBuf) -> Result<Self, Report> {
        let mut games = HashMap::new();
        for (i, scene) in experiment.scenes.iter().enumerate() {
            if let Scene::Multiplayer(m) = scene {
                let secrets: Vec<PathBuf> = m.ice_servers.iter().filter_map(|s| s.secret_file.clone()).collect();
                let folder =
                    crate::game::files::GameFolder::read(&base_dir, &m.game.module, &secrets).map_err(|e| {
                        let at = KeyPath::root().key("scenes").index(i).key("game").key("module");
                        Report::new(path.display().to_string(), vec![Problem::new(Pos::NONE, at, e.to_string())])
                    })?;
                games.insert(m.id.to_string(), std::sync::Arc::new(folder));
            }
        }
        Ok(Self { experiment, path, base_dir, games })
    }
}

/// Checks the bytes of one experiment file; `base_dir` resolves relative paths.
pub fn parse(bytes: &[u8], base_dir: &Path) -> Result<Experiment, Vec<Problem>> {
    let parsed = yaml::parse(bytes).map_err(|p| vec![p])?;
    let mut problems = schema::check(&parsed.value, &parsed.source);
    // Semantic checks see the file without its unknown keys (each already reported):
    // a typo in an object does not hide that object's other problems.
    let pruned = (!problems.is_empty()).then(|| schema::without_unknown_keys(&parsed.value));
    problems.extend(semantic::check(pruned.as_ref().unwrap_or(&parsed.value), &parsed.source, base_dir));
    if !problems.is_empty() {
        return Err(problems);
    }
    serde_path_to_error::deserialize(&parsed.value).map_err(|e| {
        let path = serde_key_path(e.path());
        vec![Problem::new(parsed.source.value_pos(&path), path, e.into_inner().to_string())]
    })
}

fn serde_key_path(path: &serde_path_to_error::Path) -> KeyPath {
    use serde_path_to_error::Segment as S;
    let mut out = KeyPath::root();
    for segment in path.iter() {
        out = match segment {
            S::Seq { index } => out.index(*index),
            S::Map { key } => out.key(key),
            S::Enum { .. } | S::Unknown => out,
        };
    }
    out
}

/// Reads and checks one experiment file.
pub fn load(path: &Path) -> Result<Loaded, Report> {
    let display = path.display().to_string();
    let bytes = read_bounded(path).map_err(|e| Report::new(&display, vec![Problem::at(Pos::NONE, e)]))?;
    let base_dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let base_dir = if base_dir.as_os_str().is_empty() { PathBuf::from(".") } else { base_dir };
    let experiment = parse(&bytes, &base_dir).map_err(|problems| Report::new(display, problems))?;
    Loaded::new(experiment, path.to_path_buf(), base_dir)
}

/// Reads a YAML file other than an experiment (a `cohort simulate` scenario) into `T`,
/// with the same limits and located errors.
pub fn load_typed<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Report> {
    let display = path.display().to_string();
    let bytes = read_bounded(path).map_err(|e| Report::new(&display, vec![Problem::at(Pos::NONE, e)]))?;
    let parsed = yaml::parse(&bytes).map_err(|p| Report::new(&display, vec![p]))?;
    serde_path_to_error::deserialize(&parsed.value).map_err(|e| {
        let path = serde_key_path(e.path());
        Report::new(&display, vec![Problem::new(parsed.source.value_pos(&path), path, e.into_inner().to_string())])
    })
}

/// [`load_typed`] of YAML text (a default document, say).
pub fn load_typed_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Report> {
    let parsed = yaml::parse(text.as_bytes()).map_err(|p| Report::new("(text)", vec![p]))?;
    serde_path_to_error::deserialize(&parsed.value).map_err(|e| {
        let path = serde_key_path(e.path());
        Report::new("(text)", vec![Problem::new(parsed.source.value_pos(&path), path, e.into_inner().to_string())])
    })
}

/// Reads at most one byte more than the YAML size limit, so a huge file costs nothing.
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err("is a directory, not an experiment file".to_owned());
    }
    let mut bytes = Vec::new();
    file.take(yaml::MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    Ok(bytes)
}

/// Loads several files, also checking that experiment ids are unique across them.
/// Returns every loaded experiment and one report per failing file.
pub fn load_all(paths: &[PathBuf]) -> (Vec<Loaded>, Vec<Report>) {
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut reports = Vec::new();
    let mut ids: HashMap<String, PathBuf> = HashMap::new();
    for path in paths {
        match load(path) {
            Ok(l) => match ids.get(l.experiment.id.as_str()) {
                Some(first) => {
                    let at = KeyPath::root().key("id");
                    let pos = yaml::parse(&read_bounded(path).unwrap_or_default())
                        .map(|p| p.source.value_pos(&at))
                        .unwrap_or_default();
                    let msg = format!("experiment id `{}` is already used by {}", l.experiment.id, first.display());
                    reports.push(Report::new(path.display().to_string(), vec![Problem::new(pos, at, msg)]));
                }
                None => {
                    ids.insert(l.experiment.id.to_string(), path.clone());
                    loaded.push(l);
                }
            },
            Err(report) => reports.push(report),
        }
    }
    (loaded, reports)
}

impl Experiment {
    /// One line describing the experiment, e.g. for `cohort validate`.
    pub fn summary(&self) -> String {
        let flow: Vec<String> = self
            .scenes
            .iter()
            .map(|s| match s {
                Scene::Multiplayer(m) => {
                    let policy = if m.matchmaker.plugin.is_some() { "plugin" } else { "fifo" };
                    let relaxed = m.relax.last().map(|r| format!(" (up to {} ms after waiting)", r.max_p2p_rtt_ms));
                    let probe = m
                        .max_p2p_rtt_ms
                        .map(|t| format!(", rtt ≤ {t} ms{}", relaxed.unwrap_or_default()))
                        .unwrap_or_default();
                    let people =
                        if m.group_size == 1 { "1 player".to_owned() } else { format!("{} players", m.group_size) };
                    let bots = match m.game.bot_seats {
                        0 => String::new(),
                        1 => " + 1 bot".to_owned(),
                        n => format!(" + {n} bots"),
                    };
                    // Deception is an explicit line of the file, and said here.
                    let may_seat_bots = m.game.bot_seats > 0
                        || m.waitroom.fill_with_bots_after_secs.is_some()
                        || matches!(m.on_dropout, multiplayer::Dropout::Bot | multiplayer::Dropout::Backfill);
                    let untold = match &m.waitroom.tell_about_bots {
                        _ if !may_seat_bots => String::new(),
                        multiplayer::TellBots::Everyone(false) => ", bots not told to anyone".to_owned(),
                        multiplayer::TellBots::Everyone(true) => String::new(),
                        multiplayer::TellBots::ByCondition(map) => {
                            let untold: Vec<&str> = map.iter().filter(|(_, t)| !**t).map(|(k, _)| k.as_str()).collect();
                            if untold.is_empty() {
                                String::new()
                            } else {
                                format!(", bots not told to {}", untold.join(", "))
                            }
                        }
                    };
                    let bots = format!("{bots}{untold}");
                    format!("multiplayer({people}{bots}, {policy}{probe})")
                }
                other => other.kind().to_owned(),
            })
            .collect();
        format!("experiment `{}` ({} scenes: {})", self.id, self.scenes.len(), flow.join(" → "))
    }
}

#[cfg(test)]
mod tests {
    use super::multiplayer::{Matchmaker, Probe, Waitroom};

    #[test]
    fn section_defaults_match_documented_field_defaults() {
        assert_eq!(Probe::default().pings, 5);
        assert_eq!(Matchmaker::default().call_timeout_ms, 100);
        assert_eq!(Waitroom::default().timeout_secs, 300.0);
        assert_eq!(super::model::Recruitment::default().id_param, "PROLIFIC_PID");
    }

    #[test]
    fn scenes_after_the_end_reached_by_a_checks_or_a_ready_checks_goto_are_reachable() {
        let yaml = r#"
id: reach
title: Reach
scenes:
  - id: quiz
    kind: survey
    on_fail: {goto: remedial}
    questions:
      - {id: red, kind: single_choice, prompt: Red?, options: [go, stop], correct: stop}
  - id: play
    kind: multiplayer
    group_size: 2
    waitroom: {ready_check: {timeout_secs: 10, on_missed: {goto: missed}}}
    game: {module: experiments/games/demo.js}
  - {id: end, kind: end}
  - {id: remedial, kind: end, message: Thanks.}
  - {id: missed, kind: end, message: You missed it.}
"#;
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let parsed = super::parse(yaml.as_bytes(), base);
        assert!(parsed.is_ok(), "{:?}", parsed.err());
    }
}
