//! What one socket makes of incoming frames: size and rate limits (a token bucket, and
//! a flood cut-off over a window), parsing into client messages, and the heartbeat
//! pongs that give the server round-trip time.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::socket::SocketOptions;
use crate::experiment::{ConnId, Input};
use crate::protocol::{ClientMsg, ErrorCode, MAX_MESSAGE_BYTES, MAX_RELAYED_BYTES, ServerMsg};

/// Server RTT = median of this many recent heartbeats.
const RTT_SAMPLES: usize = 5;
/// Rate-limited messages within [`DROP_WINDOW`] before the connection is closed: a
/// client that keeps sending faster than its rate is cut off, however many of its
/// messages get through in between.
const MAX_DROPPED: u32 = 200;
const DROP_WINDOW: Duration = Duration::from_secs(10);

/// What to do with one incoming frame.
pub(super) enum Step {
    Forward(Input),
    Reply(ServerMsg),
    Nothing,
    End,
}

/// Per-connection bookkeeping: liveness, pings in flight, RTT samples, rate bucket.
pub(super) struct SocketState {
    opts: SocketOptions,
    pub(super) last_seen: Instant,
    next_ping: u64,
    in_flight: VecDeque<(u64, Instant)>,
    samples: VecDeque<f64>,
    tokens: f64,
    refilled: Instant,
    /// Rate-limited messages in the current window, and when it began.
    dropped: u32,
    window: Instant,
    /// A `hello` was forwarded.
    pub(super) greeted: bool,
}

impl SocketState {
    pub(super) fn new(opts: SocketOptions) -> Self {
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
    pub(super) fn next_ping(&mut self) -> [u8; 8] {
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

    pub(super) fn on_frame(&mut self, conn: ConnId, frame: Message) -> Step {
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
        ClientMsg::GameInputs { .. }
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
