//! `cohort bots`: a load generator and study dry run. N bots walk a served experiment
//! like participants ([`bot`]): all at once or at a rate, optionally from many source
//! addresses of 127.0.0.0/8 (admission limits new connections per address), with a
//! progress line while they run and a summary at the end ([`report`]).

pub mod answers;
pub mod bot;
pub mod churn;
pub mod player;
pub mod report;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use report::Summary;
pub use report::{Ending, Report};

/// Bots per source address when addresses are spread (below admission's burst of 60).
const PER_ADDRESS: usize = 50;

/// What the bots do, shared by all of them.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `host:port` of the host.
    pub addr: String,
    /// The experiment id (`/x/<id>`).
    pub experiment: String,
    /// The URL parameter carrying the recruitment id.
    pub id_param: String,
    /// Bot `i` has recruitment id `<id_prefix><i>`.
    pub id_prefix: String,
    /// Further URL parameters (the study link's), plus `cohort_bot=1`.
    pub params: Vec<(String, String)>,
    /// Scripted probe RTT: uniform in this range (ms).
    pub rtt_ms: (f64, f64),
    /// Probability that a scripted probe reports failure.
    pub probe_failure: f64,
    /// Probe over a real WebRTC DataChannel instead of scripting (`webrtc` feature).
    pub webrtc: bool,
    /// Stop after the first scene and keep the connection open until `stop`.
    pub hold: bool,
    /// Longest silence from the host before a bot gives up.
    pub message_timeout: Duration,
    /// Seed of the bots' random answers and RTTs.
    pub seed: u64,
    /// Ends held connections, and interrupts walking bots (Ctrl-C).
    pub stop: CancellationToken,
    /// Bots that leave, drop, come back, ignore probes, abandon games.
    pub churn: churn::Churn,
}

/// How the run goes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub count: usize,
    /// Arrivals per second; `None`: all at once.
    pub rate: Option<f64>,
    /// Connect from 127.x.y.z, [`PER_ADDRESS`] bots per address.
    pub spread: bool,
    /// With `spread`: bot `i` uses the address of slot `first_address + i / 50`, so
    /// that runs one after another need not share addresses (admission remembers them).
    pub first_address: usize,
}

/// Counters the progress line reads while bots run.
#[derive(Debug, Default)]
pub struct Live {
    pub arrived: AtomicUsize,
    pub connected: AtomicI64,
    pub waiting: AtomicI64,
    pub playing: AtomicI64,
    pub completed: AtomicUsize,
    pub ended_early: AtomicUsize,
    pub errors: AtomicUsize,
    pub held: AtomicUsize,
}

impl Live {
    fn arrived(&self) {
        self.arrived.fetch_add(1, Ordering::Relaxed);
    }
    fn connected(&self, d: i64) {
        self.connected.fetch_add(d, Ordering::Relaxed);
    }
    fn waiting(&self, d: i64) {
        self.waiting.fetch_add(d, Ordering::Relaxed);
    }
    fn playing(&self) {
        self.playing.fetch_add(1, Ordering::Relaxed);
    }
    fn game_over(&self) {
        self.playing.fetch_add(-1, Ordering::Relaxed);
    }
    fn finished(&self, ending: &Ending) {
        let counter = match ending {
            Ending::Completed => &self.completed,
            Ending::Outcome(_) | Ending::Abandoned => &self.ended_early,
            Ending::Held => &self.held,
            Ending::Error(_) => &self.errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// One line for humans: `arrived 120/500 · connected 80 · waiting 12 · ...`.
    pub fn line(&self, total: usize) -> String {
        let get = |a: &AtomicI64| a.load(Ordering::Relaxed).max(0);
        format!(
            "arrived {}/{total} · connected {} · waiting {} · playing {} · completed {} · ended early {} · errors {}",
            self.arrived.load(Ordering::Relaxed),
            get(&self.connected),
            get(&self.waiting),
            get(&self.playing),
            self.completed.load(Ordering::Relaxed),
            self.ended_early.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

/// Runs `opts.count` bots following `plan` and summarises them. `live` is updated as
/// they go (for a progress line).
pub async fn run(plan: Plan, opts: RunOptions, live: Arc<Live>) -> Summary {
    let plan = Arc::new(plan);
    let started = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..opts.count {
        if let Some(rate) = opts.rate.filter(|r| *r > 0.0) {
            tokio::time::sleep_until(started + Duration::from_secs_f64(i as f64 / rate)).await;
        }
        let from = opts.spread.then(|| source_address(opts.first_address * PER_ADDRESS + i));
        tasks.spawn(bot::run(i, from, plan.clone(), live.clone()));
    }
    let arrivals = started.elapsed();
    let mut reports = Vec::with_capacity(opts.count);
    while let Some(done) = tasks.join_next().await {
        reports.push(done.unwrap_or_else(|e| Report {
            joined: None,
            matched: None,
            join_to_match: None,
            join_to_start: None,
            results: Vec::new(),
            ending: Ending::Error(format!("bot crashed: {e}")),
        }));
    }
    Summary::of(&reports, arrivals, started.elapsed())
}

/// Rewrites one status line on a terminal while bots run.
pub async fn progress(live: Arc<Live>, total: usize) {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return;
    }
    let mut every = tokio::time::interval(std::time::Duration::from_millis(250));
    loop {
        every.tick().await;
        eprint!("\r\x1b[2K{}", live.line(total));
    }
}

/// `40` → (40, 40); `20..120` → (20, 120).
pub fn parse_range(text: &str) -> Option<(f64, f64)> {
    let (a, b) = text.split_once("..").unwrap_or((text, text));
    let (a, b): (f64, f64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a.is_finite() && b.is_finite() && 0.0 <= a && a <= b && b <= 60_000.0).then_some((a, b))
}

/// The source address of bot `i` when spread: 127.0.1.1, 127.0.1.2, ... with
/// [`PER_ADDRESS`] bots each, over 127.0.0.0/8 (127.0.0.1 itself is left to
/// everything else).
pub fn source_address(i: usize) -> IpAddr {
    let k = i / PER_ADDRESS;
    let (b, c, d) = ((k / (254 * 254)) % 254, (k / 254) % 254 + 1, k % 254 + 1);
    IpAddr::V4(Ipv4Addr::new(127, b as u8, c as u8, d as u8))
}

/// A study link, as bots use it.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// `host:port`.
    pub addr: String,
    pub experiment: String,
    /// The link's query parameters.
    pub params: Vec<(String, String)>,
}

/// Reads a study link `http://host:port/x/<experiment>[?k=v&...]`.
pub fn parse_link(link: &str) -> Result<Link, String> {
    let rest = link
        .strip_prefix("http://")
        .or_else(|| link.strip_prefix("ws://"))
        .ok_or_else(|| format!("`{link}`: expected a link like http://127.0.0.1:8080/x/demo (bots speak plain HTTP; put them in front of the proxy's TLS, not behind it)"))?;
    let (authority, path) = rest.split_once('/').ok_or_else(|| format!("`{link}`: no experiment path /x/<id>"))?;
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let experiment = path
        .strip_prefix("x/")
        .map(|p| p.trim_end_matches('/'))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| format!("`{link}`: the path must be /x/<experiment id>"))?;
    let addr = if authority.contains(':') { authority.to_owned() } else { format!("{authority}:80") };
    let params = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    Ok(Link { addr, experiment: experiment.to_owned(), params })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_read_and_bad_ones_explained() {
        let l = parse_link("http://127.0.0.1:8080/x/demo?cond=a&x=1").unwrap();
        assert_eq!(l.addr, "127.0.0.1:8080");
        assert_eq!(l.experiment, "demo");
        assert_eq!(l.params, vec![("cond".into(), "a".into()), ("x".into(), "1".into())]);
        assert_eq!(parse_link("http://study.example/x/demo/").unwrap().addr, "study.example:80");
        assert!(parse_link("https://study.example/x/demo").unwrap_err().contains("plain HTTP"));
        assert!(parse_link("http://h:1/y/demo").unwrap_err().contains("/x/<experiment id>"));
    }

    #[test]
    fn spread_addresses_hold_fifty_bots_each_and_never_127_0_0_1() {
        assert_eq!(source_address(0), source_address(49));
        assert_ne!(source_address(49), source_address(50));
        let all: std::collections::HashSet<IpAddr> = (0..100_000).map(source_address).collect();
        assert_eq!(all.len(), 2000);
        assert!(!all.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }
}
