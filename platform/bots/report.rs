//! The summary of a bots run: arrivals per second, join → match and join → start
//! percentiles, how the bots ended (completed, by outcome, by error kind), as text for
//! people and JSON for scripts.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::client::ClientError;
use crate::protocol::{GameId, OutcomeReason};

/// How a bot's walk ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// Reached an `end` scene.
    Completed,
    /// The host ended its part early.
    Outcome(OutcomeReason),
    /// Held its connection until the run ended (`--hold`).
    Held,
    /// Closed its tab for good, as its churn said.
    Abandoned,
    /// Something went wrong; the kind, for the summary.
    Error(String),
}

/// What one bot measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// When the bot joined the waitroom (the message that led there was sent).
    pub joined: Option<Instant>,
    /// When `match_found` came, for which game, with how many players.
    pub matched: Option<(Instant, GameId, usize)>,
    /// From joining the waitroom to `match_found`.
    pub join_to_match: Option<Duration>,
    /// From joining the waitroom to `start_game`.
    pub join_to_start: Option<Duration>,
    /// What the module's `done` returned in each game the bot completed.
    pub results: Vec<serde_json::Value>,
    pub ending: Ending,
}

/// Percentiles of a latency, in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `samples`; `None` when empty.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        if ms.is_empty() {
            return None;
        }
        ms.sort_by(f64::total_cmp);
        let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Some(Self { count: ms.len(), p50: rank(0.50), p95: rank(0.95), p99: rank(0.99), max: ms[ms.len() - 1] })
    }
}

/// Shortest span of arrivals a rate is given for: bots started within less than this
/// were started at once, and a rate would only say how fast they were spawned.
const MIN_ARRIVAL_SPAN_SECS: f64 = 0.1;

/// Arrivals per second of `bots` arriving over `span_secs` (the first arrives at 0, the
/// last at the end of the span), if they were paced.
fn arrival_rate(bots: usize, span_secs: f64) -> Option<f64> {
    (bots >= 2 && span_secs >= MIN_ARRIVAL_SPAN_SECS).then(|| (bots - 1) as f64 / span_secs)
}

/// What a run of bots did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub bots: usize,
    /// Time over which bots arrived, and arrivals per second: only over a real span
    /// (paced with `--rate`); bots started all at once have no rate.
    pub arrival_secs: f64,
    pub arrivals_per_sec: Option<f64>,
    /// Until the last bot finished.
    pub duration_secs: f64,
    /// From the arrival that completed a group (its last member's join) to each
    /// member's `match_found`: the host's part, without waiting for partners. Groups
    /// whose members are all bots of this run.
    pub complete_to_match_ms: Option<Latency>,
    /// From each bot's own join to its `match_found` (includes waiting for partners).
    pub join_to_match_ms: Option<Latency>,
    pub join_to_start_ms: Option<Latency>,
    pub matched: usize,
    pub completed: usize,
    /// Early outcomes by reason (`waitroom_timeout`, `partner_left`, ...).
    pub outcomes: BTreeMap<String, usize>,
    /// Connections held open until the end (`--hold`).
    pub held: usize,
    /// Errors by kind (`connect: HTTP 429`, `no message in time`, ...).
    pub errors: BTreeMap<String, usize>,
    /// Game results the bots reported, and how many held a number under each key: a
    /// bonus (`recruitment.bonus.from`) counts nothing from a result without its key.
    pub results: usize,
    pub result_numbers: BTreeMap<String, usize>,
}

impl Summary {
    pub fn of(reports: &[Report], arrivals: Duration, duration: Duration) -> Self {
        let matches: Vec<Duration> = reports.iter().filter_map(|r| r.join_to_match).collect();
        let completes = complete_to_match(reports);
        let starts: Vec<Duration> = reports.iter().filter_map(|r| r.join_to_start).collect();
        let mut outcomes = BTreeMap::new();
        let mut errors = BTreeMap::new();
        let (mut completed, mut held) = (0, 0);
        for r in reports {
            match &r.ending {
                Ending::Completed => completed += 1,
                Ending::Held => held += 1,
                Ending::Outcome(reason) => {
                    let name = serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_owned));
                    *outcomes.entry(name.unwrap_or_else(|| format!("{reason:?}"))).or_insert(0) += 1;
                }
                Ending::Abandoned => *outcomes.entry("abandoned".to_owned()).or_insert(0) += 1,
                Ending::Error(kind) => *errors.entry(kind.clone()).or_insert(0) += 1,
            }
        }
        let arrival_secs = arrivals.as_secs_f64();
        let mut result_numbers = BTreeMap::new();
        for result in reports.iter().flat_map(|r| &r.results) {
            for (key, value) in result.as_object().into_iter().flatten() {
                if value.is_number() {
                    *result_numbers.entry(key.clone()).or_insert(0) += 1;
                }
            }
        }
        Self {
            results: reports.iter().map(|r| r.results.len()).sum(),
            result_numbers,
            bots: reports.len(),
            arrival_secs,
            arrivals_per_sec: arrival_rate(reports.len(), arrival_secs),
            duration_secs: duration.as_secs_f64(),
            matched: matches.len(),
            complete_to_match_ms: Latency::of(&completes),
            join_to_match_ms: Latency::of(&matches),
            join_to_start_ms: Latency::of(&starts),
            completed,
            outcomes,
            held,
            errors,
        }
    }

    /// The summary as lines of text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let rate = match self.arrivals_per_sec {
            Some(rate) if rate < 1.0 => format!("{rate:.2}/s"),
            Some(rate) => format!("{rate:.1}/s"),
            None => "all at once".to_owned(),
        };
        out.push_str(&format!("bots: {} (arrivals {rate}), done in {:.1} s\n", self.bots, self.duration_secs));
        let latencies = [
            ("group complete → match", &self.complete_to_match_ms),
            ("join → match", &self.join_to_match_ms),
            ("join → start", &self.join_to_start_ms),
        ];
        for (name, l) in latencies {
            match l {
                Some(l) => out.push_str(&format!(
                    "{name}: p50 {:.1} ms · p95 {:.1} ms · p99 {:.1} ms · max {:.1} ms ({} bots)\n",
                    l.p50, l.p95, l.p99, l.max, l.count
                )),
                None => out.push_str(&format!("{name}: none\n")),
            }
        }
        out.push_str(&format!("matched: {} · completed: {}", self.matched, self.completed));
        if self.held > 0 {
            out.push_str(&format!(" · held open: {}", self.held));
        }
        out.push('\n');
        for (title, counts) in [("ended early", &self.outcomes), ("errors", &self.errors)] {
            if !counts.is_empty() {
                let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
                out.push_str(&format!("{title}: {}\n", parts.join(" · ")));
            }
        }
        if self.results > 0 {
            // Which keys a bonus may name: a key missing from some results pays nothing there.
            let parts: Vec<String> = self
                .result_numbers
                .iter()
                .map(|(k, n)| if *n == self.results { k.clone() } else { format!("{k} (in {n} only)") })
                .collect();
            let numbers = if parts.is_empty() { "none".to_owned() } else { parts.join(", ") };
            out.push_str(&format!("game results: {} · numbers under: {numbers}\n", self.results));
        }
        out
    }
}

/// Per game formed entirely of this run's bots: each member's match time minus the
/// last member's join.
fn complete_to_match(reports: &[Report]) -> Vec<Duration> {
    let mut games: HashMap<GameId, Vec<&Report>> = HashMap::new();
    for r in reports {
        if let Some((_, game, _)) = &r.matched {
            games.entry(*game).or_default().push(r);
        }
    }
    let mut out = Vec::new();
    for members in games.values() {
        let size = members[0].matched.as_ref().map_or(0, |m| m.2);
        let Some(last_join) =
            members.iter().map(|r| r.joined).collect::<Option<Vec<_>>>().and_then(|j| j.into_iter().max())
        else {
            continue;
        };
        if members.len() != size {
            continue; // someone in the group was not one of these bots
        }
        out.extend(
            members.iter().filter_map(|r| r.matched.as_ref()).map(|(at, _, _)| at.saturating_duration_since(last_join)),
        );
    }
    out
}

/// A short name for what went wrong, to count errors by kind.
pub fn error_kind(e: &ClientError) -> String {
    match e {
        ClientError::Connect { source, .. } => {
            let text = source.to_string();
            match ["429", "503", "404"].iter().find(|code| text.contains(*code)) {
                Some(code) => format!("connect: HTTP {code}"),
                None if text.contains("refused") => "connect: refused".to_owned(),
                None => "connect: other".to_owned(),
            }
        }
        ClientError::Closed => "closed by the host".to_owned(),
        ClientError::Timeout(..) => "no message in time".to_owned(),
        // Which answer and why (the first): the experiment's question ids keep the
        // kinds of errors few.
        ClientError::Refused { code, fields, .. } => match fields.iter().next() {
            Some((question, why)) => format!("refused: {code:?} (`{question}`: {why})"),
            None => format!("refused: {code:?}"),
        },
        ClientError::Duplicate(_) => "duplicate session".to_owned(),
        ClientError::Unexpected(_) => "unexpected message".to_owned(),
        ClientError::Socket(_) => "socket error".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let l = Latency::of(&samples).unwrap();
        assert_eq!((l.count, l.p50, l.p95, l.p99, l.max), (100, 50.0, 95.0, 99.0, 100.0));
        assert_eq!(Latency::of(&[]), None);
        let one = Latency::of(&[Duration::from_millis(7)]).unwrap();
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
    }

    #[test]
    fn a_rate_is_given_only_for_paced_arrivals() {
        // Four bots started at once (the span is how long spawning took): no rate.
        let at_once = Summary::of(&[], Duration::from_micros(11), Duration::from_secs(1));
        assert_eq!(at_once.arrivals_per_sec, None);
        assert_eq!(arrival_rate(4, 0.000_011), None);
        // Ten bots at 2/s: the last arrives 4.5 s after the first.
        assert_eq!(arrival_rate(10, 4.5), Some(2.0));
        assert_eq!(arrival_rate(1, 3.0), None, "one arrival has no rate");
    }
}
