//! The outbox: the one path by which an experiment's effects leave the actor.
//!
//! A dedicated thread owns the event log. It takes batches of (events, messages) in
//! order, appends the events of as many waiting batches as it can (group commit),
//! fsyncs once, and only then delivers the batches' messages. So no message that
//! depends on an event (an `ack`, the next scene) reaches a client before that event
//! is durable, messages keep their order per connection, and the actor never waits
//! for the disk.

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::eventlog::{Event, LogFile};

/// Most batches committed together.
const MAX_GROUP: usize = 256;
/// Batches queued before the actor waits.
const QUEUE: usize = 1024;

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
}

impl Outbox {
    /// Starts the outbox thread, owning `log`.
    pub fn start(log: LogFile) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("cohort-outbox".into())
            .spawn(move || run(log, rx))
            .expect("the outbox thread starts");
        Self { tx, thread: Some(thread) }
    }

    /// Queues a batch (waits only when the queue is full, i.e. the disk is behind).
    pub async fn push(&self, batch: Batch) {
        if self.tx.send(batch).await.is_err() {
            tracing::error!("the outbox thread is gone; dropping a batch");
        }
    }

    /// Waits until everything queued so far is durable and delivered, then stops.
    pub async fn close(mut self) {
        let (done, wait) = oneshot::channel();
        self.push(Batch { done: Some(done), ..Batch::default() }).await;
        let _ = wait.await;
        drop(self.tx);
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

fn run(mut log: LogFile, mut rx: mpsc::Receiver<Batch>) {
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(batch) => group.push(batch),
                Err(_) => break,
            }
        }
        let durable = commit(&mut log, &mut group);
        for batch in group {
            for d in batch.deliveries {
                if durable {
                    deliver(d);
                } else {
                    // What was not recorded must not be shown as done: the connection
                    // closes, and the participant's reconnect meets the state anew.
                    d.to.cancel.cancel();
                }
            }
            if let Some(done) = batch.done {
                let _ = done.send(());
            }
        }
    }
}

/// Appends every event of the group and syncs once; false if the log failed.
fn commit(log: &mut LogFile, group: &mut [Batch]) -> bool {
    let mut result = Ok(());
    for batch in group.iter_mut() {
        for (ts, event) in batch.events.drain(..) {
            if result.is_ok() {
                result = log.append(ts, event);
            }
        }
    }
    let result = result.and_then(|()| log.sync());
    if let Err(e) = &result {
        tracing::error!(error = %e, "event log write failed; deliveries withheld, connections closed");
    }
    result.is_ok()
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
