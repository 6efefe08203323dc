//! What a simulation found, folded from the events the host logged: the same events a
//! real run writes, so a figure here means what it means in `cohort export`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::scenario::Scenario;
use crate::config::Experiment;
use crate::config::multiplayer::MultiplayerScene;
use crate::eventlog::Event;
use crate::matchmaking::CallTimes;
use crate::protocol::ParticipantId;

/// Running tallies.
#[derive(Debug, Default)]
pub struct Metrics {
    joined: HashMap<ParticipantId, Duration>,
    /// Waits of everyone grouped, and of the longest waiting member of each group.
    waits: Vec<f64>,
    first_waits: Vec<f64>,
    groups: Vec<Vec<ParticipantId>>,
    left: BTreeMap<String, u64>,
    probes: u64,
    probe_outcomes: BTreeMap<String, u64>,
    faults: u64,
    budget_spent: u64,
    /// Participants who played with bots after waiting (`fill_with_bots_after_secs`).
    bot_filled: u64,
    /// Each participant's entry condition, and per condition who arrived in the
    /// waitroom and the waits of those grouped.
    condition: HashMap<ParticipantId, String>,
    by_condition: BTreeMap<String, (u64, Vec<f64>)>,
}

impl Metrics {
    pub fn on_event(&mut self, event: &Event, now: Duration) {
        match event {
            Event::ConditionAssigned { participant, condition } => {
                self.condition.insert(*participant, condition["id"].as_str().unwrap_or_default().to_owned());
            }
            Event::WaitroomJoined { participant, .. } => {
                if !self.joined.contains_key(participant)
                    && let Some(c) = self.condition.get(participant)
                {
                    self.by_condition.entry(c.clone()).or_default().0 += 1;
                }
                self.joined.entry(*participant).or_insert(now);
            }
            Event::WaitroomLeft { participant, reason, .. } if reason != "matched" => {
                self.joined.remove(participant);
                *self.left.entry(reason.clone()).or_default() += 1;
            }
            Event::GameCreated { players, .. } => {
                let waits: Vec<f64> = players
                    .iter()
                    .filter_map(|p| {
                        let joined = self.joined.remove(p)?;
                        let wait = now.saturating_sub(joined).as_secs_f64();
                        if let Some(c) = self.condition.get(p) {
                            self.by_condition.entry(c.clone()).or_default().1.push(wait);
                        }
                        Some(wait)
                    })
                    .collect();
                self.first_waits.push(waits.iter().copied().fold(0.0, f64::max));
                self.waits.extend(waits);
                self.groups.push(players.clone());
            }
            Event::ProbeStarted { .. } => self.probes += 1,
            Event::ProbeFinished { outcome, .. } => *self.probe_outcomes.entry(outcome.clone()).or_default() += 1,
            Event::ProbeCached { .. } => *self.probe_outcomes.entry("cached".to_owned()).or_default() += 1,
            Event::PolicyFault { .. } => self.faults += 1,
            Event::BotsFilled { .. } => self.bot_filled += 1,
            Event::PolicyBudget { .. } => self.budget_spent += 1,
            Event::LogSuppressed { what, count, .. } if what == "policy_budget" => self.budget_spent += count,
            _ => {}
        }
    }

    /// The report of a finished run.
    #[allow(clippy::too_many_arguments)]
    pub fn report(
        self,
        experiment: &Experiment,
        m: &MultiplayerScene,
        scenario: &Scenario,
        arrived: usize,
        usage: Option<(String, u64, Option<CallTimes>)>,
        rtt: &dyn Fn(ParticipantId, ParticipantId) -> Option<f64>,
        wall: Duration,
    ) -> Report {
        let group_rtts: Vec<f64> = self
            .groups
            .iter()
            .filter_map(|g| {
                let pairs = g.iter().enumerate().flat_map(|(i, a)| g[i + 1..].iter().map(move |b| (*a, *b)));
                pairs.filter_map(|(a, b)| rtt(a, b)).reduce(f64::max)
            })
            .collect();
        let grouped = self.waits.len() as u64;
        let (policy, work, times) = usage.unwrap_or_else(|| ("fifo".to_owned(), 0, None));
        let times = times.unwrap_or_default();
        let grouping = experiment.conditions.entry.as_ref().map(|e| match e.grouping() {
            _ if !e.compose.is_empty() => "composed".to_owned(),
            crate::config::conditions::Grouping::Within => "within".to_owned(),
            crate::config::conditions::Grouping::Across => "across".to_owned(),
        });
        Report {
            grouping,
            experiment: experiment.id.to_string(),
            scene: m.id.to_string(),
            policy,
            seed: scenario.seed,
            simulated_secs: scenario.duration_secs,
            arrived: arrived as u64,
            grouped,
            groups: self.groups.len() as u64,
            match_rate: if arrived == 0 { 0.0 } else { grouped as f64 / arrived as f64 },
            bot_filled: self.bot_filled,
            left_waitroom: self.left,
            still_waiting: self.joined.len() as u64,
            wait_secs: Summary::of(&self.waits),
            first_wait_secs: Summary::of(&self.first_waits),
            probes: self.probes,
            probes_per_group: if self.groups.is_empty() { 0.0 } else { self.probes as f64 / self.groups.len() as f64 },
            probe_outcomes: self.probe_outcomes,
            group_rtt_ms: Summary::of(&group_rtts),
            policy_faults: self.faults,
            policy_budget_spent: self.budget_spent,
            policy_calls: times.count,
            policy_work_ms: work as f64 / crate::plugin::WORK_PER_MS as f64,
            policy_wall_ms: times.sum_us as f64 / 1000.0,
            wall_secs: wall.as_secs_f64(),
            by_condition: self
                .by_condition
                .iter()
                .map(|(c, (arrived, waits))| {
                    let rate = if *arrived == 0 { 0.0 } else { waits.len() as f64 / *arrived as f64 };
                    let figures = ConditionFigures {
                        arrived: *arrived,
                        grouped: waits.len() as u64,
                        match_rate: rate,
                        wait_secs: Summary::of(waits),
                    };
                    (c.clone(), figures)
                })
                .collect(),
            name: String::new(),
            waits: self.waits,
            group_rtts,
        }
    }
}

/// p50 / p95 / max and mean of a sample.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        Self {
            count: sorted.len() as u64,
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            p50: at(0.5),
            p95: at(0.95),
            max: sorted[sorted.len() - 1],
        }
    }
}

/// One entry condition's figures in a simulation.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionFigures {
    /// Participants of the condition who entered the waitroom, and those grouped.
    pub arrived: u64,
    pub grouped: u64,
    pub match_rate: f64,
    pub wait_secs: Summary,
}

/// What `cohort simulate` prints and writes.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// With entry conditions: how groups were formed (`within`, `across`, `composed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grouping: Option<String>,
    pub experiment: String,
    pub scene: String,
    pub policy: String,
    pub seed: u64,
    pub simulated_secs: f64,
    pub arrived: u64,
    /// Participants grouped, and groups formed.
    pub grouped: u64,
    pub groups: u64,
    pub match_rate: f64,
    /// Of those grouped, how many played with bots after waiting
    /// (`fill_with_bots_after_secs`) rather than with people.
    pub bot_filled: u64,
    /// Participants who left the waitroom ungrouped, by reason (`timeout`, `left`,
    /// `expired`).
    pub left_waitroom: BTreeMap<String, u64>,
    pub still_waiting: u64,
    /// How long the grouped waited, and the longest waiting member of each group.
    pub wait_secs: Summary,
    pub first_wait_secs: Summary,
    pub probes: u64,
    pub probes_per_group: f64,
    pub probe_outcomes: BTreeMap<String, u64>,
    /// The largest pair RTT of each group formed (the scenario's, probed or not).
    pub group_rtt_ms: Summary,
    pub policy_faults: u64,
    /// Matching passes that spent their work budget.
    pub policy_budget_spent: u64,
    pub policy_calls: u64,
    pub policy_work_ms: f64,
    pub policy_wall_ms: f64,
    /// How long the simulation took.
    pub wall_secs: f64,
    /// With entry conditions: arrivals, match rate and waits per condition.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_condition: BTreeMap<String, ConditionFigures>,
    /// The run's name in a comparison: the experiment file and the policy (and the
    /// grouping when `--compare within|across`).
    pub name: String,
    /// Every grouped participant's wait (s) and every group's largest pair RTT (ms):
    /// what the HTML page draws.
    #[serde(skip)]
    pub waits: Vec<f64>,
    #[serde(skip)]
    pub group_rtts: Vec<f64>,
}

impl Report {
    /// The terminal summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let left: Vec<String> = self.left_waitroom.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let probes: Vec<String> = self.probe_outcomes.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let _ = writeln!(
            out,
            "{} / {} with policy {}{} (seed {}), {} s simulated in {:.2} s",
            self.experiment,
            self.scene,
            self.policy,
            self.grouping.as_ref().map(|g| format!(", groups {g} conditions")).unwrap_or_default(),
            self.seed,
            self.simulated_secs,
            self.wall_secs
        );
        let _ = writeln!(
            out,
            "  arrived {}, grouped {} in {} groups: match rate {:.1} %{}",
            self.arrived,
            self.grouped,
            self.groups,
            100.0 * self.match_rate,
            if self.bot_filled > 0 {
                format!(" ({} of them with bots after waiting)", self.bot_filled)
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            out,
            "  left ungrouped: {}; still waiting at the end: {}",
            if left.is_empty() { "none".to_owned() } else { left.join(", ") },
            self.still_waiting
        );
        let w = &self.wait_secs;
        let _ = writeln!(out, "  wait (s): p50 {:.2}, p95 {:.2}, max {:.2}, mean {:.2}", w.p50, w.p95, w.max, w.mean);
        let _ = writeln!(
            out,
            "  probes: {} ({:.2} per group){}",
            self.probes,
            self.probes_per_group,
            if probes.is_empty() { String::new() } else { format!(": {}", probes.join(", ")) }
        );
        for (c, f) in &self.by_condition {
            let w = &f.wait_secs;
            let _ = writeln!(
                out,
                "  condition {c}: arrived {}, grouped {} ({:.1} %), wait p50 {:.2} s, p95 {:.2} s",
                f.arrived,
                f.grouped,
                100.0 * f.match_rate,
                w.p50,
                w.p95
            );
        }
        let r = &self.group_rtt_ms;
        let _ = writeln!(out, "  group RTT (ms): p50 {:.1}, p95 {:.1}, max {:.1}", r.p50, r.p95, r.max);
        let _ = writeln!(
            out,
            "  policy: {} calls, {:.1} ms of work, {:.1} ms wall, {} faults, budget spent in {} passes",
            self.policy_calls, self.policy_work_ms, self.policy_wall_ms, self.policy_faults, self.policy_budget_spent
        );
        out
    }

    /// A self-contained HTML page with the figures of one or more runs side by side,
    /// and their charts: the waits of the runs compared as cumulative distributions
    /// (overlaid), and each run's group RTTs.
    pub fn html(runs: &[Report]) -> String {
        use crate::chart::{Chart, Plot, Sample, escape};
        let mut out = String::new();
        let title = runs.first().map_or(String::new(), |r| format!("Simulation of {} / {}", r.experiment, r.scene));
        let _ = write!(out, "<h2>The runs in numbers</h2><div class=\"scroll\"><table><tr><th></th>");
        for r in runs {
            let _ = write!(out, "<th>{}</th>", escape(&r.name));
        }
        out.push_str("</tr>");
        type Row = (&'static str, fn(&Report) -> String);
        let rows: [Row; 10] = [
            ("arrived", |r| r.arrived.to_string()),
            ("match rate", |r| format!("{:.1} %", 100.0 * r.match_rate)),
            ("groups", |r| r.groups.to_string()),
            ("wait p50 / p95 / max (s)", |r| {
                format!("{:.2} / {:.2} / {:.2}", r.wait_secs.p50, r.wait_secs.p95, r.wait_secs.max)
            }),
            ("left ungrouped", |r| r.left_waitroom.values().sum::<u64>().to_string()),
            ("timeouts", |r| r.left_waitroom.get("timeout").copied().unwrap_or(0).to_string()),
            ("probes per group", |r| format!("{:.2}", r.probes_per_group)),
            ("group RTT p50 / p95 (ms)", |r| format!("{:.1} / {:.1}", r.group_rtt_ms.p50, r.group_rtt_ms.p95)),
            ("policy work (ms)", |r| format!("{:.1}", r.policy_work_ms)),
            ("policy faults", |r| r.policy_faults.to_string()),
        ];
        for (name, value) in rows {
            let _ = write!(out, "<tr><td>{name}</td>");
            for r in runs {
                let _ = write!(out, "<td>{}</td>", escape(&value(r)));
            }
            out.push_str("</tr>");
        }
        // With entry conditions: each condition's arrivals, match rate and waits.
        let conditions: std::collections::BTreeSet<&String> = runs.iter().flat_map(|r| r.by_condition.keys()).collect();
        for c in conditions {
            let _ = write!(out, "<tr><td>{}: arrived, match rate, wait p50 / p95 (s)</td>", escape(c));
            for r in runs {
                let cell = r.by_condition.get(c).map_or_else(String::new, |f| {
                    format!(
                        "{}, {:.1} %, {:.2} / {:.2}",
                        f.arrived,
                        100.0 * f.match_rate,
                        f.wait_secs.p50,
                        f.wait_secs.p95
                    )
                });
                let _ = write!(out, "<td>{}</td>", escape(&cell));
            }
            out.push_str("</tr>");
        }
        out.push_str("</table></div>");
        let waits = Chart {
            id: "waits".into(),
            title: "Time to group of those grouped, run by run".into(),
            x_title: "time waited in the waitroom (s)".into(),
            y_title: "share grouped by then".into(),
            plot: Plot::Cdf {
                samples: runs.iter().map(|r| Sample { name: r.name.clone(), values: r.waits.clone() }).collect(),
            },
        };
        crate::report::figure(&mut out, &waits);
        for (i, r) in runs.iter().enumerate() {
            let rtts = Chart {
                id: format!("group_rtts_{}", i + 1),
                title: format!("Largest round-trip time in each group (the scenario's RTTs): {}", r.name),
                x_title: "largest pair round-trip time in the group (ms)".into(),
                y_title: "groups".into(),
                plot: Plot::Histogram { samples: vec![Sample { name: r.name.clone(), values: r.group_rtts.clone() }] },
            };
            crate::report::figure(&mut out, &rtts);
        }
        crate::report::page(&title, &out)
    }
}
