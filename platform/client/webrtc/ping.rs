//! The measurement over the probe's DataChannel: each side sends its pings one after
//! another (a random tag per ping, which the pong must echo), times each from its own
//! send time, answers the other side's pings, and reports the median.

use std::time::Instant;

use super::{Peer, result};
use crate::protocol::ClientMsg;

/// A ping in flight.
pub(super) struct InFlight {
    n: u32,
    /// The random tag its pong must echo (ping numbers alone are predictable).
    nonce: String,
    /// When it left: the RTT is measured from here, never from the `ts` the peer
    /// echoes (which a doctored peer could shift).
    sent_at: Instant,
    pub(super) deadline: Instant,
}

impl Peer {
    pub(super) fn send_ping(&mut self) {
        // Stamped when it actually leaves, not when the pump started.
        let now = Instant::now();
        self.sent += 1;
        let ts = now.duration_since(self.epoch).as_secs_f64() * 1000.0;
        let nonce = format!("{:016x}", rand::random::<u64>());
        let ping = serde_json::json!({"t": "ping", "n": self.sent, "ts": ts, "r": nonce}).to_string();
        if self.conn.write(&ping) {
            self.in_flight = Some(InFlight { n: self.sent, nonce, sent_at: now, deadline: now + self.ping_timeout });
        }
    }

    pub(super) fn on_channel_data(&mut self, data: &[u8], now: Instant) {
        let Ok(msg) = serde_json::from_slice::<serde_json::Value>(data) else { return };
        match msg.get("t").and_then(|t| t.as_str()) {
            Some("ping") => {
                let ts = match (msg["ts"].as_f64(), self.echo_skew_ms) {
                    (Some(ts), Some(skew)) => serde_json::json!(ts + skew),
                    _ => msg["ts"].clone(),
                };
                let pong = serde_json::json!({"t": "pong", "n": msg["n"], "ts": ts, "r": msg["r"]}).to_string();
                self.conn.write(&pong);
            }
            Some("pong") => {
                let n = msg.get("n").and_then(|n| n.as_u64()).unwrap_or(0);
                let nonce = msg.get("r").and_then(|r| r.as_str());
                if let Some(flight) = &self.in_flight
                    && u64::from(flight.n) == n
                    && nonce == Some(flight.nonce.as_str())
                {
                    self.rtts.push(now.duration_since(flight.sent_at).as_secs_f64() * 1000.0);
                    self.in_flight = None;
                }
            }
            _ => {}
        }
    }

    pub(super) fn report(&mut self, now: Instant) -> Vec<ClientMsg> {
        self.reported = true;
        // It stays to answer the other side's pings; a measured one longer, for the
        // game of a group that may form (the host drops it with `probe_abort`).
        self.close_at = Some(now + self.ping_timeout * self.pings);
        if self.rtts.is_empty() {
            return vec![result(&self.id, None, Some("no ping came back".to_owned()))];
        }
        self.close_at = Some(now + (self.ping_timeout * self.pings).max(super::KEEP_FOR_GAME));
        let mut sorted = self.rtts.clone();
        sorted.sort_by(f64::total_cmp);
        vec![result(&self.id, Some(sorted[sorted.len() / 2]), None)]
    }
}
