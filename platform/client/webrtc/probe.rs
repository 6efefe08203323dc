//! One probe (docs/protocol.md §6): its connection, then the measurement over the
//! probe's DataChannel: each side sends its pings one after another (a random tag per
//! ping, which the pong must echo), times each from its own send time, answers the
//! other side's pings, and reports the median.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::conn::Conn;
use crate::protocol::{ClientMsg, ParticipantId, ProbeId, ProbeRole};

pub(super) fn result(probe: &ProbeId, rtt_ms: Option<f64>, error: Option<String>) -> ClientMsg {
    ClientMsg::ProbeResult { probe: probe.clone(), rtt_ms, error, seq: None }
}

/// A ping in flight.
struct InFlight {
    n: u32,
    /// The random tag its pong must echo (ping numbers alone are predictable).
    nonce: String,
    /// When it left: the RTT is measured from here, never from the `ts` the peer
    /// echoes (which a doctored peer could shift).
    sent_at: Instant,
    deadline: Instant,
}

/// One probe's peer connection and measurement.
pub(super) struct Peer {
    id: ProbeId,
    /// The participant at the other end.
    pub(super) peer: ParticipantId,
    role: ProbeRole,
    pub(super) conn: Conn,
    epoch: Instant,
    pings: u32,
    ping_timeout: Duration,
    sent: u32,
    in_flight: Option<InFlight>,
    rtts: Vec<f64>,
    reported: bool,
    /// After reporting, the peer stays to answer the other side's pings until then.
    close_at: Option<Instant>,
    /// Doctored echo (tests only): added to every echoed `ts`.
    pub(super) echo_skew_ms: Option<f64>,
    /// `probe_start` came.
    started: bool,
    /// A failure before `probe_start`, reported when it comes.
    failed_early: Option<String>,
}

impl Peer {
    pub(super) async fn new(
        id: ProbeId,
        peer: ParticipantId,
        role: ProbeRole,
        addrs: &[IpAddr],
        (pings, ping_timeout_ms): (u32, u32),
        now: Instant,
    ) -> std::io::Result<Self> {
        Ok(Self {
            id,
            peer,
            role,
            conn: Conn::bind(addrs, now).await?,
            epoch: now,
            pings: pings.max(1),
            ping_timeout: Duration::from_millis(u64::from(ping_timeout_ms)),
            sent: 0,
            in_flight: None,
            rtts: Vec::new(),
            reported: false,
            close_at: None,
            echo_skew_ms: None,
            started: false,
            failed_early: None,
        })
    }

    /// `probe_start`: the offerer opens the channel and sends its offer.
    pub(super) fn start(&mut self) -> Vec<ClientMsg> {
        self.started = true;
        if let Some(why) = self.failed_early.take() {
            return self.fail(&why);
        }
        if self.role != ProbeRole::Offerer {
            return Vec::new();
        }
        self.conn.offer("probe").map(|offer| self.signal(offer)).into_iter().collect()
    }

    fn signal(&self, signal: serde_json::Value) -> ClientMsg {
        ClientMsg::ProbeSignal { probe: self.id.clone(), signal, seq: None }
    }

    /// Signaling from the peer (see [`Conn::on_signal`]).
    pub(super) fn on_signal(&mut self, signal: &serde_json::Value) -> Vec<ClientMsg> {
        match self.conn.on_signal(signal) {
            Ok(answer) => answer.map(|a| self.signal(a)).into_iter().collect(),
            Err(why) => self.fail(why),
        }
    }

    fn fail(&mut self, why: &str) -> Vec<ClientMsg> {
        if self.reported {
            return Vec::new();
        }
        if !self.started {
            // A result before `probe_start` would be refused: it waits for the start.
            self.failed_early.get_or_insert_with(|| why.to_owned());
            return Vec::new();
        }
        self.reported = true;
        self.close_at = Some(Instant::now());
        vec![result(&self.id, None, Some(why.to_owned()))]
    }

    /// The next time this peer needs attention.
    pub(super) fn deadline(&self) -> Instant {
        let ping = self.in_flight.as_ref().map(|p| p.deadline);
        [Some(self.conn.deadline()), ping, self.close_at].into_iter().flatten().min().expect("next_timeout is set")
    }

    pub(super) fn finished(&self, now: Instant) -> bool {
        self.close_at.is_some_and(|t| t <= now)
    }

    /// Advances time, drains str0m's output, and runs the ping-pong; returns messages
    /// for the host (the result, once measured).
    pub(super) fn pump(&mut self, now: Instant) -> Vec<ClientMsg> {
        let mut out = Vec::new();
        self.conn.tick(now);
        if let Some(flight) = &self.in_flight
            && flight.deadline <= now
        {
            self.in_flight = None; // lost: go on with the next ping
        }
        loop {
            if !self.drain(now, &mut out) {
                break;
            }
            // A ping written now must leave now (drained again), or the RTT would
            // include the wait for str0m's next timer.
            if self.conn.channel.is_some() && self.in_flight.is_none() && !self.reported {
                if self.sent < self.pings {
                    self.send_ping();
                    continue;
                }
                out.extend(self.report(now));
            }
            break;
        }
        out
    }

    /// Drains the connection's output and answers what came on the channel, until
    /// nothing is left to send; false if the connection failed.
    fn drain(&mut self, now: Instant, out: &mut Vec<ClientMsg>) -> bool {
        loop {
            let mut data = Vec::new();
            if !self.conn.drain(now, &mut data) {
                out.extend(self.fail("the WebRTC connection failed"));
                return false;
            }
            if data.is_empty() {
                return true;
            }
            // A pong written now must leave now (drained again), or the peer's RTT
            // would include the wait for str0m's next timer.
            for d in data {
                self.on_channel_data(&d, now);
            }
        }
    }

    fn send_ping(&mut self) {
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

    fn on_channel_data(&mut self, data: &[u8], now: Instant) {
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

    fn report(&mut self, now: Instant) -> Vec<ClientMsg> {
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
