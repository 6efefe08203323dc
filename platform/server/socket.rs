//! The socket pump: one task per WebSocket. It parses frames and forwards messages to
//! the experiment actor, writes what the actor sends, enforces size and rate limits,
//! and keeps the connection alive (ping/pong heartbeats that also measure the server
//! round-trip time). It holds no experiment state.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::experiment::actor::{ActorMsg, ExperimentHandle};
use crate::experiment::outbox::{ConnOut, Outgoing};
use crate::experiment::{ConnId, Input};
use crate::protocol::{ClientMsg, ErrorCode, MAX_MESSAGE_BYTES, MAX_RELAYED_BYTES, ServerMsg};

/// Messages queued for one connection before it counts as too slow and is closed.
const OUT_QUEUE: usize = 256;
/// Server RTT = median of this many recent heartbeats.
const RTT_SAMPLES: usize = 5;
/// Heartbeats without any frame from the client before the socket counts as dead.
const MISSED_BEATS: u32 = 3;
/// Rate-limited messages within [`DROP_WINDOW`] before the connection is closed: a
/// client that keeps sending faster than its rate is cut off, however many of its
/// messages get through in between.
const MAX_DROPPED: u32 = 200;
const DROP_WINDOW: Duration = Duration::from_secs(10);

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

/// What to do with one incoming frame.
enum Step {
    Forward(Input),
    Reply(ServerMsg),
    Nothing,
    End,
}

/// Per-connection bookkeeping: liveness, pings in flight, RTT samples, rate bucket.
struct SocketState {
    opts: SocketOptions,
    last_seen: Instant,
    next_ping: u64,
    in_flight: VecDeque<(u64, Instant)>,
    samples: VecDeque<f64>,
    tokens: f64,
    refilled: Instant,
    /// Rate-limited messages in the current window, and when it began.
    dropped: u32,
    window: Instant,
    /// A `hello` was forwarded.
    greeted: bool,
}

impl SocketState {
    fn new(opts: SocketOptions) -> Self {
        let now = Instant::now();
        Self {
            opts,
            last_seen: now,
            next_ping: 0,
            in_flight: VecDeque::new(),
            samples: VecDeque::new(),
            tokens: opts.burst,
            refilled: now,
            dropped: 0,
            window: now,
            greeted: false,
        }
    }

    /// Payload of the next heartbeat ping (its sequence number).
    fn next_ping(&mut self) -> [u8; 8] {
        self.next_ping += 1;
        self.in_flight.push_back((self.next_ping, Instant::now()));
        if self.in_flight.len() > 4 {
            self.in_flight.pop_front();
        }
        self.next_ping.to_be_bytes()
    }

    /// Matches a pong to its ping; returns the new median RTT in ms.
    fn on_pong(&mut self, payload: &[u8]) -> Option<f64> {
        let seq = u64::from_be_bytes(payload.try_into().ok()?);
        let at = self.in_flight.iter().position(|(s, _)| *s == seq)?;
        let (_, sent) = self.in_flight.remove(at)?;
        self.samples.push_back(sent.elapsed().as_secs_f64() * 1000.0);
        if self.samples.len() > RTT_SAMPLES {
            self.samples.pop_front();
        }
        let mut sorted: Vec<f64> = self.samples.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        Some(sorted[sorted.len() / 2])
    }

    /// Token bucket: false when the message must be dropped.
    fn take_token(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.refilled).as_secs_f64() * self.opts.rate_per_sec;
        self.tokens = (self.tokens + refill).min(self.opts.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            if now.duration_since(self.window) > DROP_WINDOW {
                self.window = now;
                self.dropped = 0;
            }
            self.dropped += 1;
            false
        }
    }

    fn on_frame(&mut self, conn: ConnId, frame: Message) -> Step {
        self.last_seen = Instant::now();
        let text = match frame {
            Message::Close(_) => return Step::End,
            Message::Pong(payload) => {
                return match self.on_pong(&payload) {
                    Some(rtt_ms) => Step::Forward(Input::ServerRtt { conn, rtt_ms }),
                    None => Step::Nothing,
                };
            }
            // Answered by the WebSocket layer; raw frames are never produced on reads.
            Message::Ping(_) | Message::Frame(_) => return Step::Nothing,
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
        };
        let text = text.as_ref().map(|t| t.as_str());
        if !self.take_token() {
            return self.rate_limited(text.unwrap_or_default());
        }
        let Some(text) = text else {
            return Step::Reply(ServerMsg::error(ErrorCode::Malformed, "only JSON text messages are accepted", None));
        };
        if text.len() > MAX_MESSAGE_BYTES {
            let why = format!("a message may be at most {MAX_MESSAGE_BYTES} bytes; this one has {}", text.len());
            return Step::Reply(ServerMsg::error(ErrorCode::TooLarge, why, None));
        }
        match serde_json::from_str::<ClientMsg>(text) {
            Ok(msg) if text.len() > MAX_RELAYED_BYTES && relayed(&msg) => {
                let why = format!("`{}` may be at most {MAX_RELAYED_BYTES} bytes", msg.kind());
                Step::Reply(ServerMsg::error(ErrorCode::TooLarge, why, msg.seq()))
            }
            Ok(msg) => {
                self.greeted |= matches!(msg, ClientMsg::Hello { .. });
                Step::Forward(Input::Message { conn, msg })
            }
            Err(e) => Step::Reply(ServerMsg::error(ErrorCode::Malformed, malformed_reason(text, &e), seq_of(text))),
        }
    }

    /// Every dropped message is answered (so a client never waits for a reply that
    /// will not come); a client that keeps flooding is disconnected.
    fn rate_limited(&mut self, text: &str) -> Step {
        if self.dropped > MAX_DROPPED {
            tracing::warn!("a client keeps flooding; closing its socket");
            return Step::End;
        }
        let message = "too many messages; slow down (this one was dropped)";
        Step::Reply(ServerMsg::error(ErrorCode::RateLimited, message, seq_of(text)))
    }
}

/// Messages whose payload is relayed to other participants (and logged): a tighter
/// size limit, so one participant cannot flood partners or the data.
fn relayed(msg: &ClientMsg) -> bool {
    matches!(
        msg,
        ClientMsg::GameAction { .. }
            | ClientMsg::GameSignal { .. }
            | ClientMsg::GameComplete { .. }
            | ClientMsg::ProbeSignal { .. }
    )
}

/// The `seq` of a message that did not parse, if it has one, so the client can match
/// the error to its message.
fn seq_of(text: &str) -> Option<u64> {
    if text.len() > 4096 {
        return None; // not worth parsing twice
    }
    serde_json::from_str::<serde_json::Value>(text).ok()?.get("seq")?.as_u64()
}

fn malformed_reason(text: &str, e: &serde_json::Error) -> String {
    let reason = if serde_json::from_str::<serde_json::Value>(text).is_err() {
        format!("not valid JSON: {e}")
    } else {
        format!("not a valid message: {e}")
    };
    reason.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_rtt_is_the_median_of_recent_heartbeats() {
        let mut s = SocketState::new(SocketOptions::default());
        let first = s.next_ping();
        assert!(s.on_pong(&first).is_some());
        assert_eq!(s.on_pong(&first), None, "a pong is matched once");
        assert_eq!(s.on_pong(b"junk"), None);
        s.samples = [5.0, 1.0, 9.0, 3.0].into();
        let ping = s.next_ping();
        let median = s.on_pong(&ping).unwrap();
        assert!(median == 3.0 || median == 5.0, "median of the last five samples, got {median}");
        assert_eq!(s.samples.len(), RTT_SAMPLES);
    }

    /// A sink that records what it is fed and flushed.
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

    #[test]
    fn a_flood_is_cut_off_even_when_some_of_it_gets_through() {
        // 1,000 messages a second at a 50/s rate: accepted messages in between do not
        // reset the count of drops (they used to).
        let mut s = SocketState::new(SocketOptions { rate_per_sec: 50.0, burst: 100.0, ..SocketOptions::default() });
        let conn = ConnId(1);
        let mut ended = None;
        for i in 0..2000 {
            s.refilled -= Duration::from_millis(1); // one millisecond passes per message
            if let Step::End = s.on_frame(conn, Message::text(r#"{"type":"leave_waitroom"}"#)) {
                ended = Some(i);
                break;
            }
        }
        let at = ended.expect("the flood was cut off");
        assert!(at < 600, "cut off after {at} messages");
    }

    #[test]
    fn the_token_bucket_allows_a_burst_then_refuses() {
        let mut s = SocketState::new(SocketOptions { rate_per_sec: 0.001, burst: 3.0, ..SocketOptions::default() });
        assert!((0..3).all(|_| s.take_token()));
        assert!(!s.take_token());
        assert_eq!(s.dropped, 1);
    }
}
