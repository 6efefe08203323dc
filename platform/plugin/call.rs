//! Calls into a policy instance: each [`Matchmaker`] method as one guest call, run
//! under its deadline, its work counted, its lines collected, its failure classified —
//! and the small helpers around a call (errors worded with hints for the usual
//! toolchain mistakes, answers parsed).

use std::path::Path;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use super::host::{HostState, participant};
use super::{PluginMatchmaker, Slot, engine};
use crate::matchmaking::{Candidate, Matchmaker, PolicyError, WaitroomView};
use crate::protocol::ParticipantId;

/// What one run on the worker cost and said.
#[derive(Default)]
pub(super) struct Cost {
    pub work: u64,
    pub took: Duration,
    pub lines: Vec<String>,
    pub dropped: usize,
    /// Peak bytes of memories and tables, and table elements.
    pub memory: (usize, usize),
}

/// Work charged for every call on top of what it executes: handing the call to the
/// policy's thread and entering the instance (measured: `cargo bench --bench decision`).
const CALL_WORK: u64 = 30_000;

/// Fuel given to every call: the deadline, not fuel, stops a runaway call; fuel only
/// counts the instructions executed.
const FUEL: u64 = u64::MAX / 4;

/// Runs `f` on `store` under `deadline`, counting its work and collecting its lines.
pub(super) fn metered<R>(
    store: &mut Store<HostState>,
    deadline: Duration,
    f: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<R>,
) -> (wasmtime::Result<R>, Cost) {
    let ticks = deadline.as_millis().div_ceil(engine::TICK.as_millis()) as u64;
    // One tick more: the current tick may be about to end.
    store.set_epoch_deadline(ticks.max(1) + 1);
    let _ = store.set_fuel(FUEL);
    store.data_mut().host_work = 0;
    let started = Instant::now();
    let result = f(store);
    let took = started.elapsed();
    let executed = FUEL.saturating_sub(store.get_fuel().unwrap_or(FUEL));
    let state = store.data_mut();
    state.collect_output();
    let work = executed.saturating_add(state.host_work).saturating_add(CALL_WORK);
    let lines = std::mem::take(&mut state.log);
    let dropped = std::mem::take(&mut state.log_dropped);
    let memory = (state.caps.peak, state.caps.table_elements);
    (result, Cost { work, took, lines, dropped, memory })
}

/// The last lines a policy logged (a traceback, say), to go with an error.
pub(super) fn said(lines: &[String]) -> String {
    let tail = &lines[lines.len().saturating_sub(12)..];
    tail.iter().map(|l| format!("\n  | {l}")).collect()
}

/// A seed for a policy's randomness that is the same for the same file and config.
pub(super) fn seed_of(path: &Path, config: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new().chain_update(path.as_os_str().as_encoded_bytes()).chain_update(config).finalize();
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// A linking error, with a hint for the usual mistakes of each toolchain.
pub(super) fn explain_link(e: &wasmtime::Error) -> String {
    let text = format!("{e:#}");
    let hint = if text.contains("async") || text.contains("task.") || text.contains("context.") {
        " (hint: this component uses the component model's async features; with componentize-qjs, build with `--sync`)"
    } else if text.contains("wasi:") {
        " (hint: cohort provides WASI 0.2 (wasi:cli, clocks, random, io, and empty filesystem and sockets); a component importing another version of WASI or WASI 0.3 can be built with `--stub-wasi`)"
    } else if text.contains("cohort:matchmaker") {
        " (hint: generate the bindings from this cohort's plugins/matchmaker.wit, world `policy`)"
    } else {
        ""
    };
    format!("{text}{hint}")
}

pub(super) fn classify(e: wasmtime::Error, timeout: Duration) -> PolicyError {
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

/// The waitroom of a `find-match` call, lent to the policy's thread.
pub(super) struct SendRef<'a, T>(pub &'a T);

// SAFETY: the actor thread blocks while the policy's thread runs the call
// (`Worker::run`), so the view is only ever used by one thread at a time, and not
// after the call returns.
unsafe impl<T> Send for SendRef<'_, T> {}

/// Parses the guest's ids; anything that is not a participant id is a fault.
pub(super) fn parse_ids(ids: Vec<String>) -> Result<Vec<ParticipantId>, PolicyError> {
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
        self.now = self.now.max(candidate.joined_at);
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
        let view = SendRef(waiting);
        let answer = self.call(move |store, policy| {
            let view = view;
            HostState::with_view(store, view.0, |store| policy.call_find_match(store, &me, size))
        })?;
        let parsed = answer.map(parse_ids).transpose();
        if parsed.is_err() {
            self.reset();
        }
        parsed
    }

    fn reset(&mut self) {
        let _ = self.worker.run(|slot: &mut Slot| slot.live = None);
        self.went_down();
    }

    fn recover(&mut self, now: Duration) -> Option<Result<usize, PolicyError>> {
        if !self.health.down || now < self.health.retry_at {
            return None;
        }
        self.now = self.now.max(now);
        Some(self.rebuild().map(|()| self.roster.len()))
    }

    fn work(&self) -> u64 {
        self.work
    }

    fn fingerprint(&self) -> Option<String> {
        Some(self.sha256.clone())
    }

    fn should_reject_for_rtt(
        &mut self,
        pair: (&Candidate, &Candidate),
        rtt_ms: Option<f64>,
        max_p2p_rtt_ms: Option<f64>,
        now: Duration,
    ) -> Result<bool, PolicyError> {
        self.now = self.now.max(now);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_toolchain_mistakes_get_a_hint() {
        let hint = |text: &str| explain_link(&wasmtime::Error::msg(text.to_owned()));
        assert!(hint("`task.cancel` requires the component model async feature").contains("build with `--sync`"));
        assert!(hint("component imports instance `wasi:cli/environment@0.3.0`").contains("`--stub-wasi`"));
        assert!(hint("import `cohort:matchmaker/host@0.2.0` has the wrong type").contains("plugins/matchmaker.wit"));
        assert_eq!(hint("something else"), "something else");
    }

    #[test]
    fn the_same_file_and_config_give_the_same_seed() {
        let a = seed_of(Path::new("p.wasm"), "{}");
        assert_eq!(a, seed_of(Path::new("p.wasm"), "{}"));
        assert_ne!(a, seed_of(Path::new("p.wasm"), r#"{"x":1}"#));
    }
}
