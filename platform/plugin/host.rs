//! What the host gives a policy instance: its store data (memory limits, resource
//! table, the waitroom of the current decision, the lines it logged) and the `host`
//! interface of the WIT world.

use std::time::Duration;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{StoreLimits, StoreLimitsBuilder};

use super::bindings::cohort::matchmaker::host::{Host, HostWaitroom};
use super::bindings::cohort::matchmaker::types::Participant;
use crate::matchmaking::{Candidate, WaitroomView};

/// Most lines a policy may log per call, and their length.
const MAX_LOG_LINES: usize = 64;
const MAX_LOG_LINE: usize = 1000;

/// The `waitroom` resource: a handle to the decision's view (held by [`HostState`]).
pub struct WaitroomHandle;

/// The view of the current `find-match` call. Set only for the duration of that call
/// (see [`HostState::with_view`]), so the pointer never outlives the view.
struct ViewPtr(*const WaitroomView<'static>);

// SAFETY: the pointer is only dereferenced on the thread making the call, while the
// caller's borrow of the view is alive.
unsafe impl Send for ViewPtr {}

/// Per-instance store data.
pub struct HostState {
    pub limits: StoreLimits,
    pub table: ResourceTable,
    view: Option<ViewPtr>,
    pub log: Vec<String>,
}

impl HostState {
    pub fn new(memory_bytes: usize) -> Self {
        let limits =
            StoreLimitsBuilder::new().memory_size(memory_bytes).instances(4).trap_on_grow_failure(true).build();
        Self { limits, table: ResourceTable::new(), view: None, log: Vec::new() }
    }

    fn view(&self) -> wasmtime::Result<&WaitroomView<'static>> {
        match &self.view {
            // SAFETY: set by `ViewGuard` for exactly the duration of the call in which
            // the guest can use its `waitroom` borrow; cleared when the guard drops.
            Some(ptr) => Ok(unsafe { &*ptr.0 }),
            None => Err(wasmtime::Error::msg("the waitroom is only readable during find-match")),
        }
    }
}

impl HostState {
    /// Points the `waitroom` resource at `view` for one call; `f` runs the call. The
    /// pointer is cleared when `f` returns, traps or panics.
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
        let ptr = view as *const WaitroomView<'_> as *const WaitroomView<'static>;
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

impl HostWaitroom for HostState {
    fn len(&mut self, _: Resource<WaitroomHandle>) -> wasmtime::Result<u32> {
        Ok(self.view()?.len() as u32)
    }

    fn get(&mut self, _: Resource<WaitroomHandle>, index: u32) -> wasmtime::Result<Option<Participant>> {
        let view = self.view()?;
        Ok(view.get(index as usize).map(|c| participant(c, view.now())))
    }

    fn ids(&mut self, _: Resource<WaitroomHandle>) -> wasmtime::Result<Vec<String>> {
        Ok(self.view()?.iter().map(|c| c.id.to_string()).collect())
    }

    fn drop(&mut self, handle: Resource<WaitroomHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl super::bindings::cohort::matchmaker::types::Host for HostState {}

impl Host for HostState {
    fn log(&mut self, line: String) -> wasmtime::Result<()> {
        if self.log.len() < MAX_LOG_LINES {
            self.log.push(line.chars().take(MAX_LOG_LINE).collect());
        }
        Ok(())
    }
}
