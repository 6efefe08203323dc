//! What an experiment looks like now, for the people running it (`/admin/status.json`,
//! `/metrics`): participants by place, who waits and how long, games, probes and
//! matches in flight, and counts of what happened since the host started — kept by
//! the actor (counts as events are logged, places once a second) and read by the
//! server. Never a recruitment id.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use super::state::{Place, State};
use crate::eventlog::Event;

/// Upper bounds (ms) of the probe RTT histogram's buckets.
pub const RTT_BUCKETS: [f64; 10] = [5.0, 10.0, 20.0, 40.0, 60.0, 80.0, 120.0, 200.0, 400.0, 1000.0];
/// Waits kept for the percentiles (the latest).
const WAITS_KEPT: usize = 1000;

/// A snapshot of one experiment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    pub experiment: String,
    /// Participants by place now: `scene`, `waiting`, `playing`, `finished`, `over`.
    pub places: BTreeMap<&'static str, u64>,
    /// Everyone waiting now: scene and seconds waited (oldest first).
    pub waiting: Vec<(String, f64)>,
    /// Everyone waiting now (the longest waiting 200), with why they are not matched
    /// yet: their state and the last decisions about them.
    pub why_waiting: Vec<super::why::Waiting>,
    pub games_in_progress: u64,
    /// Sessions the host holds (running, or ended with a connection still open), the
    /// ended ones it remembers (their end page is shown again on return), and the
    /// timers it holds: what a soak checks returns to nothing.
    pub sessions: u64,
    pub ended_sessions: u64,
    pub timers: u64,
    pub probes_in_flight: u64,
    /// The probes running now: seconds since they started, and the RTTs (ms) each
    /// peer reported so far.
    pub probes_now: Vec<(f64, [Option<f64>; 2])>,
    pub pending_matches: u64,
    /// Events logged since the host started, by kind.
    pub events: BTreeMap<String, u64>,
    /// Early outcomes since the host started, by reason.
    pub outcomes: BTreeMap<String, u64>,
    /// Decided probe RTTs: counts per bucket of [`RTT_BUCKETS`] (and above), sum, count.
    pub probe_rtt_ms: Histogram,
    /// Seconds waited in the waitroom (by those who left it): p50 and p95.
    pub wait_p50_secs: Option<f64>,
    pub wait_p95_secs: Option<f64>,
    /// Probes decided since the host started, by outcome.
    pub probes: BTreeMap<String, u64>,
    /// Per-minute counts of the last hours (the admin page's charts over time).
    pub history: super::history::History,
    /// The latest lines of the groups' chats (at most [`CHAT_KEPT`]), newest last.
    pub chat: std::collections::VecDeque<ChatSeen>,
    /// Policy (plugin) call latency, all scenes together.
    #[serde(skip)]
    pub policy_calls: crate::matchmaking::CallTimes,
    #[serde(skip)]
    waits: Vec<f64>,
    /// When each participant now waiting joined (wall clock, ms).
    #[serde(skip)]
    joined: std::collections::HashMap<crate::protocol::ParticipantId, u64>,
    /// Each event kind's name, found once (serializing every event to count it would
    /// cost the actor on every decision).
    #[serde(skip)]
    kinds: std::collections::HashMap<std::mem::Discriminant<Event>, String>,
}

impl Snapshot {
    /// Waits of those who left the waitroom, bucketed for a chart.
    pub fn wait_histogram(&self) -> Vec<(String, u64)> {
        let bounds =
            [(10.0, "<10s"), (30.0, "10-30s"), (60.0, "30-60s"), (120.0, "1-2m"), (300.0, "2-5m"), (f64::MAX, "5m+")];
        let mut counts = vec![0u64; bounds.len()];
        for w in &self.waits {
            let i = bounds.iter().position(|(b, _)| w < b).unwrap_or(bounds.len() - 1);
            counts[i] += 1;
        }
        bounds.iter().zip(counts).map(|((_, label), n)| ((*label).to_owned(), n)).collect()
    }

    /// The probe RTT histogram with labels, for a chart.
    pub fn rtt_histogram(&self) -> Vec<(String, u64)> {
        let mut labels: Vec<String> = RTT_BUCKETS.iter().map(|b| format!("≤{b}")).collect();
        labels.push(">1000".into());
        labels.into_iter().zip(self.probe_rtt_ms.buckets.iter().copied()).collect()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Histogram {
    pub buckets: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

/// Shared between the actor (writes) and the server (reads).
/// Chat lines the researcher's page shows.
pub const CHAT_KEPT: usize = 100;

/// A chat line as the researcher sees it live: when, which group, who (by seat), what.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChatSeen {
    pub at_ms: u64,
    pub game: String,
    pub scene: String,
    pub slot: usize,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct Stats {
    snapshot: Mutex<Snapshot>,
    /// Participant messages the actor took in, and messages it sent.
    pub messages_in: std::sync::atomic::AtomicU64,
    pub messages_out: std::sync::atomic::AtomicU64,
}

impl Stats {
    pub fn new(experiment: &str) -> Self {
        let snapshot = Snapshot {
            experiment: experiment.to_owned(),
            probe_rtt_ms: Histogram { buckets: vec![0; RTT_BUCKETS.len() + 1], ..Histogram::default() },
            ..Snapshot::default()
        };
        Stats { snapshot: Mutex::new(snapshot), ..Stats::default() }
    }

    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Counts a logged event (at `ts_ms`, wall clock).
    pub fn record(&self, event: &Event, ts_ms: u64) {
        let Ok(mut s) = self.snapshot.lock() else { return };
        let kind = s
            .kinds
            .entry(std::mem::discriminant(event))
            .or_insert_with(|| {
                let value = serde_json::to_value(event).ok();
                value.and_then(|v| v.get("event").and_then(|k| k.as_str()).map(str::to_owned)).unwrap_or_default()
            })
            .clone();
        *s.events.entry(kind).or_default() += 1;
        s.history.record(event, ts_ms);
        match event {
            Event::Outcome { reason, .. } => {
                let reason = serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned));
                *s.outcomes.entry(reason.unwrap_or_default()).or_default() += 1;
            }
            Event::ProbeFinished { rtt_ms: Some(rtt), outcome, .. } => {
                *s.probes.entry(outcome.clone()).or_default() += 1;
                let i = RTT_BUCKETS.iter().position(|b| rtt <= b).unwrap_or(RTT_BUCKETS.len());
                s.probe_rtt_ms.buckets[i] += 1;
                s.probe_rtt_ms.sum += rtt;
                s.probe_rtt_ms.count += 1;
            }
            Event::ProbeFinished { rtt_ms: None, outcome, .. } => {
                *s.probes.entry(outcome.clone()).or_default() += 1;
            }
            Event::WaitroomJoined { participant, .. } => {
                s.joined.insert(*participant, ts_ms);
            }
            Event::ChatSent { game, slot, scene, text, .. } => {
                if s.chat.len() >= CHAT_KEPT {
                    s.chat.pop_front();
                }
                let (game, scene, text) = (game.0.to_string(), scene.clone(), text.clone());
                s.chat.push_back(ChatSeen { at_ms: ts_ms, game, scene, slot: *slot, text });
            }
            Event::WaitroomLeft { participant, .. } => {
                if let Some(joined) = s.joined.remove(participant) {
                    if s.waits.len() >= WAITS_KEPT {
                        s.waits.remove(0);
                    }
                    s.waits.push(ts_ms.saturating_sub(joined) as f64 / 1000.0);
                    let mut sorted = s.waits.clone();
                    sorted.sort_by(f64::total_cmp);
                    let at = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
                    (s.wait_p50_secs, s.wait_p95_secs) = (Some(at(0.5)), Some(at(0.95)));
                }
            }
            _ => {}
        }
    }

    /// Takes the places and what is in flight from the state.
    pub(super) fn observe(&self, state: &State, now: Duration) {
        let mut places: BTreeMap<&'static str, u64> = BTreeMap::new();
        for p in state.participants.values() {
            let place = match p.place {
                Place::Scene(_) => "scene",
                Place::Waiting(_) => "waiting",
                Place::Playing(..) => "playing",
                Place::Finished(_) => "finished",
                Place::Over(..) => "over",
            };
            *places.entry(place).or_default() += 1;
        }
        let mut waiting: Vec<(String, f64)> = state
            .rooms
            .iter()
            .flat_map(|(scene, room)| {
                let id = state.experiment.scenes[*scene].id().to_string();
                room.entries
                    .values()
                    .map(move |e| (id.clone(), now.saturating_sub(e.candidate.joined_at).as_secs_f64()))
            })
            .collect();
        waiting.sort_by(|a, b| b.1.total_cmp(&a.1));
        let wall_ms =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let Ok(mut s) = self.snapshot.lock() else { return };
        s.history.waiting(wall_ms, places.get("waiting").copied().unwrap_or(0));
        s.places = places;
        s.waiting = waiting;
        s.why_waiting = super::why::waiting(state, now);
        s.games_in_progress = state.games_in_progress() as u64;
        s.sessions = state.live_session_count() as u64;
        s.ended_sessions = state.session_count().saturating_sub(state.live_session_count()) as u64;
        s.timers = state.timer_count() as u64;
        s.probes_in_flight = state.probes.len() as u64;
        s.probes_now = state
            .probes
            .values()
            .map(|(_, p)| (now.saturating_sub(p.started_at).as_secs_f64(), p.reported_rtts()))
            .collect();
        s.pending_matches = state.rooms.values().map(|r| r.pending.len() as u64).sum();
        let mut calls = crate::matchmaking::CallTimes::default();
        for room in state.rooms.values() {
            if let Some(t) = room.policy.call_times() {
                calls.add(&t);
            }
        }
        s.policy_calls = calls;
    }
}
