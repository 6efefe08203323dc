//! The outbox: the one path by which an experiment's effects leave the actor.
//!
//! A dedicated thread owns the event log. It takes batches of (events, messages) in
//! order, appends the events of as many waiting batches as it can (group commit),
//! fsyncs once, and only then delivers the batches' messages. So no message that
//! depends on an event (an `ack`, the next scene) reaches a client before that event
//! is durable, messages keep their order per connection, and the actor never waits
//! for the disk.
//!
//! A commit that fails (disk full, read-only) is retried, with backoff, until it
//! succeeds: its events stay queued and its messages withheld, later batches wait
//! behind it, and [`LogHealth`] says so (the actor refuses new input meanwhile and
//! `/healthz` reports it). Nothing is dropped while the host runs; only a shutdown
//! during the outage gives up, closing the connections whose messages were withheld.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::eventlog::{Event, LogFile};

/// Most batches committed together.
const MAX_GROUP: usize = 256;
/// Batches queued before the actor waits.
const QUEUE: usize = 1024;

/// Whether the event log can be written now, shared by the outbox thread (which sets
/// it), the actor and `/healthz` (which read it).
#[derive(Debug, Default)]
pub struct LogHealth {
    failing: AtomicBool,
    error: Mutex<Option<String>>,
    /// Set at shutdown: stop retrying.
    giving_up: AtomicBool,
    /// How long commits' fsyncs took: counts per bucket of [`FSYNC_BUCKETS_US`] (and
    /// above), the sum in microseconds, and the count.
    fsyncs: Mutex<(Vec<u64>, u64, u64)>,
}

/// Upper bounds (µs) of the fsync latency histogram's buckets.
pub const FSYNC_BUCKETS_US: [u64; 8] = [100, 500, 1_000, 2_000, 5_000, 10_000, 50_000, 100_000];

impl LogHealth {
    /// Whether a commit is failing (and being retried).
    pub fn failing(&self) -> bool {
        self.failing.load(Ordering::Acquire)
    }

    /// The error of the failing commit.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The fsync latency histogram so far: (bucket counts, sum µs, count).
    pub fn fsyncs(&self) -> (Vec<u64>, u64, u64) {
        let f = self.fsyncs.lock().unwrap_or_else(|p| p.into_inner());
        if f.0.is_empty() { (vec![0; FSYNC_BUCKETS_US.len() + 1], 0, 0) } else { f.clone() }
    }

    fn observe_fsync(&self, took: Duration) {
        let us = took.as_micros() as u64;
        let mut f = self.fsyncs.lock().unwrap_or_else(|p| p.into_inner());
        if f.0.is_empty() {
            f.0 = vec![0; FSYNC_BUCKETS_US.len() + 1];
        }
        let i = FSYNC_BUCKETS_US.iter().position(|b| us <= *b).unwrap_or(FSYNC_BUCKETS_US.len());
        f.0[i] += 1;
        f.1 += us;
        f.2 += 1;
    }

    fn set(&self, error: Option<String>) {
        self.failing.store(error.is_some(), Ordering::Release);
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }
}

/// First and longest pause between retries of a failed commit.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// What a connection's socket task receives.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A serialized server message.
    Text(Arc<str>),
    /// Send a close frame and end the connection.
    Close,
}

/// A connection's outgoing side, as the actor knows it.
#[derive(Debug, Clone)]
pub struct ConnOut {
    pub tx: mpsc::Sender<Outgoing>,
    /// Cancelled when the connection cannot keep up (its queue is full).
    pub cancel: CancellationToken,
}

/// One delivery: a message for a connection. Withheld (and the connection closed) if
/// the events before it could not be made durable.
#[derive(Debug)]
pub struct Delivery {
    pub to: ConnOut,
    pub what: Outgoing,
}

/// Events (with their wall-clock time) and the deliveries that follow them.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<(u64, Event)>,
    pub deliveries: Vec<Delivery>,
    /// Signalled once the batch is durable and delivered (used at shutdown).
    pub done: Option<oneshot::Sender<()>>,
}

/// The actor's end of the outbox.
pub struct Outbox {
    tx: mpsc::Sender<Batch>,
    thread: Option<JoinHandle<()>>,
    health: Arc<LogHealth>,
}

impl Outbox {
    /// Starts the outbox thread, owning `log`; it reports into `health`.
    pub fn start(log: LogFile, health: Arc<LogHealth>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let reporting = health.clone();
        let thread = std::thread::Builder::new()
            .name("cohort-outbox".into())
            .spawn(move || run(log, rx, &reporting))
            .expect("the outbox thread starts");
        Self { tx, thread: Some(thread), health }
    }

    /// Queues a batch (waits only when the queue is full, i.e. the disk is behind).
    pub async fn push(&self, batch: Batch) {
        if self.tx.send(batch).await.is_err() {
            tracing::error!("the outbox thread is gone; dropping a batch");
        }
    }

    /// Queues a batch if there is room now.
    pub fn try_push(&self, batch: Batch) -> Result<(), Batch> {
        self.tx.try_send(batch).map_err(|e| match e {
            mpsc::error::TrySendError::Full(b) | mpsc::error::TrySendError::Closed(b) => b,
        })
    }

    /// Stops retrying a failing commit (shutdown): what could not be written is
    /// reported and its messages withheld.
    pub fn give_up(&self) {
        self.health.giving_up.store(true, Ordering::Release);
    }

    /// Waits until everything queued so far is durable and delivered, then stops. If
    /// the log is failing, it stops retrying: what could not be written is reported
    /// and its messages are withheld.
    pub async fn close(mut self) {
        self.give_up();
        let (done, wait) = oneshot::channel();
        self.push(Batch { done: Some(done), ..Batch::default() }).await;
        let _ = wait.await;
        drop(self.tx);
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

fn run(mut log: LogFile, mut rx: mpsc::Receiver<Batch>, health: &LogHealth) {
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(batch) => group.push(batch),
                Err(_) => break,
            }
        }
        let durable = commit(&mut log, &mut group, health);
        for batch in group {
            for d in batch.deliveries {
                if durable {
                    deliver(d);
                } else {
                    // What was not recorded must not be shown as done.
                    d.to.cancel.cancel();
                }
            }
            if let Some(done) = batch.done {
                let _ = done.send(());
            }
        }
    }
}

/// Appends every event of the group and syncs once, retrying a failed sync until it
/// succeeds (or the host shuts down: then false).
fn commit(log: &mut LogFile, group: &mut [Batch], health: &LogHealth) -> bool {
    for batch in group.iter_mut() {
        for (ts, event) in batch.events.drain(..) {
            let _ = log.append(ts, event); // queued in memory; the sync is what can fail
        }
    }
    let mut pause = RETRY_FIRST;
    loop {
        let started = std::time::Instant::now();
        match log.sync() {
            Ok(()) => {
                health.observe_fsync(started.elapsed());
                if health.failing() {
                    tracing::warn!("the event log is writable again; going on");
                    health.set(None);
                }
                return true;
            }
            Err(e) => {
                if !health.failing() {
                    tracing::error!(error = %e, "cannot write the event log; input refused and retried until it can");
                }
                // Public on /healthz: the cause, not the server's paths.
                let cause = match &e {
                    crate::eventlog::LogError::Write { source, .. }
                    | crate::eventlog::LogError::Create { source, .. } => source.to_string(),
                };
                health.set(Some(cause));
                if health.giving_up.load(Ordering::Acquire) {
                    tracing::error!(bytes = log.pending_bytes(), "shutting down with events the log could not take");
                    return false;
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(RETRY_MAX);
            }
        }
    }
}

fn deliver(d: Delivery) {
    match d.to.tx.try_send(d.what) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!("a connection's outgoing queue is full; closing it");
            d.to.cancel.cancel();
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {}
    }
}
