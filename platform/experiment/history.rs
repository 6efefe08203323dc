//! The live view over time: per-minute counts of the last hours (arrivals and
//! completions per entry condition, games started, early endings, and how many were
//! waiting), kept in memory by the stats and sent as data in `/admin/status.json`,
//! where the admin page draws them. Bounded: [`MINUTES_KEPT`] minutes, each with one
//! count per condition the experiment declares.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use crate::eventlog::Event;

/// Six hours of minutes.
pub const MINUTES_KEPT: usize = 360;
const MINUTE_MS: u64 = 60_000;

#[derive(Debug, Clone, Default)]
struct Minute {
    start_ms: u64,
    arrived: u64,
    arrived_by_condition: BTreeMap<String, u64>,
    finished: u64,
    finished_by_condition: BTreeMap<String, u64>,
    ended_early: u64,
    games_started: u64,
    /// Participants waiting at the minute's last look (once a second).
    waiting: u64,
}

/// The minutes, oldest first, with no gap (a quiet minute counts zeros).
#[derive(Debug, Clone, Default)]
pub struct History {
    minutes: VecDeque<Minute>,
    /// Participants' entry conditions until their part ends (to count completions per
    /// condition); bounded by the sessions in progress.
    conditions: std::collections::HashMap<crate::protocol::ParticipantId, String>,
}

impl History {
    /// The minute holding `ts_ms`, adding the minutes up to it (a time before the
    /// latest minute counts in the latest: the wall clock stepped back).
    fn at(&mut self, ts_ms: u64) -> &mut Minute {
        let start = ts_ms - ts_ms % MINUTE_MS;
        let last = self.minutes.back().map(|m| m.start_ms);
        match last {
            None => self.minutes.push_back(Minute { start_ms: start, ..Minute::default() }),
            Some(last) if start > last => {
                // At most the kept minutes are filled in, however long the pause.
                let first = last.max(start.saturating_sub(MINUTES_KEPT as u64 * MINUTE_MS)) + MINUTE_MS;
                for m in (first..=start).step_by(MINUTE_MS as usize) {
                    self.minutes.push_back(Minute { start_ms: m, ..Minute::default() });
                }
            }
            Some(_) => {}
        }
        while self.minutes.len() > MINUTES_KEPT {
            self.minutes.pop_front();
        }
        self.minutes.back_mut().expect("a minute was just added")
    }

    /// Counts a logged event at `ts_ms` (wall clock).
    pub fn record(&mut self, event: &Event, ts_ms: u64) {
        match event {
            Event::SessionStarted { .. } => self.at(ts_ms).arrived += 1,
            Event::ConditionAssigned { participant, condition } => {
                let name = condition["id"].as_str().unwrap_or_default().to_owned();
                self.conditions.insert(*participant, name.clone());
                let minute = self.at(ts_ms);
                // A condition's completions are listed (zeros) from its first arrival.
                minute.finished_by_condition.entry(name.clone()).or_default();
                *minute.arrived_by_condition.entry(name).or_default() += 1;
            }
            Event::Finished { participant, .. } => {
                let condition = self.conditions.remove(participant);
                let minute = self.at(ts_ms);
                minute.finished += 1;
                if let Some(c) = condition {
                    *minute.finished_by_condition.entry(c).or_default() += 1;
                }
            }
            Event::Outcome { participant, .. } => {
                self.conditions.remove(participant);
                self.at(ts_ms).ended_early += 1;
            }
            Event::GameStarted { .. } => self.at(ts_ms).games_started += 1,
            _ => {}
        }
    }

    /// How many are waiting now (`now_ms`, wall clock).
    pub fn waiting(&mut self, now_ms: u64, waiting: u64) {
        self.at(now_ms).waiting = waiting;
    }
}

/// The history as columns: a minute's start (ms since the epoch) and each count, one
/// value per minute.
#[derive(Serialize)]
struct Columns<'a> {
    minute_ms: Vec<u64>,
    arrived: Vec<u64>,
    arrived_by_condition: BTreeMap<&'a str, Vec<u64>>,
    finished: Vec<u64>,
    finished_by_condition: BTreeMap<&'a str, Vec<u64>>,
    ended_early: Vec<u64>,
    games_started: Vec<u64>,
    waiting: Vec<u64>,
}

impl Serialize for History {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let column = |f: fn(&Minute) -> u64| self.minutes.iter().map(f).collect::<Vec<u64>>();
        let by = |f: fn(&Minute) -> &BTreeMap<String, u64>| {
            let names: std::collections::BTreeSet<&str> =
                self.minutes.iter().flat_map(|m| f(m).keys().map(String::as_str)).collect();
            names
                .into_iter()
                .map(|n| (n, self.minutes.iter().map(|m| f(m).get(n).copied().unwrap_or(0)).collect()))
                .collect::<BTreeMap<&str, Vec<u64>>>()
        };
        Columns {
            minute_ms: column(|m| m.start_ms),
            arrived: column(|m| m.arrived),
            arrived_by_condition: by(|m| &m.arrived_by_condition),
            finished: column(|m| m.finished),
            finished_by_condition: by(|m| &m.finished_by_condition),
            ended_early: column(|m| m.ended_early),
            games_started: column(|m| m.games_started),
            waiting: column(|m| m.waiting),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ParticipantId;

    fn started(i: u128) -> Event {
        Event::SessionStarted {
            participant: ParticipantId(uuid::Uuid::from_u128(i)),
            recruitment_id: None,
            params: Default::default(),
            token_sha256: None,
        }
    }

    #[test]
    fn minutes_have_no_gaps_and_stay_bounded() {
        let mut h = History::default();
        h.record(&started(1), 0);
        h.record(&started(2), 30_000);
        h.record(&started(3), 3 * MINUTE_MS + 5);
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["minute_ms"], serde_json::json!([0, 60_000, 120_000, 180_000]));
        assert_eq!(v["arrived"], serde_json::json!([2, 0, 0, 1]));
        // A host left alone for a day keeps six hours of minutes.
        h.waiting(24 * 60 * MINUTE_MS, 4);
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["minute_ms"].as_array().unwrap().len(), MINUTES_KEPT);
        assert_eq!(v["waiting"].as_array().unwrap().last().unwrap(), 4);
    }

    #[test]
    fn completions_count_per_entry_condition() {
        let mut h = History::default();
        let p = ParticipantId(uuid::Uuid::from_u128(7));
        h.record(&Event::ConditionAssigned { participant: p, condition: serde_json::json!({"id": "told"}) }, 10);
        h.record(
            &Event::Finished { participant: p, recruitment_id: None, scene: "end".into(), completion_code: None },
            20,
        );
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["arrived_by_condition"]["told"], serde_json::json!([1]));
        assert_eq!(v["finished_by_condition"]["told"], serde_json::json!([1]));
        assert!(h.conditions.is_empty(), "nothing kept about a participant whose part ended");
    }
}
