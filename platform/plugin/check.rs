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

pub use super::samples::{Setup, sample_candidate};
use super::samples::{sample, waitroom};
use super::{PluginError, PluginMatchmaker, Source, WORK_PER_MS};
use crate::matchmaking::{self, Candidate, Matchmaker, WaitroomView, default_reject_for_rtt};
use crate::mix::mix;

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
