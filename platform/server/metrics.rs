//! The researcher's view of the running host: `GET /admin/status.json` (every
//! experiment's [`Snapshot`]) and `GET /metrics` (Prometheus text format). Both take
//! `Authorization: Bearer <admin token>` (`/metrics` without one with
//! `--metrics-public`); a missing or wrong token gets 401.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use sha2::{Digest, Sha256};
use warp::http::{Response, StatusCode};

use crate::experiment::actor::ExperimentHandle;
use crate::experiment::stats::{RTT_BUCKETS, Snapshot};

/// Whether `header` (an `Authorization` value) carries `token`.
pub fn authorized(token: Option<&str>, header: Option<&str>) -> bool {
    let (Some(token), Some(header)) = (token, header) else { return false };
    let Some(given) = header.strip_prefix("Bearer ") else { return false };
    // Compared as digests: no early exit on the first differing byte of the secret.
    Sha256::digest(given.trim().as_bytes()) == Sha256::digest(token.as_bytes())
}

pub fn unauthorized() -> Response<String> {
    Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header("www-authenticate", "Bearer")
        .body("an admin token is needed: Authorization: Bearer <token>".to_owned())
        .expect("valid response")
}

/// `/admin/status.json`: every experiment's snapshot, with its open sockets.
pub fn status(experiments: &[&ExperimentHandle], unavailable: &std::collections::BTreeMap<String, String>) -> String {
    let all: Vec<serde_json::Value> = experiments
        .iter()
        .map(|h| {
            let snapshot = h.stats.snapshot();
            let mut v = serde_json::to_value(&snapshot).unwrap_or_default();
            // Data for the page's charts, never markup.
            v["wait_histogram"] = serde_json::json!(snapshot.wait_histogram());
            v["rtt_histogram"] = serde_json::json!(snapshot.rtt_histogram());
            v["open_sockets"] = h.open.load(Ordering::Relaxed).into();
            v["log_writable"] = (!h.log_health.failing()).into();
            v
        })
        .collect();
    serde_json::json!({ "experiments": all, "unavailable": unavailable }).to_string()
}

/// `/metrics`: Prometheus text exposition format 0.0.4.
pub fn prometheus(experiments: &[&ExperimentHandle]) -> String {
    let snaps: Vec<(Snapshot, &ExperimentHandle)> = experiments.iter().map(|h| (h.stats.snapshot(), *h)).collect();
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    };
    let label = |s: &Snapshot| format!("experiment=\"{}\"", escape(&s.experiment));
    family(
        "cohort_participants",
        "gauge",
        "Participants by place now.",
        snaps
            .iter()
            .flat_map(|(s, _)| {
                ["scene", "waiting", "playing", "finished", "over"]
                    .map(|p| (format!("{},place=\"{p}\"", label(s)), *s.places.get(p).unwrap_or(&0) as f64))
            })
            .collect(),
    );
    let gauge = |f: &dyn Fn(&Snapshot, &ExperimentHandle) -> f64| {
        snaps.iter().map(|(s, h)| (label(s), f(s, h))).collect::<Vec<_>>()
    };
    family(
        "cohort_games_in_progress",
        "gauge",
        "Games created and not ended.",
        gauge(&|s, _| s.games_in_progress as f64),
    );
    family("cohort_probes_in_flight", "gauge", "Probes running.", gauge(&|s, _| s.probes_in_flight as f64));
    family("cohort_pending_matches", "gauge", "Groups being probed.", gauge(&|s, _| s.pending_matches as f64));
    family(
        "cohort_open_sockets",
        "gauge",
        "Participant sockets open.",
        gauge(&|_, h| h.open.load(Ordering::Relaxed) as f64),
    );
    family(
        "cohort_log_writable",
        "gauge",
        "1 while the event log can be written.",
        gauge(&|_, h| f64::from(u8::from(!h.log_health.failing()))),
    );
    family(
        "cohort_events_total",
        "counter",
        "Events logged since the host started, by kind.",
        snaps
            .iter()
            .flat_map(|(s, _)| {
                s.events
                    .iter()
                    .map(|(k, n)| (format!("{},event=\"{}\"", label(s), escape(k)), *n as f64))
                    .collect::<Vec<_>>()
            })
            .collect(),
    );
    family(
        "cohort_outcomes_total",
        "counter",
        "Early outcomes since the host started, by reason.",
        snaps
            .iter()
            .flat_map(|(s, _)| {
                s.outcomes
                    .iter()
                    .map(|(k, n)| (format!("{},reason=\"{}\"", label(s), escape(k)), *n as f64))
                    .collect::<Vec<_>>()
            })
            .collect(),
    );
    let faults = |s: &Snapshot| *s.events.get("policy_fault").unwrap_or(&0) as f64;
    family("cohort_policy_faults_total", "counter", "Policy faults (the fallback applied).", gauge(&|s, _| faults(s)));
    family(
        "cohort_messages_in_total",
        "counter",
        "Participant messages taken in.",
        gauge(&|_, h| h.stats.messages_in.load(Ordering::Relaxed) as f64),
    );
    family(
        "cohort_messages_out_total",
        "counter",
        "Messages sent to participants.",
        gauge(&|_, h| h.stats.messages_out.load(Ordering::Relaxed) as f64),
    );
    family(
        "cohort_probes_total",
        "counter",
        "Probes decided since the host started, by outcome.",
        snaps
            .iter()
            .flat_map(|(s, _)| {
                s.probes
                    .iter()
                    .map(|(k, n)| (format!("{},outcome=\"{}\"", label(s), escape(k)), *n as f64))
                    .collect::<Vec<_>>()
            })
            .collect(),
    );
    let rows =
        |f: &dyn Fn(&Snapshot, &ExperimentHandle) -> Hist| snaps.iter().map(|(s, h)| (label(s), f(s, h))).collect();
    let us = |bounds: &[u64]| bounds.iter().map(|b| *b as f64 / 1e6).collect::<Vec<f64>>();
    let policy_bounds = us(&crate::matchmaking::CALL_BUCKETS_US);
    histogram(
        &mut out,
        "cohort_policy_call_seconds",
        "How long matchmaking policy (plugin) calls took.",
        &policy_bounds,
        rows(&|s, _| Hist {
            buckets: s.policy_calls.buckets.clone(),
            sum: s.policy_calls.sum_us as f64 / 1e6,
            count: s.policy_calls.count,
        }),
    );
    let fsync_bounds = us(&crate::experiment::outbox::FSYNC_BUCKETS_US);
    histogram(
        &mut out,
        "cohort_log_fsync_seconds",
        "How long the event log's group commits took to fsync.",
        &fsync_bounds,
        rows(&|_, h| {
            let (buckets, sum_us, count) = h.log_health.fsyncs();
            Hist { buckets, sum: sum_us as f64 / 1e6, count }
        }),
    );
    histogram(
        &mut out,
        "cohort_probe_rtt_ms",
        "Decided peer-to-peer round trips of probes.",
        &RTT_BUCKETS,
        rows(&|s, _| Hist {
            buckets: s.probe_rtt_ms.buckets.clone(),
            sum: s.probe_rtt_ms.sum,
            count: s.probe_rtt_ms.count,
        }),
    );
    out
}

/// One experiment's histogram: counts per bucket (not cumulative), sum, count.
struct Hist {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

/// A Prometheus histogram family: cumulative buckets at `bounds`, `+Inf`, sum, count,
/// one series per (labels, histogram).
fn histogram(out: &mut String, name: &str, help: &str, bounds: &[f64], rows: Vec<(String, Hist)>) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (labels, h) in rows {
        let mut cumulative = 0;
        for (i, bound) in bounds.iter().enumerate() {
            cumulative += h.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
