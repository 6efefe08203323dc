//! The state machine without sockets, for tests and fuzzing (feature `testkit`): a
//! harness that plays participants' messages and time into [`State`] and reads back
//! what it decided, and [`sequences`]: random input sequences with the state's
//! invariants (each participant in exactly one place, nothing outliving its
//! participants, …) checked after every step.

pub mod sequences;
pub mod variants;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::state::{ConnId, Effect, Input, Place, State};
use super::view::Views;
use crate::config::Experiment;
use crate::eventlog::Event;
use crate::protocol::{ClientMsg, GameId, PROTOCOL_VERSION, ParticipantId, ProbeId, ServerMsg};

/// Two players, probed against 80 ms; short timeouts so tests read easily.
pub const PAIR: &str = r#"
id: t
title: T
scenes:
  - id: play
    kind: multiplayer
    group_size: 2
    max_p2p_rtt_ms: 80
    probe: {timeout_secs: 15, failed_pair_memory_secs: 600}
    waitroom: {timeout_secs: 60}
    game: {module: experiments/games/demo.js, countdown_secs: 0, max_duration_secs: 100}
  - id: end
    kind: end
"#;

/// Loads a test experiment; files it names are found in cohort's own folder, wherever
/// the harness runs from.
pub fn prepare(yaml: &str) -> (Arc<Experiment>, Arc<Views>) {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let experiment = crate::config::parse(yaml.as_bytes(), base).expect("test experiment is valid");
    let views = Views::render(&experiment, base).expect("views render");
    (Arc::new(experiment), Arc::new(views))
}

pub struct Harness {
    pub state: State,
    pub now: Duration,
    next_conn: u64,
    pub conn_of: HashMap<ParticipantId, ConnId>,
    pub token_of: HashMap<ParticipantId, String>,
    /// Effects since the last [`Harness::take`].
    pub out: Vec<Effect>,
    /// Every event logged so far, with when.
    pub log: Vec<(Duration, Event)>,
    /// What new participants' pages report of their browser and device.
    pub environment: Option<crate::protocol::Environment>,
}

impl Harness {
    pub fn new(yaml: &str) -> Self {
        let (experiment, views) = prepare(yaml);
        Self::with(experiment, views)
    }

    /// A harness for an experiment already loaded (fuzzing loads each one once).
    pub fn with(experiment: Arc<Experiment>, views: Arc<Views>) -> Self {
        let state = State::new(experiment, views, Some(7));
        Self {
            state,
            now: Duration::ZERO,
            next_conn: 1,
            conn_of: HashMap::new(),
            token_of: HashMap::new(),
            out: Vec::new(),
            log: Vec::new(),
            environment: None,
        }
    }

    fn step(&mut self, input: Input) {
        let effects = self.state.handle(input, self.now);
        let mut copies = Vec::new();
        for e in &effects {
            match e {
                Effect::Log(event) => self.log.push((self.now, event.clone())),
                Effect::HostBots(command) => copies.push(command.game()),
                _ => {}
            }
        }
        self.out.extend(effects);
        copies.dedup();
        for game in copies {
            self.play_host_seats(game);
        }
    }

    /// Stands in for the host's copy of `game` (`host_bots`): its seats send empty
    /// inputs as far as the players' inputs go, `input_delay` ahead, as the copy would
    /// (a `bot` that always answers `null`).
    fn play_host_seats(&mut self, game: GameId) {
        let Some(g) = self.state.rooms.values().find_map(|r| r.games.get(&game)) else { return };
        let l = &g.lockstep;
        let players =
            (0..l.inputs.len()).filter(|s| !g.host_seats.contains_key(s) && l.active[*s]).map(|s| l.inputs[s].len());
        let target = players.min().unwrap_or(0) + l.input_delay as usize;
        let feeds: Vec<(usize, u64, usize)> = g
            .host_seats
            .keys()
            .filter(|s| l.inputs[**s].len() < target)
            .map(|s| (*s, l.inputs[*s].len() as u64, (target - l.inputs[*s].len()).min(64)))
            .collect();
        for (slot, from, n) in feeds {
            self.step(Input::BotInputs { game, slot, from, inputs: vec![serde_json::Value::Null; n] });
        }
    }

    /// Any input, as the shell would give it (the host's game copies' inputs, …).
    pub fn input(&mut self, input: Input) {
        self.step(input);
    }

    pub fn take(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out)
    }

    fn hello(&mut self, token: Option<String>) -> (ConnId, Option<ParticipantId>) {
        self.hello_as(token, None)
    }

    fn hello_as(&mut self, token: Option<String>, rid: Option<&str>) -> (ConnId, Option<ParticipantId>) {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let params = rid.map(|r| [("PROLIFIC_PID".to_owned(), r.to_owned())].into()).unwrap_or_default();
        let msg = ClientMsg::Hello {
            protocol: PROTOCOL_VERSION,
            params,
            resume_token: token,
            takeover: false,
            environment: self.environment.clone(),
            seq: None,
        };
        self.step(Input::Message { conn, msg });
        let welcome = self.out.iter().find_map(|e| match e {
            Effect::Send { conn: c, msg: ServerMsg::Welcome { participant, resume_token, .. } } if *c == conn => {
                Some((*participant, resume_token.clone()))
            }
            _ => None,
        });
        if let Some((pid, token)) = &welcome {
            self.conn_of.insert(*pid, conn);
            self.token_of.insert(*pid, token.clone());
        }
        (conn, welcome.map(|(p, _)| p))
    }

    /// A new participant arrives (in the first scene).
    pub fn arrive(&mut self) -> ParticipantId {
        self.hello(None).1.expect("welcome")
    }

    /// A new participant with a recruitment id arrives.
    pub fn arrive_as(&mut self, rid: &str) -> ParticipantId {
        self.hello_as(None, Some(rid)).1.expect("welcome")
    }

    /// A participant opens the study link again (no token, their recruitment id): the
    /// same session if nobody holds it, refused as a second tab otherwise.
    pub fn resume_by_id(&mut self, pid: ParticipantId, rid: &str) {
        let held = self.conn_of.contains_key(&pid);
        let (_, again) = self.hello_as(None, Some(rid));
        if held {
            assert_eq!(again, None, "a second tab is refused");
        } else {
            assert_eq!(again, Some(pid), "the same session by recruitment id");
        }
    }

    pub fn send(&mut self, pid: ParticipantId, msg: ClientMsg) {
        let conn = self.conn_of[&pid];
        self.step(Input::Message { conn, msg });
    }

    /// The host measured `pid`'s round trip.
    pub fn server_rtt(&mut self, pid: ParticipantId, rtt_ms: f64) {
        let conn = self.conn_of[&pid];
        self.step(Input::ServerRtt { conn, rtt_ms });
    }

    pub fn disconnect(&mut self, pid: ParticipantId) {
        let conn = self.conn_of.remove(&pid).expect("connected");
        self.step(Input::Closed { conn });
    }

    /// The host restarts: a new state rebuilt from the log so far, as the actor does
    /// at start; every connection is gone.
    pub fn restart(&mut self) {
        let experiment = self.state.experiment.clone();
        let views = self.state.views.clone();
        let events: Vec<(u64, Event)> = self.log.iter().map(|(at, e)| (at.as_millis() as u64, e.clone())).collect();
        let restored = super::recovery::fold(&experiment, events);
        // A seed of its own: a restarted host draws fresh ids.
        let mut state = State::new(experiment, views, Some(8 + self.log.len() as u64));
        let effects = state.restore(restored, self.now, self.now.as_millis() as u64);
        for e in &effects {
            if let Effect::Log(event) = e {
                self.log.push((self.now, event.clone()));
            }
        }
        self.state = state;
        self.conn_of.clear();
    }

    pub fn reconnect(&mut self, pid: ParticipantId) {
        let token = self.token_of[&pid].clone();
        let (_, again) = self.hello(Some(token));
        assert_eq!(again, Some(pid));
    }

    /// Lets `d` pass, ticking at every deadline on the way (as the actor shell does: a
    /// deadline at or before the last tick fires 1 ms after it).
    pub fn wait(&mut self, d: Duration) {
        let target = self.now + d;
        let mut last_tick: Option<Duration> = None;
        while let Some(at) = self.state.next_deadline() {
            let at = match last_tick {
                Some(t) if at <= t => t + Duration::from_millis(1),
                _ => at,
            };
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.step(Input::Tick);
            last_tick = Some(self.now);
        }
        self.now = target;
        self.step(Input::Tick);
    }

    pub fn place(&self, pid: ParticipantId) -> Place {
        self.state.place_of(pid).expect("participant")
    }

    /// Messages sent to `pid` in the effects since the last take.
    pub fn sent(&self, pid: ParticipantId) -> Vec<ServerMsg> {
        let Some(conn) = self.conn_of.get(&pid) else { return Vec::new() };
        self.out
            .iter()
            .filter_map(|e| match e {
                Effect::Send { conn: c, msg } if c == conn => Some(msg.clone()),
                _ => None,
            })
            .collect()
    }

    /// Running probes involving `pid`.
    pub fn probes_of(&self, pid: ParticipantId) -> Vec<ProbeId> {
        let mut ids: Vec<ProbeId> =
            self.state.probes.values().filter(|(_, p)| p.involves(pid)).map(|(_, p)| p.id.clone()).collect();
        ids.sort();
        ids
    }

    pub fn peers(&self, probe: &ProbeId) -> [ParticipantId; 2] {
        self.state.probes[probe].1.peers
    }

    /// Both peers answer `probe_ready`.
    pub fn start_probe(&mut self, probe: &ProbeId) {
        for pid in self.peers(probe) {
            self.send(pid, ClientMsg::ProbeReady { probe: probe.clone(), seq: None });
        }
    }

    pub fn report(&mut self, pid: ParticipantId, probe: &ProbeId, rtt_ms: Option<f64>) {
        let error = rtt_ms.is_none().then(|| "no connection".to_owned());
        self.send(pid, ClientMsg::ProbeResult { probe: probe.clone(), rtt_ms, error, seq: None });
    }

    /// Starts `probe` and has both peers report `rtt_ms`.
    pub fn measure(&mut self, probe: &ProbeId, rtt_ms: Option<f64>) {
        self.start_probe(probe);
        for pid in self.peers(probe) {
            self.report(pid, probe, rtt_ms);
        }
    }

    pub fn game_of(&self, pid: ParticipantId) -> Option<GameId> {
        match self.place(pid) {
            Place::Playing(_, g) => Some(g),
            _ => None,
        }
    }

    /// Whether `pid` is offered to the policy (waiting, connected, not pending).
    pub fn available(&self, pid: ParticipantId) -> bool {
        self.state.rooms.values().any(|r| r.entries.get(&pid).is_some_and(|e| e.available()))
    }

    pub fn avoids(&self, a: ParticipantId, b: ParticipantId) -> bool {
        self.state.rooms.values().any(|r| r.failed.contains_key(&super::rooms::pair(a, b)))
    }

    pub fn probe_outcomes(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|(_, e)| match e {
                Event::ProbeFinished { outcome, .. } => Some(outcome.clone()),
                _ => None,
            })
            .collect()
    }
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
