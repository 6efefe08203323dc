//! What the host gives a policy instance: its store data (memory limits, the waitroom
//! of the current decision, the lines it logged) and the `host` interface of the WIT
//! world.

use std::time::Duration;

use wasmtime::{StoreLimits, StoreLimitsBuilder};

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

/// Per-instance store data.
pub struct HostState {
    pub limits: StoreLimits,
    view: Option<ViewPtr>,
    pub log: Vec<String>,
}

impl HostState {
    pub fn new(memory_bytes: usize) -> Self {
        // The memory cap is per linear memory; bounding how many memories, tables and
        // instances a component may create (and table sizes) keeps the total bounded.
        let limits = StoreLimitsBuilder::new()
            .memory_size(memory_bytes)
            .memories(4)
            .tables(64)
            .instances(64)
            .table_elements(1 << 20)
            .trap_on_grow_failure(true)
            .build();
        Self { limits, view: None, log: Vec::new() }
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

impl super::bindings::cohort::matchmaker::types::Host for HostState {}

impl Host for HostState {
    fn waiting_count(&mut self) -> wasmtime::Result<u32> {
        Ok(self.view().map_or(0, |v| v.len() as u32))
    }

    fn waiting_get(&mut self, index: u32) -> wasmtime::Result<Option<Participant>> {
        Ok(self.view().and_then(|v| v.get(index as usize).map(|c| participant(c, v.now()))))
    }

    fn waiting_ids(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.view().map(|v| v.iter().map(|c| c.id.to_string()).collect()).unwrap_or_default())
    }

    fn log(&mut self, line: String) -> wasmtime::Result<()> {
        if self.log.len() < MAX_LOG_LINES {
            self.log.push(line.chars().take(MAX_LOG_LINE).collect());
        }
        Ok(())
    }
}
