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

use crate::protocol::{ClientMsg, ParticipantId, ProbeId, ServerMsg};

mod conn;
mod game;
mod probe;

use conn::Conn;
pub use game::{GameLinks, PeerInputs};
use probe::{Peer, result};

/// How long a measured probe's channel is kept for a game that may follow (the group's
/// other probes and its ready-check), unless the host drops it first.
const KEEP_FOR_GAME: Duration = Duration::from_secs(120);
/// Messages kept from a partner whose game has not started here yet.
const MAX_EARLY: usize = 64;

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
    /// starts (with what came on them meanwhile, at most `MAX_EARLY` messages each).
    kept: HashMap<ParticipantId, (Conn, Vec<Vec<u8>>)>,
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
                        self.kept.insert(peer.peer, (peer.conn, Vec::new()));
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
            ServerMsg::StartGame { game, players, slot, inputs, seat_changes, .. } => {
                if self.game.as_ref().is_some_and(|g| g.game == *game) {
                    return Vec::new(); // the same game again (a resume): channels kept
                }
                let resumed = inputs.iter().any(|i| !i.is_empty());
                let changed = seat_changes.iter().map(|c| c.slot).collect();
                let (addrs, seats) = (self.addrs.clone(), (*game, *slot, players.clone()));
                let (links, out) = GameLinks::start(seats, addrs, &mut self.kept, resumed, changed).await;
                self.kept.clear();
                self.game = Some(links);
                out
            }
            ServerMsg::GameSignal { game, from, signal } => match self.game.as_mut() {
                Some(links) if links.game == *game => links.on_signal(*from, signal).await,
                _ => Vec::new(),
            },
            ServerMsg::SeatChange { game, slot, .. } => {
                if let Some(links) = self.game.as_mut().filter(|g| g.game == *game) {
                    links.seat_changed(*slot);
                }
                Vec::new()
            }
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
        if self.probes.is_empty() && self.kept.is_empty() && game_deadline.is_none() {
            return std::future::pending().await;
        }
        let deadline = self
            .probes
            .values()
            .map(Peer::deadline)
            .chain(game_deadline)
            .chain(self.kept.values().map(|(c, _)| c.deadline()))
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        // Each readable socket: where it belongs, and its number.
        let mut reads = Vec::new();
        let probes = self.probes.iter().map(|(id, p)| (Owner::Probe(id.clone()), p.conn.sockets.as_slice()));
        let kept = self.kept.iter().map(|(p, (c, _))| (Owner::Kept(*p), c.sockets.as_slice()));
        let games = self.game.iter().flat_map(|g| g.sockets()).map(|(slot, sockets)| (Owner::Game(slot), sockets));
        for (owner, sockets) in probes.chain(kept).chain(games) {
            for (i, socket) in sockets.iter().enumerate() {
                let owner = owner.clone();
                reads.push(Box::pin(async move {
                    let mut buf = vec![0u8; 2000];
                    let got = socket.recv_from(&mut buf).await;
                    ((owner, i), got.map(|(n, from)| (buf[..n].to_vec(), from)))
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
            Some(((Owner::Probe(id), i), data, from)) => {
                if let Some(peer) = self.probes.get_mut(&id) {
                    peer.conn.receive(i, &data, from, now);
                }
            }
            Some(((Owner::Kept(peer), i), data, from)) => {
                if let Some((conn, _)) = self.kept.get_mut(&peer) {
                    conn.receive(i, &data, from, now);
                }
            }
            Some(((Owner::Game(slot), i), data, from)) => {
                if let Some(game) = self.game.as_mut() {
                    game.receive(slot, i, &data, from, now);
                }
            }
            None => {}
        }
        for (conn, early) in self.kept.values_mut() {
            // A partner may start a little sooner: what it sends waits for the game.
            conn.tick(now);
            let mut data = Vec::new();
            conn.drain(now, &mut data);
            let room = MAX_EARLY.saturating_sub(early.len());
            early.extend(data.into_iter().take(room));
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

/// What a socket being read belongs to.
#[derive(Clone)]
enum Owner {
    Probe(ProbeId),
    /// A kept probe connection, by partner.
    Kept(ParticipantId),
    /// The game's channel with a slot.
    Game(usize),
}
