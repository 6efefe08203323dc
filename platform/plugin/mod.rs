//! Matchmaking policies as sandboxed WebAssembly components (`plugins/matchmaker.wit`).
//!
//! A [`PluginMatchmaker`] is one more implementation of the [`Matchmaker`] trait. Its
//! instance lives on a thread of its own ([`worker`]) inside a sandbox ([`sandbox`]):
//! one memory cap for all its memories and tables, a bounded copy from guest to host,
//! WASI virtualized (no files, network or environment; the decision's time; seeded
//! randomness; stdout and stderr captured as log lines).
//!
//! Every call runs under its deadline (epoch interruption) and is charged its *work*:
//! the WebAssembly instructions it executed (fuel) plus a fixed cost per host call — a
//! count, not a time, so that `cohort simulate` and a replay charge the same. The
//! state machine spends a budget of work per matching pass (`matchmaker.pass_budget_ms`).
//!
//! A trap, missed deadline, memory exhaustion or malformed answer becomes a
//! [`PolicyError`] and takes the instance down. While it is down, calls answer
//! [`PolicyError::Unavailable`] at once (the experiment's fallback decides); after a
//! pause that doubles with each fault in a row (1 s up to 1 min), the next room tick
//! re-creates it ([`Matchmaker::recover`]): instantiated, configured and re-told the
//! waitroom, all under one deadline of its own — never on the path of a decision.

mod call;
pub mod check;
mod engine;
mod host;
mod samples;
mod sandbox;
pub mod template;
mod worker;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker};

use call::{Cost, classify, explain_link, metered, said, seed_of};
pub use engine::{Source, cache_dir};
use host::{HostState, participant};
use sandbox::Clock;
use worker::Worker;

use crate::matchmaking::{Candidate, Matchmaker, PolicyError};

/// The one `bindgen!` of cohort: the `policy` world.
mod bindings {
    wasmtime::component::bindgen!({
        path: "plugins/matchmaker.wit",
        world: "policy",
        imports: { default: trappable },
    });
}

/// Work units per millisecond of `matchmaker.pass_budget_ms`: about what the example
/// policies execute in a millisecond on the reference machine (2 cores), host calls
/// and the call itself included (`cargo bench --bench decision` reports the ratio;
/// see `docs/policies.md`).
pub const WORK_PER_MS: u64 = 5_000_000;

/// Most bytes one call may copy from the guest to the host (its answer, a log line).
const MAX_HOST_COPY: usize = 4 << 20;

/// A fresh instance (instantiate, configure, re-tell the waitroom) gets this many
/// call deadlines, together.
const REBUILD_DEADLINES: u32 = 10;

/// The pause before re-creating an instance after a fault, doubled per fault in a row.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(60);

/// Per-call limits, from the experiment's `matchmaker` section.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub call_timeout: Duration,
    pub memory_bytes: usize,
}

impl Limits {
    /// The limits an experiment's `matchmaker` section sets.
    pub fn of(m: &crate::config::multiplayer::Matchmaker) -> Self {
        Self {
            call_timeout: Duration::from_millis(u64::from(m.call_timeout_ms)),
            memory_bytes: m.memory_limit_mb as usize * 1024 * 1024,
        }
    }
}

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot read the policy {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a WebAssembly component cohort can compile: {message}")]
    Compile { path: PathBuf, message: String },
    #[error("{path} does not implement the cohort:matchmaker/policy contract: {message}")]
    Contract { path: PathBuf, message: String },
    #[error("the policy {path} refused its configuration: {message}")]
    Init { path: PathBuf, message: String },
    #[error("the policy {path} failed while starting: {fault}{}", said(lines))]
    Start { path: PathBuf, fault: PolicyError, lines: Vec<String> },
}

/// What lives on the worker thread: the pre-linked component and its instance.
struct Slot {
    pre: bindings::PolicyPre<HostState>,
    live: Option<(Store<HostState>, bindings::Policy)>,
    clock: Clock,
}

/// How the instance is doing.
#[derive(Debug, Clone, Copy, Default)]
struct Health {
    /// Down since a fault: re-created at the next tick after `retry_at`.
    down: bool,
    retry_at: Duration,
    faults_in_row: u32,
}

/// What `plugin check` reports of an instance's use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Most bytes of memories and tables held at once, and table elements then.
    pub peak_memory: usize,
    pub table_elements: usize,
    /// The slowest call.
    pub slowest: Duration,
    /// Lines logged, and lines dropped over the per-call limit.
    pub lines: usize,
    pub lines_dropped: usize,
}

/// A loaded policy component.
pub struct PluginMatchmaker {
    name: String,
    worker: Worker<Slot>,
    config: String,
    limits: Limits,
    health: Health,
    /// Instances created so far (each gets its own seed).
    generation: u64,
    seed: u64,
    /// Everyone the policy was told joined and has not left, oldest first: a fresh
    /// instance is told them again.
    roster: Vec<Candidate>,
    /// The experiment time of the last call (for waiting times and the clocks).
    now: Duration,
    /// Lines logged during the last call.
    log: Vec<String>,
    /// Work done by all calls so far.
    work: u64,
    /// How the component was obtained and how long that took (for `plugin check`).
    pub loaded: (Source, Duration),
    /// SHA-256 (hex) of the component's bytes.
    sha256: String,
    /// How long calls took (`/metrics`).
    times: crate::matchmaking::CallTimes,
    usage: Usage,
}

impl PluginMatchmaker {
    /// Loads `path`, checks it implements the contract, and initialises it with
    /// `config` (JSON text). `seed` seeds the instances' randomness.
    pub fn load(path: &Path, config: &str, limits: Limits) -> Result<Self, PluginError> {
        Self::load_seeded(path, config, limits, seed_of(path, config))
    }

    /// [`PluginMatchmaker::load`] of bytes already read from `path` (a reload reads
    /// them once to see whether they changed).
    pub fn load_bytes(path: &Path, bytes: &[u8], config: &str, limits: Limits) -> Result<Self, PluginError> {
        Self::from_bytes(path, bytes, config, limits, seed_of(path, config), Instant::now())
    }

    /// [`PluginMatchmaker::load`] with the randomness seed given.
    pub fn load_seeded(path: &Path, config: &str, limits: Limits, seed: u64) -> Result<Self, PluginError> {
        let started = Instant::now();
        let bytes = std::fs::read(path).map_err(|source| PluginError::Read { path: path.to_path_buf(), source })?;
        Self::from_bytes(path, &bytes, config, limits, seed, started)
    }

    fn from_bytes(
        path: &Path,
        bytes: &[u8],
        config: &str,
        limits: Limits,
        seed: u64,
        started: Instant,
    ) -> Result<Self, PluginError> {
        let at = || path.to_path_buf();
        let (component, source) =
            engine::component(bytes).map_err(|e| PluginError::Compile { path: at(), message: explain_link(&e) })?;
        let contract = |e: wasmtime::Error| PluginError::Contract { path: at(), message: explain_link(&e) };
        let mut linker = Linker::new(engine::engine());
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(contract)?;
        bindings::Policy::add_to_linker::<_, HasSelf<_>>(&mut linker, |state: &mut HostState| state)
            .map_err(contract)?;
        let pre = linker.instantiate_pre(&component).map_err(contract)?;
        let pre = bindings::PolicyPre::new(pre).map_err(contract)?;
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let worker =
            Worker::start(&format!("cohort-policy-{name}"), move || Slot { pre, live: None, clock: Clock::default() })
                .map_err(|e| PluginError::Start {
                    path: at(),
                    fault: PolicyError::Other(e.to_string()),
                    lines: Vec::new(),
                })?;
        let mut plugin = Self {
            name,
            worker,
            config: config.to_owned(),
            limits,
            health: Health::default(),
            generation: 0,
            seed,
            roster: Vec::new(),
            now: Duration::ZERO,
            log: Vec::new(),
            work: 0,
            loaded: (source, Duration::ZERO),
            sha256: {
                use sha2::{Digest, Sha256};
                format!("{:x}", Sha256::digest(bytes))
            },
            times: crate::matchmaking::CallTimes::default(),
            usage: Usage::default(),
        };
        if let Err(fault) = plugin.rebuild() {
            let lines = plugin.take_log();
            return Err(match fault {
                PolicyError::Other(message) => PluginError::Init { path: at(), message },
                fault => PluginError::Start { path: at(), fault, lines },
            });
        }
        plugin.loaded.1 = started.elapsed();
        Ok(plugin)
    }

    /// Re-creates the instance now (for `plugin check`, which has no ticks).
    pub fn restart(&mut self) -> Result<(), PolicyError> {
        self.rebuild()
    }

    /// What the instance used so far (for `plugin check`).
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// A fresh instance: instantiated, configured and told everyone waiting, all under
    /// one deadline of [`REBUILD_DEADLINES`] calls.
    fn rebuild(&mut self) -> Result<(), PolicyError> {
        self.generation += 1;
        let seed = self.seed ^ self.generation.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let (limits, config, now) = (self.limits, self.config.as_str(), self.now);
        let roster: Vec<_> = self.roster.iter().map(|c| participant(c, now)).collect();
        let deadline = limits.call_timeout * REBUILD_DEADLINES;
        let ran = self.worker.run(move |slot: &mut Slot| {
            slot.live = None;
            slot.clock.set(now);
            let mut store = Store::new(engine::engine(), HostState::new(limits.memory_bytes, &slot.clock, seed));
            store.limiter(|state| &mut state.caps);
            store.epoch_deadline_trap();
            store.set_hostcall_fuel(MAX_HOST_COPY);
            let pre = slot.pre.clone();
            let (result, cost) = metered(&mut store, deadline, |store| {
                let policy = pre.instantiate(&mut *store)?;
                if let Err(refusal) = policy.call_configure(&mut *store, config)? {
                    return Ok(Err(refusal));
                }
                for p in &roster {
                    policy.call_on_join(&mut *store, p)?;
                }
                Ok(Ok(policy))
            });
            let result = match result {
                Ok(Ok(policy)) => {
                    slot.live = Some((store, policy));
                    Ok(Ok(()))
                }
                Ok(Err(refusal)) => Ok(Err(refusal)),
                Err(e) => Err(classify(e, deadline)),
            };
            (result, cost)
        });
        match self.account(ran)? {
            Ok(()) => {
                self.health.down = false;
                Ok(())
            }
            Err(refusal) => {
                self.went_down();
                Err(PolicyError::Other(refusal))
            }
        }
    }

    /// Books what a run on the worker cost and said; a fault takes the instance down.
    fn account<R>(&mut self, ran: Result<(Result<R, PolicyError>, Cost), worker::Stopped>) -> Result<R, PolicyError> {
        let (result, cost) = ran.unwrap_or_else(|worker::Stopped| {
            (Err(PolicyError::Other("the policy's thread stopped".to_owned())), Cost::default())
        });
        self.work += cost.work;
        self.times.observe(cost.took);
        self.usage.slowest = self.usage.slowest.max(cost.took);
        self.usage.lines += cost.lines.len();
        self.usage.lines_dropped += cost.dropped;
        if cost.memory.0 >= self.usage.peak_memory {
            (self.usage.peak_memory, self.usage.table_elements) = cost.memory;
        }
        self.log.extend(cost.lines);
        match result {
            Ok(r) => {
                self.health.faults_in_row = 0;
                Ok(r)
            }
            Err(PolicyError::Unavailable) => Err(PolicyError::Unavailable),
            Err(e) => {
                self.went_down();
                Err(e)
            }
        }
    }

    /// A fault: the instance is gone; the next tick after a pause re-creates it.
    fn went_down(&mut self) {
        self.health.faults_in_row += 1;
        let doublings = self.health.faults_in_row.saturating_sub(1).min(16);
        let pause = (FIRST_PAUSE * 2u32.saturating_pow(doublings)).min(LONGEST_PAUSE);
        self.health.down = true;
        self.health.retry_at = self.now.saturating_add(pause);
    }

    /// Runs one guest call on the live instance, under its deadline.
    fn call<R: Send>(
        &mut self,
        f: impl FnOnce(&mut Store<HostState>, &bindings::Policy) -> wasmtime::Result<R> + Send,
    ) -> Result<R, PolicyError> {
        if self.health.down {
            return Err(PolicyError::Unavailable);
        }
        let (now, deadline) = (self.now, self.limits.call_timeout);
        let ran = self.worker.run(move |slot: &mut Slot| {
            slot.clock.set(now);
            let Some((store, policy)) = slot.live.as_mut() else {
                return (Err(PolicyError::Unavailable), Cost::default());
            };
            let (result, cost) = metered(store, deadline, |store| f(store, policy));
            if result.is_err() {
                slot.live = None;
            }
            (result.map_err(|e| classify(e, deadline)), cost)
        });
        self.account(ran)
    }
}
