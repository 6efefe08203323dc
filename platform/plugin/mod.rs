//! Matchmaking policies as sandboxed WebAssembly components (`plugins/matchmaker.wit`).
//!
//! A [`PluginMatchmaker`] is one more implementation of the [`Matchmaker`] trait. Each
//! call runs with a deadline (epoch interruption) and a memory cap (store limits). A
//! trap, missed deadline, memory exhaustion or malformed answer becomes a
//! [`PolicyError`]; the instance is then discarded and re-created before the next call
//! (re-initialised with the config and re-told the waitroom). The world imports
//! nothing but the host interface: no WASI, no filesystem, network, clock, randomness
//! or environment.

pub mod check;
mod engine;
mod host;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Store, Trap};

pub use engine::{Source, cache_dir};
use host::{HostState, participant};

use crate::matchmaking::{Candidate, Matchmaker, PolicyError, WaitroomView};
use crate::protocol::ParticipantId;

/// The one `bindgen!` of cohort: the `policy` world.
mod bindings {
    wasmtime::component::bindgen!({
        path: "plugins/matchmaker.wit",
        world: "policy",
        imports: { default: trappable },
    });
}

/// Per-call limits, from the experiment's `matchmaker` section.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub call_timeout: Duration,
    pub memory_bytes: usize,
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
}

/// A loaded policy component.
pub struct PluginMatchmaker {
    name: String,
    pre: bindings::PolicyPre<HostState>,
    config: String,
    limits: Limits,
    /// The live instance; `None` after a fault until the next call re-creates it.
    live: Option<(Store<HostState>, bindings::Policy)>,
    /// Everyone the policy was told joined and has not left, oldest first: a fresh
    /// instance is told them again.
    roster: Vec<Candidate>,
    /// The experiment time of the last decision (for waiting times when re-telling).
    now: Duration,
    /// Lines logged during the last call.
    log: Vec<String>,
    /// How the component was obtained and how long that took (for `plugin check`).
    pub loaded: (Source, Duration),
    /// How long calls took (`/metrics`).
    times: crate::matchmaking::CallTimes,
}

impl PluginMatchmaker {
    /// Loads `path`, checks it implements the contract, and initialises it with
    /// `config` (JSON text).
    pub fn load(path: &Path, config: &str, limits: Limits) -> Result<Self, PluginError> {
        let started = Instant::now();
        let bytes = std::fs::read(path).map_err(|source| PluginError::Read { path: path.to_path_buf(), source })?;
        let (component, source) = engine::component(&bytes)
            .map_err(|e| PluginError::Compile { path: path.to_path_buf(), message: format!("{e:#}") })?;
        let mut linker = Linker::new(engine::engine());
        bindings::Policy::add_to_linker::<_, HasSelf<_>>(&mut linker, |state: &mut HostState| state)
            .map_err(|e| PluginError::Contract { path: path.to_path_buf(), message: format!("{e:#}") })?;
        let contract =
            |e: wasmtime::Error| PluginError::Contract { path: path.to_path_buf(), message: format!("{e:#}") };
        let pre = linker.instantiate_pre(&component).map_err(contract)?;
        let pre = bindings::PolicyPre::new(pre).map_err(contract)?;
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let mut plugin = Self {
            name,
            pre,
            config: config.to_owned(),
            limits,
            live: None,
            roster: Vec::new(),
            now: Duration::ZERO,
            log: Vec::new(),
            loaded: (source, started.elapsed()),
            times: crate::matchmaking::CallTimes::default(),
        };
        plugin.instantiate().map_err(|e| match e {
            PolicyError::Other(message) => PluginError::Init { path: path.to_path_buf(), message },
            other => PluginError::Init { path: path.to_path_buf(), message: other.to_string() },
        })?;
        plugin.loaded.1 = started.elapsed();
        Ok(plugin)
    }

    /// A fresh instance, initialised with the config.
    fn instantiate(&mut self) -> Result<(), PolicyError> {
        let mut store = Store::new(engine::engine(), HostState::new(self.limits.memory_bytes));
        store.limiter(|state| &mut state.limits);
        store.epoch_deadline_trap();
        self.arm(&mut store);
        let policy = self.pre.instantiate(&mut store).map_err(|e| self.fault(e))?;
        self.arm(&mut store);
        match policy.call_configure(&mut store, &self.config) {
            Ok(Ok(())) => {}
            Ok(Err(refusal)) => return Err(PolicyError::Other(refusal)),
            Err(e) => return Err(self.fault(e)),
        }
        self.log.append(&mut store.data_mut().log);
        self.live = Some((store, policy));
        Ok(())
    }

    /// Sets the deadline of the next call (one tick more, since the current tick may
    /// be about to end).
    fn arm(&self, store: &mut Store<HostState>) {
        let ticks = self.limits.call_timeout.as_millis().div_ceil(engine::TICK.as_millis()) as u64;
        store.set_epoch_deadline(ticks.max(1) + 1);
    }

    /// Makes sure an instance is live: after a fault, a fresh one, configured and
    /// re-told everyone waiting, all within one call's deadline.
    fn ensure_live(&mut self) -> Result<(), PolicyError> {
        if self.live.is_some() {
            return Ok(());
        }
        self.instantiate()?;
        let (mut store, policy) = self.live.take().expect("just instantiated");
        self.arm(&mut store);
        for c in &self.roster {
            if let Err(e) = policy.call_on_join(&mut store, &participant(c, self.now)) {
                self.log.append(&mut store.data_mut().log);
                return Err(self.fault(e));
            }
        }
        self.log.append(&mut store.data_mut().log);
        self.live = Some((store, policy));
        Ok(())
    }

    /// Turns a wasmtime error into a policy error.
    fn fault(&self, e: wasmtime::Error) -> PolicyError {
        classify(e, self.limits.call_timeout)
    }

    /// Runs one guest call with the deadline armed; a fault discards the instance.
    fn call<R>(
        &mut self,
        f: impl FnOnce(&mut Store<HostState>, &bindings::Policy) -> wasmtime::Result<R>,
    ) -> Result<R, PolicyError> {
        self.ensure_live()?;
        let (mut store, policy) = self.live.take().expect("ensured above");
        self.arm(&mut store);
        let started = Instant::now();
        let result = f(&mut store, &policy);
        self.times.observe(started.elapsed());
        self.log.append(&mut store.data_mut().log);
        match result {
            Ok(r) => {
                self.live = Some((store, policy));
                Ok(r)
            }
            Err(e) => Err(self.fault(e)),
        }
    }
}

fn classify(e: wasmtime::Error, timeout: Duration) -> PolicyError {
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PolicyError::Deadline(timeout),
        Some(trap) => {
            let text = format!("{e:#}");
            if text.contains("memory") && text.contains("grow") {
                PolicyError::Memory
            } else {
                PolicyError::Trap(trap.to_string())
            }
        }
        None => {
            let text = format!("{e:#}");
            if text.contains("memory") && (text.contains("grow") || text.contains("limit")) {
                PolicyError::Memory
            } else {
                PolicyError::Trap(text.chars().take(300).collect())
            }
        }
    }
}

/// Parses the guest's ids; anything that is not a participant id is a fault.
fn parse_ids(ids: Vec<String>) -> Result<Vec<ParticipantId>, PolicyError> {
    ids.into_iter()
        .map(|id| {
            uuid::Uuid::parse_str(&id).map(ParticipantId).map_err(|_| {
                let shown: String = id.chars().take(60).collect();
                PolicyError::Other(format!("answered `{shown}`, which is no participant id"))
            })
        })
        .collect()
}

impl Matchmaker for PluginMatchmaker {
    fn name(&self) -> &str {
        &self.name
    }

    fn on_join(&mut self, candidate: &Candidate) -> Result<(), PolicyError> {
        self.roster.push(candidate.clone());
        let p = participant(candidate, candidate.joined_at);
        self.call(|store, policy| policy.call_on_join(store, &p))
    }

    fn on_leave(&mut self, id: ParticipantId) -> Result<(), PolicyError> {
        self.roster.retain(|c| c.id != id);
        let id = id.to_string();
        self.call(|store, policy| policy.call_on_leave(store, &id))
    }

    fn find_match(
        &mut self,
        arriving: &Candidate,
        waiting: &WaitroomView<'_>,
        group_size: usize,
    ) -> Result<Option<Vec<ParticipantId>>, PolicyError> {
        self.now = waiting.now();
        let me = participant(arriving, waiting.now());
        let size = u32::try_from(group_size).unwrap_or(u32::MAX);
        let answer = self.call(|store, policy| {
            HostState::with_view(store, waiting, |store| policy.call_find_match(store, &me, size))
        })?;
        let parsed = answer.map(parse_ids).transpose();
        if parsed.is_err() {
            self.reset();
        }
        parsed
    }

    fn reset(&mut self) {
        self.live = None;
    }

    fn should_reject_for_rtt(
        &mut self,
        pair: (&Candidate, &Candidate),
        rtt_ms: Option<f64>,
        max_p2p_rtt_ms: Option<f64>,
        now: Duration,
    ) -> Result<bool, PolicyError> {
        let (a, b) = (participant(pair.0, now), participant(pair.1, now));
        self.call(|store, policy| policy.call_should_reject_for_rtt(store, &a, &b, rtt_ms, max_p2p_rtt_ms))
    }

    fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    fn call_times(&self) -> Option<crate::matchmaking::CallTimes> {
        Some(self.times.clone())
    }
}
