//! A real WebRTC peer for the Rust client (cargo feature `webrtc`, built on the sans-IO
//! `str0m`): it answers the host's probe protocol exactly like the browser's
//! `probe.js` — same signaling payloads (`{sdp: {type, sdp}}`, `{candidate: {...}}`),
//! same DataChannel label (`probe`) and ping format (`{"t":"ping","n":k,"ts":ms}` →
//! `{"t":"pong",...}`), same median-of-N measurement — so a Rust bot is a real
//! participant whose RTT is measured over a real DataChannel, and it can be paired
//! with a browser. Once a group is formed it keeps the probe's channels for the game and
//! plays over them like `lockstep.js` ([`game`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::protocol::{ClientMsg, ParticipantId, ProbeId, ProbeRole, ServerMsg};

mod conn;
mod game;
mod ping;

use conn::Conn;
pub use game::{GameLinks, PeerInputs, REOPEN_TRIES};
use ping::InFlight;

/// How long a measured probe's channel is kept for a game that may follow (the group's
/// other probes and its ready-check), unless the host drops it first.
const KEEP_FOR_GAME: Duration = Duration::from_secs(120);

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
    /// The probes' open connections of a group just formed, by partner, until its game
    /// starts.
    kept: HashMap<ParticipantId, Conn>,
    /// The channels of the game being played.
    game: Option<GameLinks>,
    /// What the game's channels brought since last asked.
    came: (Vec<PeerInputs>, bool),
}

impl Default for Prober {
    fn default() -> Self {
        Self::new(local_addresses())
    }
}

impl Prober {
    /// A prober offering host candidates on `addrs`.
    pub fn new(addrs: Vec<IpAddr>) -> Self {
        Self {
            addrs,
            probes: HashMap::new(),
            failed: HashMap::new(),
            echo_skew_ms: None,
            kept: HashMap::new(),
            game: None,
            came: (Vec::new(), false),
        }
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
            ServerMsg::ProbePrepare { probe, peer, role, pings, ping_timeout_ms, .. } => {
                match Peer::new(probe.clone(), *peer, *role, &self.addrs, (*pings, *ping_timeout_ms), now).await {
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
            ServerMsg::MatchFound { players, .. } => {
                // The probes with the group's members leave their channels to the game.
                self.kept.clear();
                for (_, peer) in self.probes.drain() {
                    if players.contains(&peer.peer) && peer.conn.open() {
                        self.kept.insert(peer.peer, peer.conn);
                    }
                }
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

    /// Messages about the game being played: `start_game` adopts the kept channels
    /// (and offers the missing ones), `game_signal` opens or answers one, the game's
    /// end closes them. Returns what to send to the host.
    pub async fn follow_game(&mut self, msg: &ServerMsg) -> Vec<ClientMsg> {
        match msg {
            ServerMsg::StartGame { game, players, slot, .. } => {
                if self.game.as_ref().is_some_and(|g| g.game == *game) {
                    return Vec::new(); // the same game again (a resume): channels kept
                }
                let (links, out) =
                    GameLinks::start(*game, *slot, players.clone(), self.addrs.clone(), &mut self.kept).await;
                self.kept.clear();
                self.game = Some(links);
                out
            }
            ServerMsg::GameSignal { game, from, signal } => match self.game.as_mut() {
                Some(links) if links.game == *game => links.on_signal(*from, signal).await,
                _ => Vec::new(),
            },
            ServerMsg::GameEnd { .. } | ServerMsg::Outcome { .. } => {
                self.game = None;
                self.kept.clear();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Closes the game's channels (the bot left and comes back as a reloaded page).
    pub fn forget_game(&mut self) {
        self.game = None;
    }

    /// The game's channels, if a game is being played.
    pub fn game(&mut self) -> Option<&mut GameLinks> {
        self.game.as_mut()
    }

    /// The partners' inputs that came over the game's channels since last asked, and
    /// whether a channel closed meanwhile.
    pub fn take_game_news(&mut self) -> (Vec<PeerInputs>, bool) {
        std::mem::take(&mut self.came)
    }

    /// Waits for the next packet or timer of any probe or game channel, handles it,
    /// and returns what to send to the host. Pending forever while there is none.
    pub async fn drive(&mut self) -> Vec<ClientMsg> {
        let game_deadline = self.game.as_ref().and_then(GameLinks::deadline);
        if self.probes.is_empty() && game_deadline.is_none() {
            return std::future::pending().await;
        }
        let deadline = self
            .probes
            .values()
            .map(Peer::deadline)
            .chain(game_deadline)
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        // Each readable socket: (a probe or a game slot, socket number).
        let mut reads = Vec::new();
        let probes = self.probes.iter().map(|(id, p)| (Some(id.clone()), 0, p.conn.sockets.as_slice()));
        let games = self.game.iter().flat_map(|g| g.sockets()).map(|(slot, sockets)| (None, slot, sockets));
        for (id, slot, sockets) in probes.chain(games) {
            for (i, socket) in sockets.iter().enumerate() {
                let id = id.clone();
                reads.push(Box::pin(async move {
                    let mut buf = vec![0u8; 2000];
                    let got = socket.recv_from(&mut buf).await;
                    ((id, slot, i), got.map(|(n, from)| (buf[..n].to_vec(), from)))
                }));
            }
        }
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
        let now;
        let received = if reads.is_empty() {
            drop(reads);
            sleep.await;
            now = Instant::now();
            None
        } else {
            tokio::select! {
                ((at, got), _, _) = futures_util::future::select_all(reads) => {
                    now = Instant::now();
                    got.ok().map(|(data, from)| (at, data, from))
                }
                () = sleep => {
                    now = Instant::now();
                    None
                }
            }
        };
        match received {
            Some(((Some(id), _, i), data, from)) => {
                if let Some(peer) = self.probes.get_mut(&id) {
                    peer.conn.receive(i, &data, from, now);
                }
            }
            Some(((None, slot, i), data, from)) => {
                if let Some(game) = self.game.as_mut() {
                    game.receive(slot, i, &data, from, now);
                }
            }
            None => {}
        }
        let mut out = Vec::new();
        for peer in self.probes.values_mut() {
            out.extend(peer.pump(now));
        }
        self.probes.retain(|_, p| !p.finished(now));
        if let Some(game) = self.game.as_mut() {
            let (inputs, closed, signals) = game.pump(now).await;
            self.came.0.extend(inputs);
            self.came.1 |= closed;
            out.extend(signals);
        }
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
    /// The participant at the other end.
    peer: ParticipantId,
    role: ProbeRole,
    conn: Conn,
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
    echo_skew_ms: Option<f64>,
    /// `probe_start` came.
    started: bool,
    /// A failure before `probe_start`, reported when it comes.
    failed_early: Option<String>,
}

impl Peer {
    async fn new(
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
    fn start(&mut self) -> Vec<ClientMsg> {
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
    fn on_signal(&mut self, signal: &serde_json::Value) -> Vec<ClientMsg> {
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
    fn deadline(&self) -> Instant {
        let ping = self.in_flight.as_ref().map(|p| p.deadline);
        [Some(self.conn.deadline()), ping, self.close_at].into_iter().flatten().min().expect("next_timeout is set")
    }

    fn finished(&self, now: Instant) -> bool {
        self.close_at.is_some_and(|t| t <= now)
    }

    /// Advances time, drains str0m's output, and runs the ping-pong; returns messages
    /// for the host (the result, once measured).
    fn pump(&mut self, now: Instant) -> Vec<ClientMsg> {
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
            if !self.conn.drain(&mut data) {
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
}
