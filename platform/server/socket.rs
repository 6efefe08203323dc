//! The socket pump: one task per WebSocket. It forwards what [`super::frames`] makes of
//! each incoming frame to the experiment actor, writes what the actor sends (batched,
//! bounded in time), closes sockets that never say `hello`, and keeps the connection
//! alive with heartbeats. It holds no experiment state.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::frames::{SocketState, Step};
use crate::experiment::Input;
use crate::experiment::actor::{ActorMsg, ExperimentHandle};
use crate::experiment::outbox::{ConnOut, Outgoing};
use crate::protocol::{ErrorCode, ServerMsg};

/// Messages queued for one connection before it counts as too slow and is closed.
const OUT_QUEUE: usize = 256;
/// Heartbeats without any frame from the client before the socket counts as dead.
const MISSED_BEATS: u32 = 3;

/// Per-socket limits.
#[derive(Debug, Clone, Copy)]
pub struct SocketOptions {
    /// Interval between heartbeat pings.
    pub heartbeat: Duration,
    /// Sustained messages per second a client may send.
    pub rate_per_sec: f64,
    /// Burst a client may send at once.
    pub burst: f64,
    /// Time a new socket has to say `hello`; then it is closed, so that sockets that
    /// never identify themselves cannot hold connection slots.
    pub hello_timeout: Duration,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(5),
            rate_per_sec: 50.0,
            burst: 100.0,
            hello_timeout: Duration::from_secs(10),
        }
    }
}

/// Runs one participant connection to its end.
pub async fn pump<S>(ws: WebSocketStream<S>, handle: ExperimentHandle, opts: SocketOptions)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let conn = handle.new_conn();
    let (tx, mut rx) = mpsc::channel(OUT_QUEUE);
    let cancel = CancellationToken::new();
    if !handle.send(ActorMsg::Open { conn, out: ConnOut { tx, cancel: cancel.clone() } }).await {
        return;
    }
    let (mut sink, mut stream) = ws.split();
    let mut socket = SocketState::new(opts);
    let mut heartbeat = tokio::time::interval(opts.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A client that stops reading must not wedge this task: every write is bounded
    // by the time in which a live client answers heartbeats.
    let write_limit = opts.heartbeat * MISSED_BEATS;
    let hello_by = Instant::now() + opts.hello_timeout;
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            () = tokio::time::sleep_until(hello_by), if !socket.greeted => {
                let why = format!("no `hello` within {} s; closing", opts.hello_timeout.as_secs_f64());
                let text = serde_json::to_string(&ServerMsg::error(ErrorCode::HelloFirst, why, None)).expect("serializes");
                let _ = send(&mut sink, Message::text(text), write_limit).await;
                let _ = send(&mut sink, Message::Close(None), write_limit).await;
                break;
            },
            out = rx.recv() => {
                // What else is queued goes out with it, in one write.
                let (written, closing) = write_queued(&mut sink, out, &mut rx, write_limit).await;
                if !written || closing { break; }
            },
            frame = stream.next() => {
                let Some(Ok(frame)) = frame else { break };
                match socket.on_frame(conn, frame) {
                    Step::Forward(input) => if !handle.send(ActorMsg::Input(input)).await { break },
                    Step::Reply(msg) => {
                        let text = serde_json::to_string(&msg).expect("server messages serialize");
                        if !send(&mut sink, Message::text(text), write_limit).await { break; }
                    }
                    Step::Nothing => {}
                    Step::End => break,
                }
            },
            _ = heartbeat.tick() => {
                if socket.last_seen.elapsed() > opts.heartbeat * MISSED_BEATS {
                    tracing::info!(conn = conn.0, "no heartbeat answer; closing a dead socket");
                    break;
                }
                if !send(&mut sink, Message::Ping(socket.next_ping().to_vec().into()), write_limit).await { break; }
            },
        }
    }
    // Bounded like every write: a client that stopped reading must not hold the task.
    let _ = tokio::time::timeout(write_limit, sink.close()).await;
    handle.send(ActorMsg::Input(Input::Closed { conn })).await;
}

/// Most queued messages written with one flush.
const WRITE_BATCH: usize = 64;

/// Writes `first` and whatever else is queued behind it (up to [`WRITE_BATCH`]) with
/// one flush, within `limit`. Returns whether it was written, and whether the socket
/// is to close (a `Close` was queued, or the actor dropped the queue).
async fn write_queued<S>(
    sink: &mut S,
    first: Option<Outgoing>,
    rx: &mut mpsc::Receiver<Outgoing>,
    limit: Duration,
) -> (bool, bool)
where
    S: futures_util::Sink<Message> + Unpin,
{
    let mut next = first;
    let mut closing = false;
    let batch = async {
        for written in 1..=WRITE_BATCH {
            match next.take() {
                Some(Outgoing::Text(text)) => sink.feed(Message::text(text.as_ref())).await?,
                Some(Outgoing::Close) | None => {
                    closing = true;
                    sink.feed(Message::Close(None)).await?;
                    break;
                }
            }
            if written == WRITE_BATCH {
                break; // the rest stays queued for the next batch
            }
            match rx.try_recv() {
                Ok(out) => next = Some(out),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => next = None,
            }
        }
        sink.flush().await
    };
    let written = matches!(tokio::time::timeout(limit, batch).await, Ok(Ok(())));
    (written, closing)
}

/// Writes one frame within `limit`; false if the socket failed or the client is not
/// reading.
async fn send<S>(sink: &mut S, msg: Message, limit: Duration) -> bool
where
    S: futures_util::Sink<Message> + Unpin,
{
    matches!(tokio::time::timeout(limit, sink.send(msg)).await, Ok(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder {
        fed: Vec<Message>,
        flushes: usize,
    }

    impl futures_util::Sink<Message> for Recorder {
        type Error = std::convert::Infallible;
        fn poll_ready(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn start_send(mut self: std::pin::Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
            self.fed.push(item);
            Ok(())
        }
        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            self.flushes += 1;
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn queued_messages_go_out_in_batches_in_order_and_none_is_lost() {
        let (tx, mut rx) = mpsc::channel(OUT_QUEUE);
        let total = 2 * WRITE_BATCH + 5;
        for i in 0..total {
            tx.try_send(Outgoing::Text(i.to_string().into())).unwrap();
        }
        tx.try_send(Outgoing::Close).unwrap();
        let mut sink = Recorder::default();
        let limit = Duration::from_secs(1);
        let mut batches = 0;
        loop {
            let first = rx.recv().await;
            let (written, closing) = write_queued(&mut sink, first, &mut rx, limit).await;
            assert!(written);
            batches += 1;
            if closing {
                break;
            }
        }
        let texts: Vec<String> = sink.fed.iter().filter_map(|m| m.to_text().ok()).map(str::to_owned).collect();
        let expected: Vec<String> = (0..total).map(|i| i.to_string()).collect();
        assert_eq!(&texts[..total], &expected[..], "every message, in order");
        assert!(matches!(sink.fed.last(), Some(Message::Close(_))), "the close comes last");
        assert_eq!(sink.fed.len(), total + 1);
        assert_eq!((batches, sink.flushes), (3, 3), "one flush per batch of at most {WRITE_BATCH}");
    }
}
