//! `cohort plugin check`: load a policy, confirm it implements the contract, run sample
//! calls against waitrooms like an experiment's, judge every answer, and report
//! timings, work, memory and log volume.
//!
//! The sample waitrooms follow the contract: oldest first (index 0 has waited
//! longest), with varied waiting times; the arriving participant alternates between a
//! newcomer and the longest waiting (as on a room tick). Attributes are the
//! experiment's (`--experiment`: names, and the options of the survey questions they
//! come from), or the participants of a file (`--participants`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{Limits, PluginError, PluginMatchmaker, Source, WORK_PER_MS};
use crate::matchmaking::{self, Candidate, Matchmaker, WaitroomView, default_reject_for_rtt};
use crate::protocol::ParticipantId;

/// What a check runs with.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `matchmaker.config`, as JSON text.
    pub config: String,
    pub limits: Limits,
    pub pass_budget_ms: u32,
    pub group_sizes: Vec<usize>,
    /// Attribute names and the values sample participants take.
    pub attributes: Vec<(String, Vec<String>)>,
    /// Participants to use instead of generated ones (oldest first).
    pub participants: Option<Vec<Candidate>>,
    /// Where the attributes come from, for the report.
    pub from: String,
}

impl Setup {
    /// Without an experiment: sample attributes `team` and `gender`.
    pub fn sample(config: &str, limits: Limits) -> Self {
        Self {
            config: config.to_owned(),
            limits,
            pass_budget_ms: 50,
            group_sizes: vec![2, 3],
            attributes: vec![
                ("team".to_owned(), ["red", "blue", "green"].map(str::to_owned).to_vec()),
                ("gender".to_owned(), ["f", "m"].map(str::to_owned).to_vec()),
            ],
            participants: None,
            from: "sample attributes (use --experiment for an experiment's)".to_owned(),
        }
    }
}

/// What a `--participants` file lists: one object per participant.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Listed {
    #[serde(default)]
    id: Option<uuid::Uuid>,
    waited_ms: u64,
    #[serde(default)]
    server_rtt_ms: Option<f64>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

impl Setup {
    /// The setup of the multiplayer scene of `loaded` that uses a plugin (`scene`, or
    /// the only one): its config, limits, group size and attributes, with sample values
    /// from the options of the survey questions they come from. Returns the plugin.
    pub fn from_experiment(
        loaded: &crate::config::Loaded,
        scene: Option<&str>,
    ) -> Result<(std::path::PathBuf, Self), String> {
        use crate::config::Scene;
        use crate::config::types::AttributeSource;
        let experiment = &loaded.experiment;
        let candidates: Vec<_> = experiment
            .scenes
            .iter()
            .filter_map(|s| match s {
                Scene::Multiplayer(m) if m.matchmaker.plugin.is_some() => Some(m),
                _ => None,
            })
            .filter(|m| scene.is_none_or(|id| m.id.as_str() == id))
            .collect();
        let m = match candidates.as_slice() {
            [m] => *m,
            [] => {
                return Err(format!(
                    "`{}` has no multiplayer scene{} with a plugin",
                    experiment.id,
                    scene.map_or(String::new(), |s| format!(" `{s}`"))
                ));
            }
            _ => return Err("several scenes use a plugin: name one with --scene".to_owned()),
        };
        let values = |source: AttributeSource<'_>| -> Vec<String> {
            let AttributeSource::Answer { scene, question } = source else {
                return ["a", "b", "c"].map(str::to_owned).to_vec();
            };
            let question = experiment.scenes.iter().find_map(|s| match s {
                Scene::Survey(s) if s.id.as_str() == scene => s.questions.iter().find(|q| q.id().as_str() == question),
                _ => None,
            });
            match question {
                Some(crate::config::survey::Question::SingleChoice(q)) => q.options.clone(),
                Some(crate::config::survey::Question::MultipleChoice(q)) => q.options.clone(),
                Some(crate::config::survey::Question::Likert(q)) => (1..=q.points).map(|p| p.to_string()).collect(),
                _ => ["a", "b", "c"].map(str::to_owned).to_vec(),
            }
        };
        let attributes: Vec<(String, Vec<String>)> =
            m.matchmaker.attributes.iter().map(|a| (a.name().to_owned(), values(a.source()))).collect();
        let named: Vec<String> = attributes.iter().map(|(n, v)| format!("{n} ∈ {{{}}}", v.join(", "))).collect();
        let setup = Self {
            config: serde_json::Value::Object(m.matchmaker.config.clone()).to_string(),
            limits: Limits::of(&m.matchmaker),
            pass_budget_ms: m.matchmaker.pass_budget_ms,
            group_sizes: vec![m.group_size as usize],
            from: format!(
                "scene `{}` of {}: {}",
                m.id,
                loaded.path.display(),
                if named.is_empty() { "no attributes".to_owned() } else { named.join("; ") }
            ),
            attributes,
            participants: None,
        };
        let plugin = loaded.base_dir.join(m.matchmaker.plugin.as_ref().expect("filtered above"));
        Ok((plugin, setup))
    }

    /// Uses the participants listed in `json` (a list of `{"waited_ms": 30000,
    /// "server_rtt_ms": 40, "attributes": {"side": "left"}}`, `id` optional) as the
    /// waitroom, oldest first.
    pub fn with_participants(mut self, json: &str) -> Result<Self, String> {
        let listed: Vec<Listed> = serde_json::from_str(json).map_err(|e| format!("the participants file: {e}"))?;
        if listed.is_empty() || listed.len() > 100_000 {
            return Err("the participants file must list 1 to 100000 participants".to_owned());
        }
        let now = Duration::from_secs(3600);
        let mut given: Vec<Candidate> =
            listed
                .into_iter()
                .enumerate()
                .map(|(i, l)| Candidate {
                    id: ParticipantId(l.id.unwrap_or_else(|| {
                        uuid::Uuid::from_u128(0xf11e_0000_0000_0000_0000_0000_0000_0000 + i as u128)
                    })),
                    joined_at: now.saturating_sub(Duration::from_millis(l.waited_ms)),
                    server_rtt_ms: l.server_rtt_ms,
                    attributes: l.attributes,
                    previous_partners: Vec::new(),
                    avoid: Vec::new(),
                })
                .collect();
        given.sort_by_key(|c| c.joined_at);
        self.from = format!("{} participants from the file", given.len());
        self.participants = Some(given);
        Ok(self)
    }
}

/// What the check found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Human-readable lines, in order.
    pub lines: Vec<String>,
    /// Things worth a look that are not violations.
    pub warnings: Vec<String>,
    /// Contract violations and faults (empty = the policy passes).
    pub violations: Vec<String>,
}

/// A small deterministic mix, so sample values and waits are varied but repeatable.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 31)
}

/// Sample participant `n`, who has waited `waited`.
fn sample(setup: &Setup, n: usize, waited: Duration, now: Duration) -> Candidate {
    let attributes = setup
        .attributes
        .iter()
        .enumerate()
        .map(|(k, (name, values))| {
            let value = values[(mix(n as u64 * 31 + k as u64) % values.len().max(1) as u64) as usize].clone();
            (name.clone(), value)
        })
        .collect();
    Candidate {
        id: ParticipantId(uuid::Uuid::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 + n as u128)),
        joined_at: now.saturating_sub(waited),
        server_rtt_ms: Some(15.0 + (mix(n as u64) % 120) as f64),
        attributes,
        previous_partners: Vec::new(),
        avoid: Vec::new(),
    }
}

/// Sample participant `n` with the sample attributes, who has waited `n + 1` seconds
/// (for benchmarks).
pub fn sample_candidate(n: usize, now: Duration) -> Candidate {
    let limits = Limits { call_timeout: Duration::from_millis(100), memory_bytes: 1 << 20 };
    sample(&Setup::sample("{}", limits), n, Duration::from_secs(n as u64 + 1), now)
}

/// A waitroom of `count`, oldest first, with varied waits (the oldest about 1.5 s per
/// place ahead of the next, give or take).
fn waitroom(setup: &Setup, count: usize, now: Duration) -> Vec<Candidate> {
    if let Some(given) = &setup.participants {
        return given
            .iter()
            .cycle()
            .take(count)
            .cloned()
            .enumerate()
            .map(|(i, mut c)| {
                if i >= given.len() {
                    c.id = ParticipantId(uuid::Uuid::from_u128(0xf11e_0000_0000_0000_0000_0000_0000_0000 + i as u128));
                }
                c
            })
            .collect();
    }
    (0..count)
        .map(|i| {
            let place = (count - i) as u64;
            let waited = Duration::from_millis(place * 1500 + mix(i as u64) % 1500);
            sample(setup, i, waited, now)
        })
        .collect()
}

/// Runs the check.
pub fn check(path: &Path, setup: &Setup) -> Result<CheckReport, PluginError> {
    let mut policy = PluginMatchmaker::load(path, &setup.config, setup.limits)?;
    let mut report = CheckReport::default();
    let how = match policy.loaded.0 {
        Source::Compiled => "compiled (now cached)",
        Source::Cached => "loaded from the compile cache",
    };
    report.lines.push(format!("ok: {} implements cohort:matchmaker/policy@0.1.0", path.display()));
    report.lines.push(format!("load: {how}, instantiated and configured in {:.1} ms", ms(policy.loaded.1)));
    report.lines.push(format!("participants: {}", setup.from));
    let now = Duration::from_secs(3600);
    let mut calls = 0usize;
    let mut waits = vec![0usize, 1, 10, 100, 1000];
    if setup.participants.as_ref().is_some_and(|p| !waits.contains(&p.len())) {
        waits.push(setup.participants.as_ref().map_or(0, Vec::len));
    }
    let mut batches: Vec<(usize, usize)> = waits.iter().map(|w| (*w, setup.group_sizes[0])).collect();
    batches.extend(setup.group_sizes[1..].iter().map(|g| (100, *g)));
    for (waiting, group_size) in batches {
        let room = waitroom(setup, waiting + 1, now);
        let mut tally: BTreeMap<String, usize> = BTreeMap::new();
        // Each violation message, with the calls that gave it.
        let mut wrong: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let (mut times, mut work) = (Vec::new(), Vec::new());
        for call in 0..20 {
            // Odd calls: a newcomer; even calls: the longest waiting (a room tick).
            let (arriving, rest): (Candidate, Vec<&Candidate>) = if call % 2 == 1 || waiting == 0 {
                let newcomer = match &setup.participants {
                    Some(_) => room[waiting].clone(),
                    None => sample(setup, 10_000 + call, Duration::from_millis(mix(call as u64) % 400), now),
                };
                (newcomer, room[..waiting].iter().collect())
            } else {
                (room[0].clone(), room[1..=waiting].iter().collect())
            };
            let view = WaitroomView::new(now, rest);
            let (started, before) = (Instant::now(), policy.work());
            let answer = policy.find_match(&arriving, &view, group_size);
            times.push(started.elapsed());
            work.push(policy.work() - before);
            calls += 1;
            let outcome = match answer {
                Err(crate::matchmaking::PolicyError::Unavailable) => "unavailable after a fault".to_owned(),
                Err(e) => {
                    wrong.entry(e.to_string()).or_default().push(call + 1);
                    let _ = policy.restart();
                    format!("fault: {e}")
                }
                Ok(None) => "waits".to_owned(),
                Ok(Some(group)) => match matchmaking::validate(&group, &arriving, &view, group_size) {
                    Ok(()) => format!("proposes a group of {}", group.len()),
                    Err(e) => {
                        wrong.entry(format!("invalid answer: {e}")).or_default().push(call + 1);
                        policy.reset();
                        let _ = policy.restart();
                        format!("invalid answer: {e}")
                    }
                },
            };
            *tally.entry(outcome).or_default() += 1;
        }
        for (message, calls) in wrong {
            let listed: Vec<String> = calls.iter().take(5).map(ToString::to_string).collect();
            let more = if calls.len() > 5 { ", …" } else { "" };
            report.violations.push(format!(
                "find-match with {waiting} waiting, groups of {group_size}: {message} (call {}{more}: {} of 20)",
                listed.join(", "),
                calls.len()
            ));
        }
        let logged = policy.take_log();
        times.sort();
        work.sort();
        let outcomes: Vec<String> = tally.iter().map(|(o, n)| format!("{o} ×{n}")).collect();
        report.lines.push(format!(
            "find-match: {waiting:>5} waiting, groups of {group_size}: {}; median {:.3} ms, max {:.3} ms, work {:.2} ms{}",
            outcomes.join(", "),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1]),
            work[work.len() / 2] as f64 / WORK_PER_MS as f64,
            logged.last().map_or(String::new(), |l| format!("; logged \"{l}\"")),
        ));
        if waiting == 1000 {
            let per_call = work[work.len() / 2].max(1);
            let fit = (u64::from(setup.pass_budget_ms) * WORK_PER_MS).div_ceil(per_call);
            if (fit as usize) < waiting {
                report.lines.push(format!(
                    "pass: with 1000 waiting, {fit} calls fit in one pass's budget ({} ms); the rest are asked in the next passes",
                    setup.pass_budget_ms
                ));
            }
        }
    }
    let (a, b) = (sample(setup, 0, Duration::from_secs(30), now), sample(setup, 1, Duration::from_secs(20), now));
    for (rtt, max) in [
        (Some(40.0), Some(80.0)),
        (Some(80.0), Some(80.0)),
        (Some(120.0), Some(80.0)),
        (None, Some(80.0)),
        (Some(500.0), None),
    ] {
        calls += 1;
        let shown = format!("rtt {}, max {}", plain(rtt), max.map_or("none".to_owned(), |m| format!("{m} ms")));
        match policy.should_reject_for_rtt((&a, &b), rtt, max, now) {
            Ok(reject) => {
                let note =
                    if reject == default_reject_for_rtt(rtt, max) { "" } else { " (differs from the usual rule)" };
                let verdict = if reject { "reject" } else { "accept" };
                report.lines.push(format!("should-reject-for-rtt: {shown} → {verdict}{note}"));
            }
            Err(e) => {
                report.violations.push(format!("should-reject-for-rtt ({shown}): {e}"));
                let _ = policy.restart();
            }
        }
    }
    calls += 2;
    if let Err(e) = policy.on_join(&a).and_then(|()| policy.on_leave(a.id)) {
        report.violations.push(format!("on-join/on-leave: {e}"));
    }
    policy.take_log();
    usage_lines(&policy, setup, calls, &mut report);
    Ok(report)
}

/// Memory, log volume and the slowest call.
fn usage_lines(policy: &PluginMatchmaker, setup: &Setup, calls: usize, report: &mut CheckReport) {
    let usage = policy.usage();
    report.lines.push(format!(
        "memory: peak {:.1} MiB of {:.0} MiB (memories and tables together; {} table elements)",
        usage.peak_memory as f64 / 1048576.0,
        setup.limits.memory_bytes as f64 / 1048576.0,
        usage.table_elements
    ));
    report.lines.push(format!(
        "log: {} lines in {calls} calls ({:.1} per call), {} dropped over the per-call limit",
        usage.lines,
        usage.lines as f64 / calls.max(1) as f64,
        usage.lines_dropped
    ));
    if usage.lines > calls * 2 {
        report.warnings.push(format!(
            "the policy logs {:.1} lines per call: find-match runs for every waiting participant on every tick, so the event log keeps 600 lines a minute per scene and counts the rest",
            usage.lines as f64 / calls.max(1) as f64
        ));
    }
    if usage.peak_memory * 2 > setup.limits.memory_bytes {
        report.warnings.push("the policy used over half its memory cap".to_owned());
    }
    if usage.slowest * 2 > setup.limits.call_timeout {
        report.warnings.push(format!(
            "the slowest call took {:.1} ms, over half the {} ms deadline",
            ms(usage.slowest),
            setup.limits.call_timeout.as_millis()
        ));
    }
}

fn plain(rtt: Option<f64>) -> String {
    rtt.map_or("none".to_owned(), |r| format!("{r} ms"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { call_timeout: Duration::from_millis(100), memory_bytes: 1 << 20 }
    }

    #[test]
    fn sample_waitrooms_are_oldest_first_with_varied_waits_and_values() {
        let setup = Setup::sample("{}", limits());
        let now = Duration::from_secs(3600);
        let room = waitroom(&setup, 50, now);
        let waits: Vec<Duration> = room.iter().map(|c| now - c.joined_at).collect();
        assert!(waits.windows(2).all(|w| w[0] > w[1]), "index 0 waited longest: {waits:?}");
        let gaps: std::collections::BTreeSet<Duration> = waits.windows(2).map(|w| w[0] - w[1]).collect();
        assert!(gaps.len() > 10, "waits are varied, not evenly spaced");
        let teams: std::collections::BTreeSet<&str> = room.iter().map(|c| c.attributes["team"].as_str()).collect();
        assert_eq!(teams.len(), 3, "every sample value appears");
        assert!(
            room.iter().map(|c| &c.attributes["team"]).collect::<Vec<_>>().windows(3).any(|w| w[0] == w[1]),
            "values are not a fixed rotation"
        );
    }

    #[test]
    fn a_participants_file_is_sorted_oldest_first_and_bad_files_are_refused() {
        let json = r#"[{"waited_ms": 1000, "attributes": {"side": "left"}}, {"waited_ms": 9000, "server_rtt_ms": 40}]"#;
        let setup = Setup::sample("{}", limits()).with_participants(json).expect("valid");
        let given = setup.participants.expect("listed");
        assert_eq!(given[0].server_rtt_ms, Some(40.0), "the one who waited 9 s comes first");
        assert_eq!(given[1].attributes["side"], "left");
        let bad = Setup::sample("{}", limits()).with_participants(r#"[{"waited": 1}]"#).expect_err("unknown field");
        assert!(bad.contains("unknown field `waited`"), "{bad}");
        assert!(Setup::sample("{}", limits()).with_participants("[]").is_err());
    }
}
