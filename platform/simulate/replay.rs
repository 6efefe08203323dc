//! The arrivals of a real run, for `arrivals: {replay: {run: DIR}}`: who entered the
//! scene's waitroom when, with the attributes the policy saw, and who left it of their
//! own accord (or lost their connection for good) and when.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use super::scenario::Person;
use crate::config::multiplayer::MultiplayerScene;
use crate::config::types::AttributeSource;
use crate::eventlog::Event;
use crate::protocol::ParticipantId;

/// The people of the run in `dir` who entered the waitroom of `m`, in order of entry.
pub fn people(dir: &Path, m: &MultiplayerScene) -> Result<Vec<Person>, String> {
    let path = if dir.is_dir() { dir.join("events.jsonl") } else { dir.to_path_buf() };
    let records = crate::eventlog::Records::open(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut params: HashMap<ParticipantId, BTreeMap<String, String>> = HashMap::new();
    let mut answers: HashMap<ParticipantId, BTreeMap<String, String>> = HashMap::new();
    let mut joined: Vec<(ParticipantId, u64)> = Vec::new();
    let mut seen: HashMap<ParticipantId, usize> = HashMap::new();
    let mut ended: HashMap<ParticipantId, (u64, bool)> = HashMap::new();
    let mut start = None;
    for record in records {
        let ts = record.ts_ms;
        start.get_or_insert(ts);
        match record.event {
            Event::SessionStarted { participant, params: p, .. } => {
                params.insert(participant, p);
            }
            Event::SurveyAnswered { participant, scene, answers: a, .. } => {
                let mine = answers.entry(participant).or_default();
                for (question, answer) in a {
                    mine.insert(format!("{scene}.{question}"), answer.attribute());
                }
            }
            Event::WaitroomJoined { participant, scene }
                if scene == m.id.as_str() && !seen.contains_key(&participant) =>
            {
                seen.insert(participant, joined.len());
                joined.push((participant, ts));
            }
            Event::WaitroomLeft { participant, scene, reason }
                if scene == m.id.as_str() && (reason == "left" || reason == "expired") =>
            {
                ended.entry(participant).or_insert((ts, reason == "expired"));
            }
            _ => {}
        }
    }
    let start = start.unwrap_or(0);
    Ok(joined
        .into_iter()
        .map(|(pid, ts)| {
            let attributes = m
                .matchmaker
                .attributes
                .iter()
                .filter_map(|a| {
                    let value = match a.source() {
                        AttributeSource::Param(name) => params.get(&pid)?.get(name)?.clone(),
                        AttributeSource::Answer { .. } => answers.get(&pid)?.get(a.name())?.clone(),
                    };
                    Some((a.name().to_owned(), value))
                })
                .collect();
            let after = |end: u64| Duration::from_millis(end.saturating_sub(ts));
            let (leaves_after, drops_after) = match ended.get(&pid) {
                Some(&(end, false)) => (Some(after(end)), None),
                Some(&(end, true)) => (None, Some((after(end), None))),
                None => (None, None),
            };
            Person {
                arrives: Duration::from_millis(ts - start),
                attributes,
                leaves_after,
                drops_after,
                server_rtt_ms: None,
                place: (0, 0.0, 0.0),
            }
        })
        .collect())
}
