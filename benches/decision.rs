//! Decision latency of matchmaking policies: one `find_match` for an arriving
//! participant with 10 … 10,000 waiting, as the host makes it (build the waitroom
//! view, ask the policy, validate the answer), for the native FIFO, the C FIFO
//! component and the Python policy (built by `plugins/build.sh`).
//!
//! `cargo bench --bench decision` reports criterion's statistics; with
//! `COHORT_BENCH_REPORT=docs/benchmarks.md` it also measures per-call percentiles and
//! writes the report (`benches/run.sh` does both).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use cohort::matchmaking::{self, Candidate, Fifo, Matchmaker, WaitroomView};
use cohort::plugin::check::sample_candidate;
use cohort::plugin::{Limits, PluginMatchmaker};
use criterion::{BenchmarkId, Criterion};

const SIZES: [usize; 4] = [10, 100, 1000, 10_000];

/// The policies to compare, by name (plugins only when built).
fn policies() -> Vec<(&'static str, Box<dyn Matchmaker>)> {
    let mut out: Vec<(&'static str, Box<dyn Matchmaker>)> = vec![("native FIFO", Box::new(Fifo))];
    let limits = Limits { call_timeout: Duration::from_secs(5), memory_bytes: 512 << 20 };
    for (name, path, config) in [
        ("C FIFO component", "plugins/c-fifo/policy.wasm", "{}"),
        ("Python balance component", "plugins/python-balance/policy.wasm", r#"{"balance_by": "team"}"#),
    ] {
        if !Path::new(path).is_file() {
            eprintln!("skipping {name}: {path} is not built (plugins/build.sh)");
            continue;
        }
        match PluginMatchmaker::load(Path::new(path), config, limits) {
            Ok(p) => out.push((name, Box::new(p))),
            Err(e) => eprintln!("skipping {name}: {e}"),
        }
    }
    out
}

fn waitroom(n: usize, now: Duration) -> (Candidate, Vec<Candidate>) {
    let mut all: Vec<Candidate> = (0..=n).map(|i| sample_candidate(i, now)).collect();
    let arriving = all.pop().expect("n + 1 candidates");
    all.reverse(); // oldest first
    (arriving, all)
}

/// One decision as the host makes it.
fn decide(policy: &mut dyn Matchmaker, arriving: &Candidate, waiting: &[Candidate], now: Duration) -> bool {
    // Lazy, as the host's: a policy that reads the oldest few pays for a few.
    let view = WaitroomView::lazy(now, || waiting.iter().filter(|c| !arriving.avoid.contains(&c.id)));
    match policy.find_match(arriving, &view, 2) {
        Ok(Some(group)) => matchmaking::validate(&group, arriving, &view, 2).is_ok(),
        _ => false,
    }
}

fn bench(c: &mut Criterion, policies: &mut [(&'static str, Box<dyn Matchmaker>)]) {
    let now = Duration::from_secs(36_000);
    let mut group = c.benchmark_group("find_match");
    for n in SIZES {
        let (arriving, waiting) = waitroom(n, now);
        for (name, policy) in policies.iter_mut() {
            group.bench_with_input(BenchmarkId::new(*name, n), &n, |b, _| {
                b.iter(|| assert!(decide(policy.as_mut(), &arriving, &waiting, now)));
            });
        }
    }
    group.finish();
}

struct Row {
    policy: &'static str,
    waiting: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// Work charged per decision (median; see `cohort::plugin::WORK_PER_MS`).
    work: u64,
}

fn percentiles(policies: &mut [(&'static str, Box<dyn Matchmaker>)]) -> Vec<Row> {
    let now = Duration::from_secs(36_000);
    let mut rows = Vec::new();
    for n in SIZES {
        let (arriving, waiting) = waitroom(n, now);
        for (name, policy) in policies.iter_mut() {
            let calls = if n >= 10_000 { 300 } else { 2000 };
            for _ in 0..50 {
                decide(policy.as_mut(), &arriving, &waiting, now); // warm up
            }
            let mut works = Vec::with_capacity(calls);
            let mut times: Vec<Duration> = (0..calls)
                .map(|_| {
                    let (started, before) = (Instant::now(), policy.work());
                    assert!(decide(policy.as_mut(), &arriving, &waiting, now));
                    works.push(policy.work() - before);
                    started.elapsed()
                })
                .collect();
            times.sort();
            works.sort();
            let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
            rows.push(Row {
                policy: name,
                waiting: n,
                p50: at(0.5),
                p99: at(0.99),
                max: times[times.len() - 1],
                work: works[works.len() / 2],
            });
        }
    }
    rows
}

fn report(rows: &[Row], path: &str) {
    let us = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e6);
    let find = |p: &str, n: usize| rows.iter().find(|r| r.policy == p && r.waiting == n);
    let mut md = String::from(
        "## Decision latency\n\n`cargo bench --bench decision`, release build. One decision = build the waitroom view, `find_match`\n\
         for an arriving participant (groups of 2), validate the answer — what the host does\n\
         on every arrival. Times in microseconds, per call. *Work* is what the call is\n\
         charged against the pass budget: WebAssembly instructions executed plus a fixed\n\
         cost per host call and per call (`matchmaker.pass_budget_ms` counts 5,000,000 per\n\
         millisecond), and *µs per 1 ms of work* how long that budget millisecond took here.\n\n\
         | policy | waiting | p50 µs | p99 µs | max µs | work (units) | µs per 1 ms of work |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let per_ms = if r.work == 0 {
            "—".to_owned()
        } else {
            format!("{:.0}", r.p50.as_secs_f64() * 1e6 * cohort::plugin::WORK_PER_MS as f64 / r.work as f64)
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {per_ms} |",
            r.policy,
            r.waiting,
            us(r.p50),
            us(r.p99),
            us(r.max),
            r.work
        );
    }
    md.push_str("\n### Goals\n\n");
    let goal = |ok: bool| if ok { "met" } else { "NOT met" };
    if let Some(c) = find("C FIFO component", 1000) {
        let _ = writeln!(
            md,
            "- C FIFO at 1,000 waiting, p99 ≤ 1 ms: {} µs — {}",
            us(c.p99),
            goal(c.p99 <= Duration::from_millis(1))
        );
    }
    if let (Some(c), Some(n)) = (find("C FIFO component", 10_000), find("native FIFO", 10_000)) {
        let ratio = c.p50.as_secs_f64() / n.p50.as_secs_f64();
        let _ = writeln!(
            md,
            "- C FIFO at 10,000 waiting ≤ 3× native (p50): {ratio:.2}× — {} (the native FIFO reads the lazy view's \
             oldest few; the C policy asks `waiting-count` first, which lists the whole room: {} µs)",
            goal(ratio <= 3.0),
            us(c.p50)
        );
    }
    if let Some(p) = find("Python balance component", 100) {
        let _ = writeln!(
            md,
            "- Python at 100 waiting ≤ 1 ms (p50): {} µs — {}",
            us(p.p50),
            goal(p.p50 <= Duration::from_millis(1))
        );
    }
    md.push_str(
        "\nThe contract does not copy the waitroom into the guest: the policy reads it through\n\
         host calls (`waiting-count`, `waiting-get`, `waiting-ids`), so a policy that looks at\n\
         a few participants pays for a few. The host's view is lazy too: iterating the oldest\n\
         few (the native FIFO) walks a few; `waiting-count` or `waiting-get` (what the\n\
         components call) list the filtered room once per decision, the cost that grows with\n\
         the waitroom.\n",
    );
    std::fs::write(path, md).expect("report written");
    eprintln!("wrote {path}");
}

fn main() {
    let mut policies = policies();
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &mut policies);
    criterion.final_summary();
    if let Ok(path) = std::env::var("COHORT_BENCH_REPORT") {
        let rows = percentiles(&mut policies);
        report(&rows, &path);
    }
}
