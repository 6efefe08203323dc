//! The study's charts and figures, computed from the exported tables.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Report;
use crate::chart::{BarSeries, Chart, Line, Plot, Sample, format_number, quantile};
use crate::export::Tables;
use crate::export::csv::Table;

/// The cells of one column of a table, row by row (empty when the column is absent).
fn column<'a>(t: &'a Table, name: &str) -> Vec<&'a str> {
    match t.column(name) {
        Some(i) => t.rows().map(|r| r[i].as_str()).collect(),
        None => Vec::new(),
    }
}

/// An event of the `events` table: its time and data.
struct Event {
    ts_ms: u64,
    kind: String,
    data: Value,
}

fn events(t: &Tables) -> Vec<Event> {
    let (ts, kind, data) = (column(&t.events, "ts_ms"), column(&t.events, "event"), column(&t.events, "data"));
    (0..ts.len())
        .map(|i| Event {
            ts_ms: ts[i].parse().unwrap_or(0),
            kind: kind[i].to_owned(),
            data: serde_json::from_str(data[i]).unwrap_or_default(),
        })
        .collect()
}

/// Time since the study's first arrival, in minutes, or hours for a study longer than
/// three hours.
struct Clock {
    start: u64,
    per_unit: f64,
    unit: &'static str,
}

impl Clock {
    fn of(events: &[Event]) -> Self {
        // From the first arrival; with none (all left out), from the first event.
        let arrivals = events.iter().filter(|e| e.kind == "session_started").map(|e| e.ts_ms);
        let start = arrivals.min().or_else(|| events.iter().map(|e| e.ts_ms).min()).unwrap_or(0);
        let end = events.iter().map(|e| e.ts_ms).max().unwrap_or(start);
        let hours = end.saturating_sub(start) > 3 * 3_600_000;
        let (per_unit, unit) = if hours { (3_600_000.0, "hours") } else { (60_000.0, "minutes") };
        Self { start, per_unit, unit }
    }

    fn at(&self, ts_ms: u64) -> f64 {
        ts_ms.saturating_sub(self.start) as f64 / self.per_unit
    }

    fn title(&self) -> String {
        format!("time since the first arrival ({})", self.unit)
    }
}

/// A running count of the given times, from zero at the start to the last event (no
/// points without times).
fn running_count(name: &str, clock: &Clock, mut times: Vec<u64>, end: f64) -> Line {
    if times.is_empty() {
        return Line { name: name.to_owned(), points: Vec::new() };
    }
    times.sort_unstable();
    let mut points = vec![(0.0, 0.0)];
    points.extend(times.iter().enumerate().map(|(i, t)| (clock.at(*t), (i + 1) as f64)));
    points.push((end, times.len() as f64));
    Line { name: name.to_owned(), points }
}

pub(super) fn report(experiment: &str, t: &Tables) -> Report {
    let events = events(t);
    let clock = Clock::of(&events);
    let end = events.iter().map(|e| clock.at(e.ts_ms)).fold(0.0, f64::max);
    let times = |kind: &str| events.iter().filter(|e| e.kind == kind).map(|e| e.ts_ms).collect::<Vec<u64>>();
    let mut charts = vec![Chart {
        id: "arrivals".into(),
        title: "Arrivals and completions over time".into(),
        x_title: clock.title(),
        y_title: "participants (running count)".into(),
        plot: Plot::Lines {
            lines: vec![
                running_count("arrived", &clock, times("session_started"), end),
                running_count("finished", &clock, times("finished"), end),
                running_count("ended early", &clock, times("outcome"), end),
            ],
            steps: true,
        },
    }];
    let conditions = participant_conditions(t);
    let conditioned = conditions.values().any(|c| !c.is_empty());
    charts.push(time_to_group(t, conditioned));
    charts.push(flow(&events));
    charts.push(outcomes(t));
    if conditioned {
        charts.push(balance(&events, &clock, end));
    }
    // A study that probes nobody has no probe chart (the summary says 0).
    if !t.probes.is_empty() {
        charts.push(probe_rtts(t));
    }
    charts.extend(results(t));
    charts.extend(checks(t));
    if !t.payments.is_empty() {
        charts.push(pay(t));
    }
    Report {
        experiment: experiment.to_owned(),
        summary: summary(t, &events),
        charts,
        pilots_left_out: t.pilots_left_out,
    }
}

/// Each participant's entry condition (empty without conditions).
fn participant_conditions(t: &Tables) -> BTreeMap<String, String> {
    let (ids, conds) = (column(&t.participants, "participant"), column(&t.participants, "condition"));
    ids.into_iter().zip(conds).map(|(p, c)| (p.to_owned(), c.to_owned())).collect()
}

/// How long those who were grouped waited, per entry condition.
fn time_to_group(t: &Tables, conditioned: bool) -> Chart {
    let (games, waits, conds) =
        (column(&t.participants, "games"), column(&t.participants, "wait_secs"), column(&t.participants, "condition"));
    let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for i in 0..games.len() {
        if games[i].parse::<u32>().unwrap_or(0) == 0 {
            continue;
        }
        let name = if conditioned { conds[i].to_owned() } else { "everyone grouped".to_owned() };
        by.entry(name).or_default().extend(waits[i].parse::<f64>().ok());
    }
    Chart {
        id: "time_to_group".into(),
        title: if conditioned {
            "Time to group, by entry condition (those who played)".into()
        } else {
            "Time to group (those who played)".into()
        },
        x_title: "time waited in the waitroom (s)".into(),
        y_title: "share grouped by then".into(),
        plot: Plot::Cdf { samples: by.into_iter().map(|(name, values)| Sample { name, values }).collect() },
    }
}

/// How many reached each scene (in the experiment's order), and how many ended there
/// early.
fn flow(events: &[Event]) -> Chart {
    let mut scenes: BTreeMap<String, (u64, BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for e in events {
        let scene = e.data["scene"].as_str().unwrap_or_default().to_owned();
        let who = e.data["participant"].as_str().unwrap_or_default().to_owned();
        match e.kind.as_str() {
            "scene_entered" => {
                let index = e.data["index"].as_u64().unwrap_or(u64::MAX);
                let entry = scenes.entry(scene).or_insert((index, BTreeSet::new(), BTreeSet::new()));
                entry.0 = entry.0.min(index);
                entry.1.insert(who);
            }
            "outcome" => {
                scenes.entry(scene).or_insert((u64::MAX, BTreeSet::new(), BTreeSet::new())).2.insert(who);
            }
            _ => {}
        }
    }
    let mut order: Vec<(u64, String, usize, usize)> =
        scenes.into_iter().map(|(s, (i, reached, left))| (i, s, reached.len(), left.len())).collect();
    order.sort();
    Chart {
        id: "flow".into(),
        title: "Where participants went: who reached each scene, and who ended there early".into(),
        x_title: "participants".into(),
        y_title: "scene".into(),
        plot: Plot::Bars {
            categories: order.iter().map(|o| o.1.clone()).collect(),
            series: vec![
                BarSeries { name: "reached".into(), values: order.iter().map(|o| o.2 as f64).collect() },
                BarSeries { name: "ended early here".into(), values: order.iter().map(|o| o.3 as f64).collect() },
            ],
        },
    }
}

/// How each participant's part ended (`finished`, an early outcome, `in_progress`).
fn outcomes(t: &Tables) -> Chart {
    let mut by: BTreeMap<&str, f64> = BTreeMap::new();
    for o in column(&t.participants, "outcome") {
        *by.entry(o).or_default() += 1.0;
    }
    Chart {
        id: "outcomes".into(),
        title: "How each participant's part ended".into(),
        x_title: "participants".into(),
        y_title: "outcome".into(),
        plot: Plot::Bars {
            categories: by.keys().map(|k| k.to_string()).collect(),
            series: vec![BarSeries { name: "participants".into(), values: by.values().copied().collect() }],
        },
    }
}

/// Per comprehension or attention check: how many attempts passed and failed at each
/// attempt number (`checks.csv`), so "passed at the first attempt" reads off a bar.
fn checks(t: &Tables) -> Vec<Chart> {
    let (scenes, attempts, passed) =
        (column(&t.checks, "scene"), column(&t.checks, "attempt"), column(&t.checks, "passed"));
    let mut by: BTreeMap<&str, BTreeMap<u32, (f64, f64)>> = BTreeMap::new();
    for ((scene, attempt), passed) in scenes.iter().zip(&attempts).zip(&passed) {
        let counts = by.entry(scene).or_default().entry(attempt.parse().unwrap_or(0)).or_default();
        if *passed == "true" {
            counts.0 += 1.0;
        } else {
            counts.1 += 1.0;
        }
    }
    by.into_iter()
        .map(|(scene, at)| Chart {
            id: format!("check_{scene}"),
            title: format!("Check `{scene}`: attempts passed and failed"),
            x_title: "attempts".into(),
            y_title: "attempt number".into(),
            plot: Plot::Bars {
                categories: at.keys().map(|n| format!("attempt {n}")).collect(),
                series: vec![
                    BarSeries { name: "passed".into(), values: at.values().map(|c| c.0).collect() },
                    BarSeries { name: "failed".into(), values: at.values().map(|c| c.1).collect() },
                ],
            },
        })
        .collect()
}

/// Participants assigned to each entry condition, as a running count.
fn balance(events: &[Event], clock: &Clock, end: f64) -> Chart {
    let mut by: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.kind == "condition_assigned") {
        let name = e.data["condition"]["id"].as_str().unwrap_or_default().to_owned();
        by.entry(name).or_default().push(e.ts_ms);
    }
    Chart {
        id: "balance".into(),
        title: "Entry conditions' balance over time".into(),
        x_title: clock.title(),
        y_title: "participants assigned (running count)".into(),
        plot: Plot::Lines {
            lines: by.into_iter().map(|(name, times)| running_count(&name, clock, times, end)).collect(),
            steps: true,
        },
    }
}

/// Measured probe RTTs, by the probe's outcome (cached acceptances are not
/// measurements and are left out).
fn probe_rtts(t: &Tables) -> Chart {
    let (rtts, outcomes) = (column(&t.probes, "rtt_ms"), column(&t.probes, "outcome"));
    let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (rtt, outcome) in rtts.into_iter().zip(outcomes) {
        if outcome == "cached" {
            continue;
        }
        if let Ok(v) = rtt.parse::<f64>() {
            by.entry(outcome.to_owned()).or_default().push(v);
        }
    }
    Chart {
        id: "probe_rtts".into(),
        title: "Round-trip times measured between proposed partners, by the probe's outcome".into(),
        x_title: "round-trip time (ms)".into(),
        y_title: "probes".into(),
        plot: Plot::Histogram { samples: by.into_iter().map(|(name, values)| Sample { name, values }).collect() },
    }
}

/// For each number the game's results hold (up to six keys), its distribution per
/// condition: the group's condition, else the players' entry condition when they share
/// one. One value per game when its players report the same number (a team's score is
/// one observation, not one per player), else one per player.
fn results(t: &Tables) -> Vec<Chart> {
    let (results, group, entry, bots) = (
        column(&t.games, "results"),
        column(&t.games, "condition"),
        column(&t.games, "entry_conditions"),
        column(&t.games, "bot_seats"),
    );
    let mut by_key: BTreeMap<String, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for i in 0..results.len() {
        let Ok(Value::Object(players)) = serde_json::from_str::<Value>(results[i]) else { continue };
        let entries: BTreeSet<&str> = entry[i].split_whitespace().collect();
        let condition = if !group[i].is_empty() {
            group[i].to_owned()
        } else if entries.len() == 1 {
            entries.into_iter().next().unwrap_or_default().to_owned()
        } else if entries.is_empty() {
            "all games".to_owned()
        } else {
            "mixed conditions".to_owned()
        };
        // Games with computer players apart from those of people only.
        let condition = if bots.get(i).and_then(|b| b.parse::<u32>().ok()).unwrap_or(0) > 0 {
            format!("{condition} · with bots")
        } else {
            condition
        };
        let mut per_key: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for result in players.values() {
            let Value::Object(fields) = result else { continue };
            for (key, v) in fields {
                if let Some(n) = v.as_f64() {
                    per_key.entry(key).or_default().push(n);
                }
            }
        }
        for (key, mut values) in per_key {
            if values.windows(2).all(|w| w[0] == w[1]) {
                values.truncate(1);
            }
            by_key.entry(key.to_owned()).or_default().entry(condition.clone()).or_default().extend(values);
        }
    }
    by_key
        .into_iter()
        .take(6)
        .map(|(key, by)| Chart {
            id: format!(
                "result_{}",
                key.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>()
            ),
            title: format!("Game result `{key}`, by condition"),
            x_title: format!("{key} (in the game's own units)"),
            y_title: "share of games or players at or below".into(),
            plot: Plot::Cdf { samples: by.into_iter().map(|(name, values)| Sample { name, values }).collect() },
        })
        .collect()
}

/// Base pay and bonus paid, summed per outcome.
fn pay(t: &Tables) -> Chart {
    let (outcome, base, bonus) =
        (column(&t.payments, "outcome"), column(&t.payments, "base_pay"), column(&t.payments, "bonus"));
    let mut by: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for i in 0..outcome.len() {
        let e = by.entry(outcome[i]).or_default();
        e.0 += base[i].parse::<f64>().unwrap_or(0.0);
        e.1 += bonus[i].parse::<f64>().unwrap_or(0.0);
    }
    let total: f64 = by.values().map(|(a, b)| a + b).sum::<f64>() + 0.0;
    Chart {
        id: "pay".into(),
        title: format!("Pay by outcome (total paid {total:.2})"),
        x_title: "amount paid (the study's currency)".into(),
        y_title: "outcome".into(),
        plot: Plot::Bars {
            categories: by.keys().map(|k| k.to_string()).collect(),
            series: vec![
                BarSeries { name: "base pay".into(), values: by.values().map(|v| round2(v.0)).collect() },
                BarSeries { name: "bonus".into(), values: by.values().map(|v| round2(v.1)).collect() },
            ],
        },
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn summary(t: &Tables, events: &[Event]) -> Vec<(String, String)> {
    let outcomes = column(&t.participants, "outcome");
    let count = |f: &dyn Fn(&str) -> bool| outcomes.iter().filter(|o| f(o)).count().to_string();
    let mut waits: Vec<f64> = column(&t.participants, "games")
        .into_iter()
        .zip(column(&t.participants, "wait_secs"))
        .filter(|(g, _)| g.parse::<u32>().unwrap_or(0) > 0)
        .filter_map(|(_, w)| w.parse().ok())
        .collect();
    waits.sort_by(f64::total_cmp);
    let reasons = column(&t.games, "end_reason");
    let total_pay: f64 = column(&t.payments, "total").iter().filter_map(|v| v.parse::<f64>().ok()).sum();
    let runs: BTreeSet<&str> = column(&t.events, "run").into_iter().collect();
    let probes = column(&t.probes, "outcome");
    vec![
        ("runs".into(), runs.len().to_string()),
        ("participants".into(), outcomes.len().to_string()),
        ("finished".into(), count(&|o| o == "finished")),
        ("ended early".into(), count(&|o| o != "finished" && o != "in_progress")),
        ("still in progress".into(), count(&|o| o == "in_progress")),
        ("games".into(), reasons.len().to_string()),
        ("games completed".into(), reasons.iter().filter(|r| **r == "completed").count().to_string()),
        ("median time to group (s)".into(), quantile(&waits, 0.5).map(format_number).unwrap_or_else(|| "–".into())),
        ("probes".into(), probes.iter().filter(|o| **o != "cached").count().to_string()),
        // `+ 0.0`: no "-0.00" when nothing was paid.
        ("total paid".into(), format!("{:.2}", total_pay + 0.0)),
        ("pilot and bot sessions left out".into(), t.pilots_left_out.to_string()),
        ("events".into(), events.len().to_string()),
    ]
}
