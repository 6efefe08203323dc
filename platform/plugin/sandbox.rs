//! What a policy instance may use, and nothing more.
//!
//! - **Memory**: one cap for the whole instance — every linear memory and every table
//!   together ([`Caps`]), so a component cannot multiply the cap by creating more
//!   memories or filling tables.
//! - **WASI, virtualized** ([`wasi`]): components built with their toolchain's defaults
//!   (componentize-py, componentize-qjs, wasi-sdk) import WASI. They get no files, no
//!   network, no environment, no arguments and an empty stdin; the clocks read the
//!   experiment time of the decision being made, and randomness is seeded, so that a
//!   simulation or a replay makes the same decisions; stdout and stderr are captured
//!   as the policy's log lines (a Python traceback becomes visible in the event log).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder};

/// Bytes one table element is counted as (a reference).
const TABLE_ELEMENT_BYTES: usize = 8;

/// The instance's memory cap, over all its memories and tables.
pub struct Caps {
    cap: usize,
    used: usize,
    /// The most the instance held at once (for `plugin check`).
    pub peak: usize,
    /// Table elements held now (for `plugin check`).
    pub table_elements: usize,
}

impl Caps {
    pub fn new(cap: usize) -> Self {
        Self { cap, used: 0, peak: 0, table_elements: 0 }
    }

    fn grow(&mut self, current: usize, desired: usize) -> wasmtime::Result<bool> {
        let used = self.used.saturating_sub(current).saturating_add(desired);
        if used > self.cap {
            // An error (not `false`) traps at once, so the fault is seen and logged
            // instead of a guest carrying on after a failed grow.
            wasmtime::bail!("memory limit: the instance would hold {used} bytes, over its cap of {} bytes", self.cap);
        }
        self.used = used;
        self.peak = self.peak.max(used);
        Ok(true)
    }
}

impl wasmtime::ResourceLimiter for Caps {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.grow(current, desired)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let grown = self.grow(current * TABLE_ELEMENT_BYTES, desired * TABLE_ELEMENT_BYTES)?;
        self.table_elements = self.table_elements.saturating_sub(current).saturating_add(desired);
        Ok(grown)
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}

/// The experiment time of the decision being made (nanoseconds), read by the
/// instance's clocks; set by the host before each call.
#[derive(Clone, Default)]
pub struct Clock(Arc<AtomicU64>);

impl Clock {
    pub fn set(&self, now: Duration) {
        self.0.store(u64::try_from(now.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn nanos(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl HostWallClock for Clock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos())
    }
}

impl HostMonotonicClock for Clock {
    fn resolution(&self) -> u64 {
        1_000_000
    }

    fn now(&self) -> u64 {
        self.nanos()
    }
}

/// Most bytes of stdout and stderr kept per call; the rest is counted and dropped.
pub const MAX_OUTPUT_PER_CALL: usize = 16 * 1024;

/// The instance's stdout and stderr: kept (up to [`MAX_OUTPUT_PER_CALL`]) until the
/// host takes them as log lines after the call. Writes never fail, so a chatty policy
/// is not broken by its own prints.
#[derive(Clone, Default)]
pub struct Output(Arc<Mutex<(Vec<u8>, usize)>>);

impl Output {
    fn push(&self, bytes: &[u8]) {
        let mut held = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let room = MAX_OUTPUT_PER_CALL.saturating_sub(held.0.len());
        let kept = bytes.len().min(room);
        held.0.extend_from_slice(&bytes[..kept]);
        held.1 += bytes.len() - kept;
    }

    /// What was written since the last take, as lines (a partial last line included),
    /// and how many bytes were dropped.
    pub fn take_lines(&self) -> (Vec<String>, usize) {
        let mut held = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (bytes, dropped) = (std::mem::take(&mut held.0), std::mem::take(&mut held.1));
        let text = String::from_utf8_lossy(&bytes);
        (text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect(), dropped)
    }
}

impl IsTerminal for Output {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Output {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Output {
    async fn ready(&mut self) {}
}

impl OutputStream for Output {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for Output {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A seeded generator (SplitMix64) for the instance's randomness: the same seed, the
/// same numbers, so decisions can be reproduced.
struct Seeded(u64);

impl rand_core_010::TryRng for Seeded {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(1);
        Ok(crate::mix::mix(self.0))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let word = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }
}

/// The virtual WASI of one instance: nothing to reach outside, the decision's clock,
/// randomness from `seed`, and stdout/stderr into `output`.
pub fn wasi(clock: &Clock, seed: u64, output: &Output) -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdout(output.clone())
        .stderr(output.clone())
        .wall_clock(clock.clone())
        .monotonic_clock(clock.clone())
        .secure_random(Seeded(seed))
        .insecure_random(Seeded(seed ^ 0x5EED))
        .insecure_random_seed(u128::from(seed))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_counts_every_memory_and_table_together() {
        let mut caps = Caps::new(1000);
        assert!(caps.grow(0, 600).is_ok(), "a first memory fits");
        assert!(caps.grow(0, 500).is_err(), "a second memory would take the total over the cap");
        assert!(wasmtime::ResourceLimiter::table_growing(&mut caps, 0, 50, None).is_ok(), "400 bytes of table fit");
        assert!(
            wasmtime::ResourceLimiter::table_growing(&mut caps, 50, 51, None).is_err(),
            "one more element does not"
        );
        assert_eq!((caps.peak, caps.table_elements), (1000, 50));
    }

    #[test]
    fn output_is_kept_up_to_its_cap_and_taken_as_lines() {
        let out = Output::default();
        out.push(b"Traceback (most recent call last):\n  File \"app.py\", line 3\n");
        out.push(b"ValueError: bad\n\n");
        let (lines, dropped) = out.take_lines();
        assert_eq!(lines, ["Traceback (most recent call last):", "  File \"app.py\", line 3", "ValueError: bad"]);
        assert_eq!(dropped, 0);
        out.push(&vec![b'x'; MAX_OUTPUT_PER_CALL + 10]);
        let (lines, dropped) = out.take_lines();
        assert_eq!((lines[0].len(), dropped), (MAX_OUTPUT_PER_CALL, 10));
        assert_eq!(out.take_lines(), (Vec::new(), 0), "taking empties it");
    }

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        use rand_core_010::TryRng;
        let (mut a, mut b, mut c) = (Seeded(7), Seeded(7), Seeded(8));
        let (x, y, z) = (a.try_next_u64(), b.try_next_u64(), c.try_next_u64());
        assert_eq!(x, y);
        assert_ne!(x, z);
    }
}
