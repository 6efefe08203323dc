//! The experiment state machine: who is where, and what happens on each input.
//!
//! Every participant is in exactly one place ([`Place`]); inputs move them and emit
//! [`Effect`]s. The state machine never blocks, never reads the clock (time comes in
//! with each input) and draws ids only from its seeded RNG, so tests and the simulator
//! drive the very same logic with a virtual clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use super::model::{Arrivals, ConnId, Effect, Ended, Input, Participant, Place};
use super::rooms::Room;
use super::timers::{Timer, Timers};
use super::view::Views;
use crate::config::{Experiment, Scene};
use crate::eventlog::Event;
use crate::matchmaking::{ComposedFifo, Fifo};
use crate::probe::Probe;
use crate::protocol::{ClientMsg, ErrorCode, IceServerView, ParticipantId, ProbeId, ServerMsg};

/// The experiment's state.
pub struct State {
    pub(super) experiment: Arc<Experiment>,
    pub(super) views: Arc<Views>,
    pub(super) grace: Duration,
    /// `session.max_duration_secs`: how long a session away on a solo scene lasts.
    pub(super) max_duration: Duration,
    rng: StdRng,
    /// Sessions that are running, or ended with a connection still open.
    pub(super) participants: HashMap<ParticipantId, Participant>,
    /// Sessions that ended, with no connection: the compact record.
    pub(super) ended: HashMap<ParticipantId, Ended>,
    /// SHA-256 of a resume token (hex) → its session.
    pub(super) by_token: HashMap<String, ParticipantId>,
    pub(super) by_recruitment: HashMap<String, ParticipantId>,
    pub(super) by_conn: HashMap<ConnId, ParticipantId>,
    /// One room per multiplayer scene, by scene index.
    pub(super) rooms: BTreeMap<usize, Room>,
    /// Running probes, with the scene of their room.
    pub(super) probes: HashMap<ProbeId, (usize, Probe)>,
    /// `conditions.entry.compose` as places to fill, if groups have a composition.
    pub(super) composition: Option<std::sync::Arc<[(String, usize)]>>,
    /// Pairs' measured RTTs, reused across scenes while fresh.
    pub(super) known_rtts: super::known_rtts::KnownRtts,
    /// ICE servers as each participant gets them (minting TURN credentials if needed).
    pub(super) ice: IceProvider,
    /// Every deadline: grace periods, waitroom timeouts, probes, games, room ticks.
    pub(super) timers: Timers,
    /// Entry and group conditions with their counts, when the experiment has them.
    pub(super) entry_conditions: Option<super::conditions::Balancer>,
    pub(super) group_conditions: Option<super::conditions::Balancer>,
    /// The group condition drawn for each game (the texts after it are its players'),
    /// this run's and those restored from earlier runs.
    pub(super) game_groups: HashMap<crate::protocol::GameId, usize>,
    /// Earlier groups per scene with `reunion` (read at start).
    pub(super) reunions: super::reunion::Reunions,
    /// Whether new sessions may start.
    pub(super) arrivals: Arrivals,
    /// The host is stopping: no new group is formed (games in progress finish).
    pub(super) draining: bool,
    /// What each participant and policy may still log this minute.
    pub(super) budgets: super::budget::Budgets,
    /// The chats of groups that may still use them, by game.
    pub(super) chats: HashMap<crate::protocol::GameId, super::chat::Chat>,
    /// The time of the input being handled.
    pub(super) now: Duration,
    /// Participants whose place or connection changed in this input: sessions that
    /// ended and have no connection are evicted to a compact record afterwards.
    pub(super) touched: Vec<ParticipantId>,
    effects: Vec<Effect>,
}

/// Gives a participant the ICE servers of the multiplayer scene at an index (the
/// shell's implementation mints short-lived TURN credentials from a secret).
pub type IceProvider = Arc<dyn Fn(usize, ParticipantId) -> Vec<IceServerView> + Send + Sync>;

impl State {
    /// A fresh state. `seed` feeds the RNG behind ids and tokens: use OS entropy in
    /// production (`None`), a fixed seed in tests and simulation.
    pub fn new(experiment: Arc<Experiment>, views: Arc<Views>, seed: Option<u64>) -> Self {
        let entry_conditions = experiment.conditions.entry.as_ref().map(super::conditions::Balancer::new);
        let group_conditions = experiment.conditions.group.as_ref().map(super::conditions::Balancer::new);
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let grace = Duration::from_secs_f64(experiment.session.reconnect_grace_secs);
        let max_duration = Duration::from_secs_f64(experiment.session.max_duration_secs);
        let composition: Option<std::sync::Arc<[(String, usize)]>> = experiment
            .conditions
            .entry
            .as_ref()
            .map(|e| &e.compose)
            .filter(|c| !c.is_empty())
            .map(|c| c.iter().map(|(k, n)| (k.clone(), *n as usize)).collect());
        let rooms = experiment
            .scenes
            .iter()
            .enumerate()
            .filter_map(|(i, scene)| match scene {
                Scene::Multiplayer(m) => {
                    // Groups of a composition of conditions: FIFO that fills it.
                    let fifo: Box<dyn crate::matchmaking::Matchmaker> = match &composition {
                        Some(c) => Box::new(ComposedFifo(c.to_vec())),
                        None => Box::new(Fifo),
                    };
                    let mut room = Room::new(i, m.group_size as usize, fifo);
                    room.cache_for = Duration::from_secs_f64(m.probe.cache_secs);
                    Some((i, room))
                }
                _ => None,
            })
            .collect();
        let keep_rtts = experiment
            .scenes
            .iter()
            .filter_map(|scene| match scene {
                Scene::Multiplayer(m) => Some(Duration::from_secs_f64(m.probe.cache_secs)),
                _ => None,
            })
            .max()
            .unwrap_or_default();
        let static_ice = experiment.clone();
        let ice: IceProvider = Arc::new(move |scene, _| static_ice_servers(&static_ice, scene));
        Self {
            experiment,
            views,
            grace,
            max_duration,
            rng,
            participants: HashMap::new(),
            ended: HashMap::new(),
            by_token: HashMap::new(),
            by_recruitment: HashMap::new(),
            by_conn: HashMap::new(),
            rooms,
            probes: HashMap::new(),
            composition,
            known_rtts: super::known_rtts::KnownRtts::new(keep_rtts),
            ice,
            timers: Timers::default(),
            entry_conditions,
            group_conditions,
            game_groups: HashMap::new(),
            reunions: Default::default(),
            arrivals: Arrivals::Open,
            draining: false,
            budgets: Default::default(),
            now: Duration::ZERO,
            touched: Vec::new(),
            chats: HashMap::new(),
            effects: Vec::new(),
        }
    }

    /// Handles one input at time `now` (since the actor started) and returns the
    /// effects to carry out, in order.
    pub fn handle(&mut self, input: Input, now: Duration) -> Vec<Effect> {
        self.now = now;
        match input {
            Input::Message { conn, msg } => self.on_message(conn, msg, now),
            Input::Closed { conn } => self.on_closed(conn, now),
            Input::ServerRtt { conn, rtt_ms } => self.on_server_rtt(conn, rtt_ms, now),
            Input::Tick => self.on_tick(now),
            Input::Arrivals(arrivals) => self.on_arrivals(arrivals),
            Input::Admin(action) => self.on_admin(action, now),
            Input::BotInputs { game, slot, from, inputs } => self.on_bot_inputs(game, slot, from, inputs, now),
            Input::BotsFailed { game, error } => self.on_bots_failed(game, &error, now),
            Input::Drain => {
                self.draining = true;
                let message = self.experiment.text("host.pausing");
                self.on_arrivals(Arrivals::Closed { reason: "draining".to_owned(), message });
            }
        }
        self.finish(now)
    }

    /// After an input: coalesced statuses, ended sessions evicted, the effects.
    pub(super) fn finish(&mut self, now: Duration) -> Vec<Effect> {
        self.schedule_status(now);
        if !self.chats.is_empty() {
            let moved = self.touched.clone();
            self.close_chats(&moved);
        }
        self.evict_ended();
        self.compact_timers();
        std::mem::take(&mut self.effects)
    }

    /// The earliest time at which [`Input::Tick`] may have something to do (a timer
    /// that no longer applies fires once and does nothing).
    pub fn next_deadline(&self) -> Option<Duration> {
        self.timers.next()
    }

    /// Timers held, stale ones included (tests of boundedness).
    pub fn timer_count(&self) -> usize {
        self.timers.count()
    }

    /// Everything due at `now`, by kind in a fixed order: grace periods, probes,
    /// games, waitroom timeouts, matching, status.
    fn on_tick(&mut self, now: Duration) {
        let (mut away, mut probes, mut games, mut waitroom, mut ticks, mut statuses) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut suppressed, mut lingering, mut fills, mut ready) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut reunions, mut forget_rtts) = (Vec::new(), false);
        for timer in self.timers.pop_due(now) {
            match timer {
                Timer::Away(pid) => away.push(pid),
                Timer::Probe(id) => probes.push(id),
                Timer::Ready(scene, id) => ready.push((scene, id)),
                Timer::Reunion(scene, pid) => reunions.push((scene, pid)),
                Timer::Game(scene, id) => games.push((scene, id)),
                Timer::Waitroom(scene, pid) => waitroom.push((scene, pid)),
                Timer::BotFill(scene, pid) => fills.push((scene, pid)),
                Timer::RoomTick(scene) => ticks.push((scene, false)),
                Timer::Forget(scene) => ticks.push((scene, true)),
                Timer::ForgetRtts => forget_rtts = true,
                Timer::Status(scene) => statuses.push(scene),
                Timer::Suppressed(source) => suppressed.push(source),
                Timer::Linger(pid) => lingering.push(pid),
            }
        }
        for source in suppressed {
            self.flush_suppressed(source);
        }
        if let Some(next) = forget_rtts.then(|| self.known_rtts.expire(now)).flatten() {
            self.timers.schedule(next, Timer::ForgetRtts);
        }
        self.close_lingering(lingering);
        self.expire_away(away, now);
        self.probe_deadlines(probes, now);
        self.ready_deadlines(ready, now);
        self.reunion_timeouts(reunions, now);
        self.game_deadlines(games, now);
        self.waitroom_deadlines(waitroom, now);
        for (scene, pid) in fills {
            self.bot_fill(scene, pid, now);
        }
        self.matching_ticks(ticks, now);
        for scene in statuses {
            self.flush_status(scene, now);
        }
    }

    /// Opens or closes arrivals (logged when it changes).
    pub(super) fn on_arrivals(&mut self, arrivals: Arrivals) {
        if arrivals == self.arrivals {
            return;
        }
        self.log(match &arrivals {
            Arrivals::Open => Event::ArrivalsOpened,
            Arrivals::Closed { reason, message } => {
                Event::ArrivalsClosed { reason: reason.clone(), message: message.clone() }
            }
        });
        self.arrivals = arrivals;
    }

    /// Games created and not ended.
    pub fn games_in_progress(&self) -> usize {
        self.rooms.values().map(|r| r.games.len()).sum()
    }

    /// Whether new sessions may start now.
    pub fn arrivals(&self) -> &Arrivals {
        &self.arrivals
    }

    /// A new server RTT: kept on the participant and in what policies see of them.
    fn on_server_rtt(&mut self, conn: ConnId, rtt_ms: f64, now: Duration) {
        let Some(&pid) = self.by_conn.get(&conn) else { return };
        let Some(p) = self.participants.get_mut(&pid) else { return };
        p.server_rtt_ms = Some(rtt_ms);
        if let Place::Waiting(scene) = p.place
            && let Some(entry) = self.rooms.get_mut(&scene).and_then(|r| r.entries.get_mut(&pid))
        {
            entry.candidate.server_rtt_ms = Some(rtt_ms);
        }
        self.screen_rtt(pid, rtt_ms, now);
    }

    /// A participant whose session runs (or ended with a connection open), for
    /// inspection (tests, status pages).
    pub fn participant(&self, id: ParticipantId) -> Option<&Participant> {
        self.participants.get(&id)
    }

    /// Where a participant is, also after their session ended and was evicted.
    pub fn place_of(&self, id: ParticipantId) -> Option<Place> {
        self.participants.get(&id).map(|p| p.place).or_else(|| self.ended.get(&id).map(|e| e.place))
    }

    /// Number of sessions (all places, ended ones included).
    pub fn session_count(&self) -> usize {
        self.participants.len() + self.ended.len()
    }

    /// Sessions held in full (running, or ended with a connection open).
    pub fn live_session_count(&self) -> usize {
        self.participants.len()
    }

    fn on_message(&mut self, conn: ConnId, msg: ClientMsg, now: Duration) {
        let seq = msg.seq();
        if let ClientMsg::Hello { protocol, params, resume_token, takeover, environment, .. } = msg {
            return self.on_hello(conn, protocol, params, (resume_token, takeover, environment), seq, now);
        }
        let Some(&pid) = self.by_conn.get(&conn) else {
            return self.refuse(conn, ErrorCode::HelloFirst, "the first message must be `hello`", seq);
        };
        match msg {
            ClientMsg::Hello { .. } => unreachable!("handled above"),
            ClientMsg::Advance { scene, agreed, iteration, .. } => {
                self.on_advance(pid, conn, (&scene, iteration), agreed, seq, now)
            }
            ClientMsg::Submit { scene, answers, iteration, .. } => {
                self.on_submit(pid, conn, (&scene, iteration), answers, seq, now)
            }
            ClientMsg::LeaveWaitroom { .. } => self.on_leave_waitroom(pid, conn, seq, now),
            ClientMsg::LeaveGame { game, .. } => self.on_leave_game(pid, conn, game, seq),
            ClientMsg::Ready { check, .. } => self.on_ready(pid, conn, &check, seq, now),
            ClientMsg::ProbeReady { probe, .. } => self.on_probe_ready(pid, conn, &probe, seq, now),
            ClientMsg::ProbeSignal { probe, signal, .. } => self.on_probe_signal(pid, conn, &probe, signal, seq),
            ClientMsg::ProbeResult { probe, rtt_ms, error, .. } => {
                self.on_probe_result(pid, conn, &probe, rtt_ms, error, seq, now)
            }
            ClientMsg::GameInputs { game, from, inputs, hashes, .. } => {
                self.on_game_inputs(pid, conn, game, from, inputs, hashes, seq)
            }
            ClientMsg::GameRelay { game, need, .. } => self.on_game_relay(pid, conn, game, need, seq),
            ClientMsg::Visibility { hidden, .. } => self.on_visibility(pid, conn, hidden, seq),
            ClientMsg::Chat { text, .. } => self.on_chat(pid, conn, text, seq),
            ClientMsg::GameSignal { game, to, signal, .. } => self.on_game_signal(pid, conn, game, to, signal, seq),
            ClientMsg::GameComplete { game, result, tick, hash, .. } => {
                self.on_game_complete(pid, conn, game, result, tick, hash, seq, now)
            }
        }
    }

    /// The effects gathered outside [`State::handle`] (restoring earlier runs).
    pub(super) fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    // ---- helpers for the submodules ----

    pub(super) fn send(&mut self, conn: ConnId, msg: ServerMsg) {
        self.effects.push(Effect::Send { conn, msg });
    }

    pub(super) fn log(&mut self, event: Event) {
        self.effects.push(Effect::Log(event));
    }

    /// A command for the host's copies of games (`host_bots`).
    pub(super) fn host_bots(&mut self, command: super::host_bots::HostBots) {
        self.effects.push(Effect::HostBots(command));
    }

    pub(super) fn close(&mut self, conn: ConnId) {
        self.effects.push(Effect::Close { conn });
    }

    /// An `error` for `conn`; nothing else changes.
    pub(super) fn refuse(&mut self, conn: ConnId, code: ErrorCode, message: impl Into<String>, seq: Option<u64>) {
        self.send(conn, ServerMsg::error(code, message, seq));
    }

    /// Acknowledges `seq` (after the effects logged so far are durable).
    pub(super) fn ack(&mut self, conn: ConnId, seq: Option<u64>) {
        if let Some(seq) = seq {
            self.send(conn, ServerMsg::Ack { seq });
        }
    }

    /// Sends to a participant if connected.
    pub(super) fn send_to(&mut self, pid: ParticipantId, msg: ServerMsg) {
        if let Some(conn) = self.participants.get(&pid).and_then(|p| p.conn) {
            self.send(conn, msg);
        }
    }

    /// A fresh UUID v4 from the owned RNG.
    /// A game's seed.
    pub(super) fn new_seed(&mut self) -> u32 {
        self.rng.random()
    }

    pub(super) fn new_uuid(&mut self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    /// The multiplayer scene config at `scene`.
    pub(super) fn multiplayer(&self, scene: usize) -> &crate::config::multiplayer::MultiplayerScene {
        match &self.experiment.scenes[scene] {
            Scene::Multiplayer(m) => m,
            _ => unreachable!("rooms exist only for multiplayer scenes"),
        }
    }

    /// A fresh 128-bit secret, hex-encoded.
    pub(super) fn new_secret(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// ICE servers with static credentials only (TURN shared secrets need the shell's
/// credential minting).
fn static_ice_servers(experiment: &Experiment, scene: usize) -> Vec<IceServerView> {
    match &experiment.scenes[scene] {
        Scene::Multiplayer(m) => m
            .ice_servers
            .iter()
            .filter(|s| s.secret_env.is_none() && s.secret_file.is_none())
            .map(|s| IceServerView {
                urls: s.urls.clone(),
                username: s.username.clone(),
                credential: s.credential.clone(),
            })
            .collect(),
        _ => Vec::new(),
    }
}
