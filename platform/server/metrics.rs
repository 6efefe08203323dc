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
pub fn status(experiments: &[&ExperimentHandle]) -> String {
    let all: Vec<serde_json::Value> = experiments
        .iter()
        .map(|h| {
            let snapshot = h.stats.snapshot();
            let mut v = serde_json::to_value(&snapshot).unwrap_or_default();
            v["charts"] = serde_json::json!({
                "wait": super::admin::bars("Waited (those who left the waitroom)", &snapshot.wait_histogram()),
                "rtt": super::admin::bars("Probe round trip (ms)", &snapshot.rtt_histogram()),
            });
            v["open_sockets"] = h.open.load(Ordering::Relaxed).into();
            v["log_writable"] = (!h.log_health.failing()).into();
            v
        })
        .collect();
    serde_json::json!({ "experiments": all }).to_string()
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
    let _ = writeln!(out, "# HELP cohort_policy_call_seconds How long matchmaking policy (plugin) calls took.");
    let _ = writeln!(out, "# TYPE cohort_policy_call_seconds histogram");
    for (s, _) in &snaps {
        let calls = &s.policy_calls;
        let mut cumulative = 0;
        for (i, bound) in crate::matchmaking::CALL_BUCKETS_US.iter().enumerate() {
            cumulative += calls.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "cohort_policy_call_seconds_bucket{{{},le=\"{}\"}} {cumulative}",
                label(s),
                *bound as f64 / 1e6
            );
        }
        let _ = writeln!(out, "cohort_policy_call_seconds_bucket{{{},le=\"+Inf\"}} {}", label(s), calls.count);
        let _ = writeln!(out, "cohort_policy_call_seconds_sum{{{}}} {}", label(s), calls.sum_us as f64 / 1e6);
        let _ = writeln!(out, "cohort_policy_call_seconds_count{{{}}} {}", label(s), calls.count);
    }
    let _ = writeln!(out, "# HELP cohort_log_fsync_seconds How long the event log's group commits took to fsync.");
    let _ = writeln!(out, "# TYPE cohort_log_fsync_seconds histogram");
    for (s, h) in &snaps {
        let (buckets, sum_us, count) = h.log_health.fsyncs();
        let mut cumulative = 0;
        for (i, bound) in crate::experiment::outbox::FSYNC_BUCKETS_US.iter().enumerate() {
            cumulative += buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "cohort_log_fsync_seconds_bucket{{{},le=\"{}\"}} {cumulative}",
                label(s),
                *bound as f64 / 1e6
            );
        }
        let _ = writeln!(out, "cohort_log_fsync_seconds_bucket{{{},le=\"+Inf\"}} {count}", label(s));
        let _ = writeln!(out, "cohort_log_fsync_seconds_sum{{{}}} {}", label(s), sum_us as f64 / 1e6);
        let _ = writeln!(out, "cohort_log_fsync_seconds_count{{{}}} {count}", label(s));
    }
    let _ = writeln!(out, "# HELP cohort_probe_rtt_ms Decided peer-to-peer round trips of probes.");
    let _ = writeln!(out, "# TYPE cohort_probe_rtt_ms histogram");
    for (s, _) in &snaps {
        let mut cumulative = 0;
        for (i, bound) in RTT_BUCKETS.iter().enumerate() {
            cumulative += s.probe_rtt_ms.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "cohort_probe_rtt_ms_bucket{{{},le=\"{bound}\"}} {cumulative}", label(s));
        }
        let _ = writeln!(out, "cohort_probe_rtt_ms_bucket{{{},le=\"+Inf\"}} {}", label(s), s.probe_rtt_ms.count);
        let _ = writeln!(out, "cohort_probe_rtt_ms_sum{{{}}} {}", label(s), s.probe_rtt_ms.sum);
        let _ = writeln!(out, "cohort_probe_rtt_ms_count{{{}}} {}", label(s), s.probe_rtt_ms.count);
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
