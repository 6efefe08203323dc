//! Rows of the exported tables built from events: probes, games, and the event lines
//! themselves (redacted of recruitment ids), plus the small formatting helpers.

use std::collections::BTreeMap;

use serde_json::Value;

use super::csv::Table;
use super::tables::{GameRow, Person, Tables};
use crate::protocol::{GameId, ParticipantId};

pub(super) fn iso(ms: u64) -> String {
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)).to_string()
}

pub(super) fn ids(list: &[ParticipantId]) -> String {
    list.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

pub(super) fn probe_row(run: &str, e: &Value, ts: u64) -> Vec<String> {
    let s = |k: &str| {
        e.get(k)
            .map(|v| v.as_str().map_or_else(|| if v.is_null() { String::new() } else { v.to_string() }, str::to_owned))
            .unwrap_or_default()
    };
    let report =
        |i: usize| e["reported_rtt_ms"].get(i).filter(|v| !v.is_null()).map(ToString::to_string).unwrap_or_default();
    vec![
        s("probe"),
        run.to_owned(),
        s("offerer"),
        s("answerer"),
        report(0),
        report(1),
        s("rtt_ms"),
        s("threshold_ms"),
        s("outcome"),
        s("reached"),
        s("state"),
        s("duration_ms"),
        iso(ts),
    ]
}

/// A pair accepted on its cached RTT (`probe_cached`): a row of its own, naming the
/// probe that measured it, with outcome `cached` and no reports, phase or duration.
pub(super) fn cached_probe_row(run: &str, e: &Value, ts: u64) -> Vec<String> {
    let mut row = probe_row(run, e, ts);
    row[8] = "cached".to_owned();
    row
}

/// `players` is the game's players' entry conditions in slot order (`entry_conditions`).
pub(super) fn game_row(id: &GameId, g: &GameRow, entry_conditions: String) -> Vec<String> {
    let setup = |k: &str| {
        g.setup
            .get(k)
            .filter(|v| !v.is_null())
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default()
    };
    vec![
        id.0.to_string(),
        g.run.clone(),
        g.scene.clone(),
        ids(&g.players),
        g.setup.get("bot_seats").and_then(Value::as_u64).unwrap_or(0).to_string(),
        iso(g.created),
        g.started.map(iso).unwrap_or_default(),
        g.ended.map(iso).unwrap_or_default(),
        g.reason.clone(),
        setup("module"),
        setup("seed"),
        setup("tick_rate"),
        setup("input_delay"),
        g.relay_from.map(|t| t.to_string()).unwrap_or_default(),
        if g.seat_changes.is_empty() { String::new() } else { Value::from(g.seat_changes.clone()).to_string() },
        serde_json::to_string(&g.results).unwrap_or_default(),
        g.condition.clone(),
        entry_conditions,
        g.setup.get("bots_by_host").and_then(Value::as_bool).unwrap_or(false).to_string(),
    ]
}

/// A record as exported: recruitment ids (and link parameters holding them) and the
/// panel's submission id (`session_param`) replaced by the participant's exported ones
/// (pseudonyms with `--pseudonymize`).
pub(super) fn redact(
    record: &crate::eventlog::Record,
    people: &BTreeMap<ParticipantId, Person>,
    session_param: &str,
) -> crate::eventlog::Record {
    let mut record = record.clone();
    let person = record.event.participants().first().and_then(|p| people.get(p));
    if let Some(person) = person {
        for id in record.event.recruitment_ids_mut() {
            id.clone_from(&person.recruitment_id);
        }
        if let crate::eventlog::Event::SessionStarted { params, .. } = &mut record.event
            && let Some(session) = params.get_mut(session_param)
        {
            session.clone_from(&person.session_id);
        }
    }
    record
}

/// Every table, with its columns and no row.
pub(super) fn empty_tables() -> Tables {
    Tables {
        participants: Table::new(
            "participants",
            &[
                "participant",
                "recruitment_id",
                "study_id",
                "session_id",
                "pilot",
                "first_run",
                "started_at",
                "ended_at",
                "outcome",
                "completion_code",
                "spent_secs",
                "wait_secs",
                "games",
                "partners",
                "answers",
                "condition",
            ],
        ),
        answers: Table::new(
            "answers",
            &[
                "participant",
                "recruitment_id",
                "run",
                "scene",
                "question",
                "item",
                "answer",
                "answered_at",
                "iteration",
                "attempt",
            ],
        ),
        chat: Table::new("chat", &["game", "run", "scene", "participant", "slot", "sent_at", "text"]),
        checks: Table::new(
            "checks",
            &["participant", "recruitment_id", "run", "scene", "iteration", "attempt", "passed", "wrong", "graded_at"],
        ),
        matches: Table::new(
            "matches",
            &[
                "match",
                "run",
                "scene",
                "decided_at",
                "policy",
                "fallback",
                "arriving",
                "members",
                "probed",
                "accepted",
                "game",
            ],
        ),
        probes: Table::new(
            "probes",
            &[
                "probe",
                "run",
                "offerer",
                "answerer",
                "offerer_rtt_ms",
                "answerer_rtt_ms",
                "rtt_ms",
                "threshold_ms",
                "outcome",
                "reached",
                "state",
                "duration_ms",
                "finished_at",
            ],
        ),
        games: Table::new(
            "games",
            &[
                "game",
                "run",
                "scene",
                "players",
                "bot_seats",
                "created_at",
                "started_at",
                "ended_at",
                "end_reason",
                "module",
                "seed",
                "tick_rate",
                "input_delay",
                "relay_from_tick",
                "seat_changes",
                "results",
                "condition",
                "entry_conditions",
                "bots_by_host",
            ],
        ),
        game_inputs: Table::new("game_inputs", &["game", "participant", "slot", "tick", "input", "relayed"]),
        events: Table::new("events", &["run", "seq", "ts_ms", "event", "participant", "data"]),
        payments: Table::new(
            "payments",
            &[
                "recruitment_id",
                "participant",
                "study_id",
                "session_id",
                "outcome",
                "completion_code",
                "base_pay",
                "bonus",
                "total",
                "spent_secs",
                "wait_secs",
            ],
        ),
        bonus_missing: 0,
        pilots_left_out: 0,
    }
}
