//! What the host gives a policy instance: its store data (memory cap, virtual WASI,
//! the waitroom of the current decision, the lines it logged) and the `host` interface
//! of the WIT world.

use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::sandbox::{self, Caps, Clock, Output};

use super::bindings::cohort::matchmaker::host::Host;
use super::bindings::cohort::matchmaker::types::Participant;
use crate::matchmaking::{Candidate, WaitroomView};

/// Most lines a policy may log per call, and their length.
const MAX_LOG_LINES: usize = 64;
const MAX_LOG_LINE: usize = 1000;

/// The view of the current `find-match` call. Set only for the duration of that call
/// (see [`HostState::with_view`]), so the pointer never outlives the view.
struct ViewPtr(*const WaitroomView<'static>);

// SAFETY: the pointer is only dereferenced on the thread making the call, while the
// caller's borrow of the view is alive.
unsafe impl Send for ViewPtr {}

/// Work units a host call costs on top of the instructions the guest executes (so
/// that a policy reading the whole waitroom on every call is charged for it).
const HOST_CALL_WORK: u64 = 2_000;
const HOST_WORK_PER_BYTE: u64 = 20;
/// Listing the waitroom (the first `waiting-count`, `waiting-get` or `waiting-ids` of
/// a decision walks it once), per participant listed.
const HOST_WORK_PER_LISTED: u64 = 7;

/// Per-instance store data.
pub struct HostState {
    pub caps: Caps,
    view: Option<ViewPtr>,
    pub log: Vec<String>,
    /// Lines the policy tried to log beyond the per-call limit.
    pub log_dropped: usize,
    /// Work charged for host calls during the current call (see [`HOST_CALL_WORK`]).
    pub host_work: u64,
    /// Whether the current decision's waitroom was listed (and charged) yet.
    listed: bool,
    wasi: WasiCtx,
    table: ResourceTable,
    pub output: Output,
}

impl HostState {
    /// A fresh instance's data: `memory_bytes` for all its memories and tables, its
    /// clocks reading `clock`, its randomness seeded with `seed`.
    pub fn new(memory_bytes: usize, clock: &Clock, seed: u64) -> Self {
        let output = Output::default();
        Self {
            caps: Caps::new(memory_bytes),
            view: None,
            log: Vec::new(),
            log_dropped: 0,
            host_work: 0,
            listed: false,
            wasi: sandbox::wasi(clock, seed, &output),
            table: ResourceTable::new(),
            output,
        }
    }

    /// Moves what the guest printed into its log lines (after each call).
    pub fn collect_output(&mut self) {
        let (lines, dropped) = self.output.take_lines();
        for line in lines {
            self.push_line(line);
        }
        if dropped > 0 {
            self.push_line(format!("({dropped} more bytes of output were dropped)"));
        }
    }

    fn push_line(&mut self, line: String) {
        if self.log.len() < MAX_LOG_LINES {
            self.log.push(line.chars().take(MAX_LOG_LINE).collect());
        } else {
            self.log_dropped += 1;
        }
    }

    /// The current decision's waitroom, if a `find-match` call is running.
    fn view(&self) -> Option<&WaitroomView<'static>> {
        // SAFETY: set by `with_view` for exactly the duration of the `find-match`
        // call (the only time the guest runs with it), cleared when that returns.
        self.view.as_ref().map(|ptr| unsafe { &*ptr.0 })
    }
}

impl HostState {
    /// Makes `view` the waitroom the guest reads during one call; `f` runs the call.
    /// The pointer is cleared when `f` returns, traps or panics.
    pub fn with_view<R>(
        store: &mut wasmtime::Store<HostState>,
        view: &WaitroomView<'_>,
        f: impl FnOnce(&mut wasmtime::Store<HostState>) -> R,
    ) -> R {
        struct Clear<'a>(&'a mut wasmtime::Store<HostState>);
        impl Drop for Clear<'_> {
            fn drop(&mut self) {
                self.0.data_mut().view = None;
            }
        }
        // Erase the lifetime: the pointer is cleared before `view` can go away.
        let ptr = std::ptr::from_ref(view).cast::<WaitroomView<'static>>();
        store.data_mut().view = Some(ViewPtr(ptr));
        store.data_mut().listed = false;
        let clear = Clear(store);
        f(clear.0)
    }
}

/// A candidate as the guest sees it.
pub fn participant(c: &Candidate, now: Duration) -> Participant {
    Participant {
        id: c.id.to_string(),
        waited_ms: now.saturating_sub(c.joined_at).as_millis() as u64,
        server_rtt_ms: c.server_rtt_ms,
        attributes: c.attributes.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        previous_partners: c.previous_partners.iter().map(ToString::to_string).collect(),
        avoid: c.avoid.iter().map(ToString::to_string).collect(),
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl super::bindings::cohort::matchmaker::types::Host for HostState {}

impl HostState {
    /// Charges listing the waitroom, the first time in a decision.
    fn charge_listing(&mut self) {
        if !self.listed {
            self.listed = true;
            self.host_work += HOST_WORK_PER_LISTED * self.view().map_or(0, |v| v.len() as u64);
        }
    }
}

impl Host for HostState {
    fn waiting_count(&mut self) -> wasmtime::Result<u32> {
        self.host_work += HOST_CALL_WORK;
        self.charge_listing();
        Ok(self.view().map_or(0, |v| v.len() as u32))
    }

    fn waiting_get(&mut self, index: u32) -> wasmtime::Result<Option<Participant>> {
        self.charge_listing();
        let p = self.view().and_then(|v| v.get(index as usize).map(|c| participant(c, v.now())));
        let bytes: usize = p.as_ref().map_or(0, |p| {
            p.attributes.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
                + 40 * (1 + p.previous_partners.len() + p.avoid.len())
        });
        self.host_work += HOST_CALL_WORK + HOST_WORK_PER_BYTE * bytes as u64;
        Ok(p)
    }

    fn waiting_ids(&mut self) -> wasmtime::Result<Vec<String>> {
        self.charge_listing();
        let ids: Vec<String> = self.view().map(|v| v.iter().map(|c| c.id.to_string()).collect()).unwrap_or_default();
        self.host_work += HOST_CALL_WORK + HOST_WORK_PER_BYTE * 36 * ids.len() as u64;
        Ok(ids)
    }

    fn log(&mut self, line: String) -> wasmtime::Result<()> {
        self.host_work += HOST_CALL_WORK;
        self.push_line(line);
        Ok(())
    }
}
