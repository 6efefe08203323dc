//! The soak: bots churn through a real `cohort serve` for a while — joining, leaving
//! the waitroom, dropping and coming back within and beyond the grace period, taking
//! probes that are accepted, rejected (RTT over the threshold) and timed out (never
//! answered), playing games and abandoning them — and when it is over, the host holds
//! no session, probe, pending match, game or waitroom entry, few timers, and its
//! memory is back near where it started.
//!
//! One minute with 360 bots by default (`.ci/run`); `COHORT_SOAK_SECS=600
//! COHORT_SOAK_BOTS=2000 cargo test --test it soak -- --nocapture` is the long one
//! (measured: 2,000 bots over 10 minutes, host RSS 36.4 MB at the start, 43.8 MB at
//! the peak and at the end, the host empty, no bot error).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cohort::bots::{self, Live, RunOptions, churn::Churn};
use cohort::eventlog::Event;

use crate::admin::get;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_leaves_nothing_behind_in_the_host() {
    let (secs, count) = (env_or("COHORT_SOAK_SECS", 60), env_or("COHORT_SOAK_BOTS", 360));
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().as_os_str();
    let (mut child, addr) = crate::support::serve_binary([
        "tests/fixtures/host/soak.yaml".as_ref(),
        "--drain-secs".as_ref(),
        "0".as_ref(),
        "--admin-token".as_ref(),
        "soak-token".as_ref(),
        "--data".as_ref(),
        data_dir,
    ]);
    let pid = child.id();
    let start = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(start));
    let sampler = tokio::spawn({
        let peak = peak.clone();
        async move {
            loop {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    });
    let plan = bots::Plan {
        addr: addr.clone(),
        experiment: "soak".to_owned(),
        id_param: "PROLIFIC_PID".to_owned(),
        id_prefix: "soak-".to_owned(),
        params: vec![("cohort_bot".to_owned(), "1".to_owned())],
        rtt_ms: (20.0, 120.0), // against 80 ms: about 40 % of probes rejected
        probe_failure: 0.0,
        webrtc: false,
        hold: false,
        message_timeout: Duration::from_secs(40),
        seed: 17,
        stop: tokio_util::sync::CancellationToken::new(),
        churn: Churn { leave: 0.15, drop: 0.2, back_in_time: 0.6, grace_secs: 4.0, ignore_probe: 0.05, abandon: 0.1 },
    };
    // Spread over many loopback addresses, as real participants are (admission limits
    // new connections per address).
    let opts =
        RunOptions { count: count as usize, rate: Some(count as f64 / secs as f64), spread: true, first_address: 0 };
    let summary = bots::run(plan, opts, Arc::new(Live::default())).await;
    // Then everything still open times out or ends by itself.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let status = loop {
        let (code, body) = get(&addr, "/admin/status.json", Some("soak-token")).await;
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let e = v["experiments"][0].clone();
        let quiet = e["sessions"] == 0
            && e["probes_in_flight"] == 0
            && e["pending_matches"] == 0
            && e["games_in_progress"] == 0
            && e["waiting"].as_array().is_some_and(Vec::is_empty)
            && e["timers"].as_u64().is_some_and(|t| t <= 4);
        if quiet {
            break e;
        }
        assert!(tokio::time::Instant::now() < deadline, "the host never emptied: {e}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    sampler.abort();
    let end = rss_kib(pid);
    let peak = peak.load(Ordering::Relaxed);
    eprintln!(
        "soak: {count} bots over {secs} s: RSS start {:.1} MB, peak {:.1} MB, end {:.1} MB; ended sessions remembered {}; endings: completed {}, outcomes {:?}, errors {:?}",
        start as f64 / 1024.0,
        peak as f64 / 1024.0,
        end as f64 / 1024.0,
        status["ended_sessions"],
        summary.completed,
        summary.outcomes,
        summary.errors
    );
    // Every path was taken.
    let events: Vec<Event> = cohort::eventlog::previous_logs(data.path(), "soak")
        .iter()
        .flat_map(|log| cohort::eventlog::read(log).unwrap())
        .map(|r| r.event)
        .collect();
    let probe_outcomes: std::collections::BTreeSet<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::ProbeFinished { outcome, .. } => Some(outcome.clone()),
            _ => None,
        })
        .collect();
    for outcome in ["accepted", "rejected", "timed_out"] {
        assert!(probe_outcomes.contains(outcome), "no probe {outcome}: {probe_outcomes:?}");
    }
    let left: std::collections::BTreeSet<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::WaitroomLeft { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    for reason in ["matched", "left"] {
        assert!(left.contains(reason), "nobody left the waitroom {reason}: {left:?}");
    }
    let reconnected = events.iter().filter(|e| matches!(e, Event::Connected { .. })).count();
    let started = events.iter().filter(|e| matches!(e, Event::SessionStarted { .. })).count();
    assert!(reconnected > started, "some came back: {reconnected} connections for {started} sessions");
    assert!(summary.completed > 0 && summary.outcomes.contains_key("abandoned"), "{:?}", summary.outcomes);
    assert!(summary.errors.is_empty(), "bots met errors: {:?}", summary.errors);
    // Memory: back near the start (what the allocator keeps is bounded, not per session).
    assert!(end <= start + 48 * 1024, "RSS grew from {start} KiB to {end} KiB");
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
}
