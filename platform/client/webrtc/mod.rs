//! A real WebRTC peer for the Rust client (cargo feature `webrtc`, built on the sans-IO
//! `str0m`): it answers the host's probe protocol exactly like the browser's
//! `probe.js` — same signaling payloads (`{sdp: {type, sdp}}`, `{candidate: {...}}`),
//! same DataChannel label (`probe`) and ping format (`{"t":"ping","n":k,"ts":ms}` →
//! `{"t":"pong",...}`), same median-of-N measurement — so a Rust bot is a real
//! participant whose RTT is measured over a real DataChannel, and it can be paired
//! with a browser.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::ChannelId;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

use crate::protocol::{ClientMsg, ProbeId, ProbeRole, ServerMsg};

mod ping;

use ping::InFlight;

/// Local addresses to offer as host candidates: every IPv4 interface address (the
/// loopback included, so that two bots on one machine connect).
pub fn local_addresses() -> Vec<IpAddr> {
    let mut addrs: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|ifs| ifs.into_iter().map(|i| i.ip()).filter(IpAddr::is_ipv4).collect())
        .unwrap_or_default();
    if addrs.is_empty() {
        addrs.push(IpAddr::from([127, 0, 0, 1]));
    }
    addrs
}

/// Runs every probe of one participant.
pub struct Prober {
    addrs: Vec<IpAddr>,
    probes: HashMap<ProbeId, Peer>,
    /// Probes this peer could not set up, with why (reported after `probe_start`).
    failed: HashMap<ProbeId, String>,
    echo_skew_ms: Option<f64>,
}

impl Default for Prober {
    fn default() -> Self {
        Self::new(local_addresses())
    }
}

impl Prober {
    /// A prober offering host candidates on `addrs`.
    pub fn new(addrs: Vec<IpAddr>) -> Self {
        Self { addrs, probes: HashMap::new(), failed: HashMap::new(), echo_skew_ms: None }
    }

    /// A doctored peer, for tests of measurement integrity: it answers every ping
    /// with the ping's `ts` shifted by `skew_ms` (an honest peer must not be fooled).
    pub fn with_echo_skew(mut self, skew_ms: f64) -> Self {
        self.echo_skew_ms = Some(skew_ms);
        self
    }

    /// Handles a probe message from the host; returns what to send back. Other
    /// messages are ignored (`None`).
    pub async fn handle(&mut self, msg: &ServerMsg) -> Option<Vec<ClientMsg>> {
        let now = Instant::now();
        let out = match msg {
            ServerMsg::ProbePrepare { probe, role, pings, ping_timeout_ms, .. } => {
                match Peer::new(probe.clone(), *role, &self.addrs, *pings, *ping_timeout_ms, now).await {
                    Ok(mut peer) => {
                        peer.echo_skew_ms = self.echo_skew_ms;
                        self.probes.insert(probe.clone(), peer);
                        vec![ClientMsg::ProbeReady { probe: probe.clone(), seq: None }]
                    }
                    Err(e) => {
                        // Ready all the same: the failure is reported in its phase, after
                        // `probe_start` (a result before it would be refused).
                        self.failed.insert(probe.clone(), format!("cannot open a socket: {e}"));
                        vec![ClientMsg::ProbeReady { probe: probe.clone(), seq: None }]
                    }
                }
            }
            ServerMsg::ProbeStart { probe } => match self.probes.get_mut(probe) {
                Some(peer) => peer.start(),
                None => match self.failed.remove(probe) {
                    Some(why) => vec![result(probe, None, Some(why))],
                    None => Vec::new(),
                },
            },
            ServerMsg::ProbeSignal { probe, signal } => match self.probes.get_mut(probe) {
                Some(peer) => peer.on_signal(signal),
                None => Vec::new(),
            },
            ServerMsg::ProbeAbort { probe, .. } => {
                self.probes.remove(probe);
                Vec::new()
            }
            ServerMsg::MatchFound { .. } => {
                self.probes.clear();
                Vec::new()
            }
            _ => return None,
        };
        let mut out = out;
        for peer in self.probes.values_mut() {
            out.extend(peer.pump(now));
        }
        Some(out)
    }

    /// Waits for the next packet or timer of any probe, handles it, and returns what
    /// to send to the host. Pending forever while there is no probe.
    pub async fn drive(&mut self) -> Vec<ClientMsg> {
        if self.probes.is_empty() {
            return std::future::pending().await;
        }
        let deadline =
            self.probes.values().map(Peer::deadline).min().unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let mut reads = Vec::new();
        for (id, peer) in &self.probes {
            for (i, socket) in peer.sockets.iter().enumerate() {
                let id = id.clone();
                reads.push(Box::pin(async move {
                    let mut buf = vec![0u8; 2000];
                    let got = socket.recv_from(&mut buf).await;
                    (id, i, got.map(|(n, from)| (buf[..n].to_vec(), from)))
                }));
            }
        }
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
        let now;
        let received = tokio::select! {
            ((id, i, got), _, _) = futures_util::future::select_all(reads) => {
                now = Instant::now();
                got.ok().map(|(data, from)| (id, i, data, from))
            }
            () = sleep => {
                now = Instant::now();
                None
            }
        };
        if let Some((id, i, data, from)) = received
            && let Some(peer) = self.probes.get_mut(&id)
        {
            peer.receive(i, &data, from, now);
        }
        let mut out = Vec::new();
        for peer in self.probes.values_mut() {
            out.extend(peer.pump(now));
        }
        self.probes.retain(|_, p| !p.finished(now));
        out
    }

    /// Probes still running.
    pub fn running(&self) -> usize {
        self.probes.len()
    }
}

fn result(probe: &ProbeId, rtt_ms: Option<f64>, error: Option<String>) -> ClientMsg {
    ClientMsg::ProbeResult { probe: probe.clone(), rtt_ms, error, seq: None }
}

/// One probe's peer connection and measurement.
struct Peer {
    id: ProbeId,
    role: ProbeRole,
    rtc: Rtc,
    sockets: Vec<UdpSocket>,
    pending_offer: Option<SdpPendingOffer>,
    channel: Option<ChannelId>,
    epoch: Instant,
    pings: u32,
    ping_timeout: Duration,
    sent: u32,
    in_flight: Option<InFlight>,
    rtts: Vec<f64>,
    reported: bool,
    /// After reporting, the peer stays to answer the other side's pings until then.
    close_at: Option<Instant>,
    next_timeout: Instant,
    /// Doctored echo (tests only): added to every echoed `ts`.
    echo_skew_ms: Option<f64>,
    /// `probe_start` came.
    started: bool,
    /// A failure before `probe_start`, reported when it comes.
    failed_early: Option<String>,
}

impl Peer {
    async fn new(
        id: ProbeId,
        role: ProbeRole,
        addrs: &[IpAddr],
        pings: u32,
        ping_timeout_ms: u32,
        now: Instant,
    ) -> std::io::Result<Self> {
        let mut rtc = Rtc::builder().build(now);
        let mut sockets = Vec::new();
        let mut last_error = None;
        for ip in addrs {
            // An address can vanish between listing and binding (an interface going
            // down): use the others.
            let socket = match UdpSocket::bind(SocketAddr::new(*ip, 0)).await {
                Ok(socket) => socket,
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            };
            if let Ok(candidate) = Candidate::host(socket.local_addr()?, "udp") {
                rtc.add_local_candidate(candidate);
            }
            sockets.push(socket);
        }
        if sockets.is_empty() {
            return Err(last_error.unwrap_or_else(|| std::io::Error::other("no local address to probe from")));
        }
        Ok(Self {
            id,
            role,
            rtc,
            sockets,
            pending_offer: None,
            channel: None,
            epoch: now,
            pings: pings.max(1),
            ping_timeout: Duration::from_millis(u64::from(ping_timeout_ms)),
            sent: 0,
            in_flight: None,
            rtts: Vec::new(),
            reported: false,
            close_at: None,
            next_timeout: now,
            echo_skew_ms: None,
            started: false,
            failed_early: None,
        })
    }

    /// `probe_start`: the offerer opens the channel and sends its offer.
    fn start(&mut self) -> Vec<ClientMsg> {
        self.started = true;
        if let Some(why) = self.failed_early.take() {
            return self.fail(&why);
        }
        if self.role != ProbeRole::Offerer {
            return Vec::new();
        }
        let mut api = self.rtc.sdp_api();
        api.add_channel("probe".to_owned());
        let Some((offer, pending)) = api.apply() else { return Vec::new() };
        self.pending_offer = Some(pending);
        vec![self.signal(serde_json::json!({"sdp": {"type": "offer", "sdp": offer.to_sdp_string()}}))]
    }

    fn signal(&self, signal: serde_json::Value) -> ClientMsg {
        ClientMsg::ProbeSignal { probe: self.id.clone(), signal, seq: None }
    }

    /// Signaling from the peer: an offer (answered), an answer, or an ICE candidate
    /// (browsers' mDNS `.local` candidates cannot be resolved here and are skipped;
    /// the peer then reaches our host candidates and is learned as peer-reflexive).
    fn on_signal(&mut self, signal: &serde_json::Value) -> Vec<ClientMsg> {
        if let Some(sdp) = signal.get("sdp") {
            let kind = sdp.get("type").and_then(|t| t.as_str()).unwrap_or_default();
            let text = sdp.get("sdp").and_then(|t| t.as_str()).unwrap_or_default();
            match kind {
                "offer" => {
                    let Ok(offer) = SdpOffer::from_sdp_string(text) else { return self.fail("unreadable offer") };
                    let Ok(answer) = self.rtc.sdp_api().accept_offer(offer) else { return self.fail("offer refused") };
                    return vec![
                        self.signal(serde_json::json!({"sdp": {"type": "answer", "sdp": answer.to_sdp_string()}})),
                    ];
                }
                "answer" => {
                    let (Ok(answer), Some(pending)) = (SdpAnswer::from_sdp_string(text), self.pending_offer.take())
                    else {
                        return self.fail("unexpected answer");
                    };
                    if self.rtc.sdp_api().accept_answer(pending, answer).is_err() {
                        return self.fail("answer refused");
                    }
                }
                _ => {}
            }
        } else if let Some(line) = signal.get("candidate").and_then(|c| c.get("candidate")).and_then(|c| c.as_str())
            && let Ok(candidate) = Candidate::from_sdp_string(line.trim_start_matches("a="))
        {
            self.rtc.add_remote_candidate(candidate);
        }
        Vec::new()
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

    fn receive(&mut self, socket: usize, data: &[u8], from: SocketAddr, now: Instant) {
        let Ok(destination) = self.sockets[socket].local_addr() else { return };
        let Ok(contents) = data.try_into() else { return };
        let input = Input::Receive(now, Receive { proto: Protocol::Udp, source: from, destination, contents });
        if self.rtc.accepts(&input) {
            let _ = self.rtc.handle_input(input);
        }
    }

    /// The next time this peer needs attention.
    fn deadline(&self) -> Instant {
        let ping = self.in_flight.as_ref().map(|p| p.deadline);
        [Some(self.next_timeout), ping, self.close_at].into_iter().flatten().min().expect("next_timeout is set")
    }

    fn finished(&self, now: Instant) -> bool {
        self.close_at.is_some_and(|t| t <= now)
    }

    /// Advances time, drains str0m's output, and runs the ping-pong; returns messages
    /// for the host (the result, once measured).
    fn pump(&mut self, now: Instant) -> Vec<ClientMsg> {
        let mut out = Vec::new();
        let _ = self.rtc.handle_input(Input::Timeout(now));
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
            if self.channel.is_some() && self.in_flight.is_none() && !self.reported {
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

    /// Drains str0m's output until its next timeout; false if the connection failed.
    fn drain(&mut self, now: Instant, out: &mut Vec<ClientMsg>) -> bool {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    return true;
                }
                Ok(Output::Transmit(t)) => {
                    if let Some(socket) = self.sockets.iter().find(|s| s.local_addr().ok() == Some(t.source)) {
                        let _ = socket.try_send_to(&t.contents, t.destination);
                    }
                }
                Ok(Output::Event(Event::ChannelOpen(id, _))) => self.channel = Some(id),
                Ok(Output::Event(Event::ChannelData(d))) => self.on_channel_data(&d.data, now),
                Ok(Output::Event(_)) => {}
                Err(_) => {
                    out.extend(self.fail("the WebRTC connection failed"));
                    return false;
                }
            }
        }
    }
}
