//! A game's peer-to-peer channels, as the page's `lockstep.js` holds them
//! (docs/games.md §4): the probe's channel with each partner when the probe left one,
//! else one opened through `game_signal` (the lower slot offers, label `game`); a
//! channel that closes is opened again by the lower slot after 1 s, then 2, 4, 8 and
//! 16 s while none is open (five tries per partner), and the higher slot answers any
//! new offer, as many times. A resumed game (the bot came back) opens its channels as
//! after a closed one. A seat that changed hands has no channel: a player who left
//! cannot reach the game, and a newcomer's inputs come through the relay. Inputs go
//! out as `{"t":"in","k":from,"v":[…]}`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::conn::Conn;
use crate::protocol::{ClientMsg, GameId, ParticipantId};

use crate::game::lockstep::{MAX_BATCH, REOPEN_TRIES};

/// A closed channel is opened again after this long, doubling.
const REOPEN: Duration = Duration::from_millis(crate::game::lockstep::REOPEN_MS);
/// Most messages per channel in one send (a new channel catches up from tick 0).
const MAX_MESSAGES: usize = 16;
/// Largest channel message read, in bytes.
const MAX_MESSAGE: usize = 32 * 1024;
/// A peer ICE lost for this long is gone (a briefer loss recovers).
const LOST: Duration = Duration::from_secs(3);

/// A partner's inputs that came over a channel: slot, first tick, inputs.
pub type PeerInputs = (usize, u64, Vec<Value>);

struct Link {
    conn: Conn,
    /// Own inputs sent over this channel so far.
    sent: usize,
    /// Its closing was seen.
    seen_closed: bool,
}

/// The channels of one game.
pub struct GameLinks {
    pub game: GameId,
    slot: usize,
    players: Vec<ParticipantId>,
    addrs: Vec<IpAddr>,
    links: HashMap<usize, Link>,
    /// New channels tried (or answered) per partner after one closed.
    tries: HashMap<usize, u32>,
    /// When the lower slot looks at a closed channel again.
    reopen_at: HashMap<usize, Instant>,
    /// The game is over for this copy (no channel is opened again).
    pub over: bool,
    /// Seats whose player left (no channel with them any more).
    changed: Vec<usize>,
    /// Partner inputs that came and were not yet handed over.
    inbox: Vec<PeerInputs>,
}

impl GameLinks {
    /// The game's channels: `kept` are the probe's open connections by partner (and
    /// what came on them since the group formed); the others are offered now by the
    /// lower slot, or (`resumed`) after a second as for a closed channel. `changed`:
    /// seats whose player left before (none with them).
    pub(super) async fn start(
        (game, slot, players): (GameId, usize, Vec<ParticipantId>),
        addrs: Vec<IpAddr>,
        kept: &mut HashMap<ParticipantId, (Conn, Vec<Vec<u8>>)>,
        resumed: bool,
        changed: Vec<usize>,
    ) -> (Self, Vec<ClientMsg>) {
        let mut links = Self {
            game,
            slot,
            players,
            addrs,
            links: HashMap::new(),
            tries: HashMap::new(),
            reopen_at: HashMap::new(),
            over: false,
            changed,
            inbox: Vec::new(),
        };
        let mut out = Vec::new();
        let now = Instant::now();
        for s in 0..links.players.len() {
            if s == slot || links.changed.contains(&s) {
                continue;
            }
            match kept.remove(&links.players[s]) {
                Some((conn, early)) if conn.open() => {
                    links.inbox.extend(early.iter().filter_map(|d| read_inputs(s, d)));
                    links.links.insert(s, Link { conn, sent: 0, seen_closed: false });
                }
                _ if resumed => links.schedule_reopen(s, now),
                _ if slot < s => out.extend(links.offer(s).await),
                _ => {}
            }
        }
        (links, out)
    }

    /// The player of `slot` left for good (`seat_change`): their channel is closed and
    /// none is opened or answered for that seat again.
    pub fn seat_changed(&mut self, slot: usize) {
        self.links.remove(&slot);
        self.reopen_at.remove(&slot);
        self.inbox.retain(|(s, _, _)| *s != slot);
        if !self.changed.contains(&slot) {
            self.changed.push(slot);
        }
    }

    async fn offer(&mut self, s: usize) -> Vec<ClientMsg> {
        let Ok(mut conn) = Conn::bind(&self.addrs, Instant::now()).await else { return Vec::new() };
        let Some(offer) = conn.offer("game") else { return Vec::new() };
        self.links.insert(s, Link { conn, sent: 0, seen_closed: false });
        vec![self.signal(s, offer)]
    }

    fn signal(&self, s: usize, signal: Value) -> ClientMsg {
        ClientMsg::GameSignal { game: self.game, to: self.players[s], signal, seq: None }
    }

    /// `game_signal` from a partner: an offer on a channel that already had one (or
    /// on none) is a new channel, answered as many times as the partner may try.
    pub(super) async fn on_signal(&mut self, from: ParticipantId, signal: &Value) -> Vec<ClientMsg> {
        let Some(s) = self.players.iter().position(|p| *p == from).filter(|s| *s != self.slot) else {
            return Vec::new();
        };
        if self.changed.contains(&s) {
            return Vec::new(); // they left the game
        }
        let offer = signal.get("sdp").and_then(|d| d.get("type")).and_then(Value::as_str) == Some("offer");
        let link = self.links.get(&s);
        let fresh = offer && link.is_none_or(|l| l.conn.described);
        let tries = self.tries.get(&s).copied().unwrap_or(0);
        if fresh && self.slot > s && tries <= REOPEN_TRIES && !self.over {
            if link.is_some() {
                self.tries.insert(s, tries + 1);
            }
            let Ok(conn) = Conn::bind(&self.addrs, Instant::now()).await else { return Vec::new() };
            self.links.insert(s, Link { conn, sent: 0, seen_closed: false });
        }
        let Some(link) = self.links.get_mut(&s) else { return Vec::new() };
        match link.conn.on_signal(signal) {
            Ok(Some(answer)) => vec![self.signal(s, answer)],
            _ => Vec::new(),
        }
    }

    /// The connections' sockets, by slot (what to read from).
    pub(super) fn sockets(&self) -> impl Iterator<Item = (usize, &[tokio::net::UdpSocket])> {
        self.links.iter().map(|(s, l)| (*s, l.conn.sockets.as_slice()))
    }

    pub(super) fn receive(&mut self, s: usize, socket: usize, data: &[u8], from: std::net::SocketAddr, now: Instant) {
        if let Some(link) = self.links.get_mut(&s) {
            link.conn.receive(socket, data, from, now);
        }
    }

    /// The next time a connection or a reopening needs attention.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.links.values().map(|l| l.conn.deadline()).chain(self.reopen_at.values().copied()).min()
    }

    /// Lets time pass: the partners' inputs that came, whether a channel closed (the
    /// game then asks for the relay), and signaling for channels opened again.
    pub(super) async fn pump(&mut self, now: Instant) -> (Vec<PeerInputs>, bool, Vec<ClientMsg>) {
        let mut closed = false;
        let mut reopen = Vec::new();
        for (s, link) in &mut self.links {
            link.conn.tick(now);
            let mut data = Vec::new();
            link.conn.drain(now, &mut data);
            self.inbox.extend(data.iter().filter_map(|d| read_inputs(*s, d)));
            if link.conn.gone(now, LOST) && !link.seen_closed {
                link.seen_closed = true;
                closed = true;
                reopen.push(*s);
            }
        }
        for s in reopen {
            self.schedule_reopen(s, now);
        }
        let mut out = Vec::new();
        let due: Vec<usize> = self.reopen_at.iter().filter(|(_, t)| **t <= now).map(|(s, _)| *s).collect();
        for s in due {
            self.reopen_at.remove(&s);
            if self.over || self.links.get(&s).is_some_and(|l| l.conn.open() && !l.conn.gone(now, LOST)) {
                continue;
            }
            out.extend(self.offer(s).await);
            self.schedule_reopen(s, now); // looked at again: one that never opens is tried anew
        }
        (std::mem::take(&mut self.inbox), closed, out)
    }

    /// The lower slot tries a new channel after 1 s, doubling, while tries are left.
    fn schedule_reopen(&mut self, s: usize, now: Instant) {
        let tries = self.tries.get(&s).copied().unwrap_or(0);
        if self.slot > s || tries >= REOPEN_TRIES || self.over || self.changed.contains(&s) {
            return;
        }
        self.tries.insert(s, tries + 1);
        self.reopen_at.insert(s, now + REOPEN * 2u32.pow(tries));
    }

    /// Sends this seat's inputs each open channel has not had yet.
    pub fn send_inputs(&mut self, own: &[Value]) {
        let now = Instant::now();
        for (s, link) in &mut self.links {
            if !link.conn.open() {
                continue;
            }
            for _ in 0..MAX_MESSAGES {
                if link.sent >= own.len() {
                    break;
                }
                let end = own.len().min(link.sent + MAX_BATCH);
                let msg = serde_json::json!({"t": "in", "k": link.sent, "v": &own[link.sent..end]}).to_string();
                if !link.conn.write(&msg) {
                    break;
                }
                link.sent = end;
            }
            // Out now, not at the next timer (and anything that came is kept).
            let mut data = Vec::new();
            link.conn.drain(now, &mut data);
            self.inbox.extend(data.iter().filter_map(|d| read_inputs(*s, d)));
        }
    }
}

/// A channel message of inputs (`{"t":"in","k":from,"v":[…]}`), if it is one.
fn read_inputs(slot: usize, data: &[u8]) -> Option<PeerInputs> {
    if data.len() > MAX_MESSAGE {
        return None;
    }
    let msg: Value = serde_json::from_slice(data).ok()?;
    if msg.get("t")?.as_str()? != "in" {
        return None;
    }
    let from = msg.get("k")?.as_u64()?;
    let inputs = msg.get("v")?.as_array()?.clone();
    Some((slot, from, inputs))
}
