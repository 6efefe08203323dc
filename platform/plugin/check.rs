//! `cohort plugin check`: load a policy component, confirm it implements the contract,
//! run sample calls against synthetic waitrooms, and report timings and violations.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{Limits, PluginError, PluginMatchmaker, Source};
use crate::matchmaking::{self, Candidate, Matchmaker, WaitroomView, default_reject_for_rtt};
use crate::protocol::ParticipantId;

/// What the check found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Human-readable lines, in order.
    pub lines: Vec<String>,
    /// Contract violations and faults (empty = the policy passes).
    pub violations: Vec<String>,
}

/// A synthetic waiting participant `n` of `total`.
pub fn sample_candidate(n: usize, now: Duration) -> Candidate {
    let teams = ["red", "blue", "green"];
    Candidate {
        id: ParticipantId(uuid::Uuid::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 + n as u128)),
        joined_at: now.saturating_sub(Duration::from_millis(1000 * (n as u64 + 1))),
        server_rtt_ms: Some(20.0 + (n % 7) as f64 * 10.0),
        attributes: BTreeMap::from([
            ("team".to_owned(), teams[n % teams.len()].to_owned()),
            ("gender".to_owned(), if n.is_multiple_of(2) { "f" } else { "m" }.to_owned()),
        ]),
        previous_partners: Vec::new(),
        avoid: Vec::new(),
    }
}

/// Runs the check.
pub fn check(path: &Path, config: &str, limits: Limits) -> Result<CheckReport, PluginError> {
    let mut policy = PluginMatchmaker::load(path, config, limits)?;
    let mut report = CheckReport::default();
    let how = match policy.loaded.0 {
        Source::Compiled => "compiled (now cached)",
        Source::Cached => "loaded from the compile cache",
    };
    report.lines.push(format!("ok: {} implements cohort:matchmaker/policy@0.1.0", path.display()));
    report.lines.push(format!("load: {how}, instantiated and initialised in {:.1} ms", ms(policy.loaded.1)));
    let now = Duration::from_secs(3600);
    for (waiting, group_size) in [(0usize, 2usize), (1, 2), (10, 2), (100, 2), (1000, 2), (100, 3)] {
        let candidates: Vec<Candidate> = (0..=waiting).map(|n| sample_candidate(n, now)).collect();
        let (arriving, rest) = candidates.split_last().expect("at least the arriving participant");
        let view = WaitroomView::new(now, rest.iter().collect());
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..20 {
            let started = Instant::now();
            last = Some(policy.find_match(arriving, &view, group_size));
            times.push(started.elapsed());
        }
        times.sort();
        let logged = policy.take_log();
        let outcome = match last.expect("ran") {
            Err(e) => {
                report.violations.push(format!("find-match with {waiting} waiting: {e}"));
                format!("fault: {e}")
            }
            Ok(None) => "waits".to_owned(),
            Ok(Some(group)) => match matchmaking::validate(&group, arriving, &view, group_size) {
                Ok(()) => format!("proposes a group of {}", group.len()),
                Err(e) => {
                    report.violations.push(format!("find-match with {waiting} waiting: invalid answer: {e}"));
                    format!("invalid answer: {e}")
                }
            },
        };
        report.lines.push(format!(
            "find-match: {waiting:>5} waiting, groups of {group_size}: {outcome}; median {:.3} ms, max {:.3} ms{}",
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1]),
            if logged.is_empty() { String::new() } else { format!("; logged {:?}", logged.last().expect("non-empty")) },
        ));
    }
    let (a, b) = (sample_candidate(0, now), sample_candidate(1, now));
    for (rtt, max) in [
        (Some(40.0), Some(80.0)),
        (Some(80.0), Some(80.0)),
        (Some(120.0), Some(80.0)),
        (None, Some(80.0)),
        (Some(500.0), None),
    ] {
        match policy.should_reject_for_rtt((&a, &b), rtt, max, now) {
            Ok(reject) => {
                let usual = default_reject_for_rtt(rtt, max);
                let note = if reject == usual { "" } else { " (differs from the usual rule)" };
                let verdict = if reject { "reject" } else { "accept" };
                report.lines.push(format!("should-reject-for-rtt: rtt {rtt:?} ms, max {max:?} ms → {verdict}{note}"));
            }
            Err(e) => report.violations.push(format!("should-reject-for-rtt({rtt:?}, {max:?}): {e}")),
        }
    }
    if let Err(e) = policy.on_join(&a).and_then(|()| policy.on_leave(a.id)) {
        report.violations.push(format!("on-join/on-leave: {e}"));
    }
    Ok(report)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
