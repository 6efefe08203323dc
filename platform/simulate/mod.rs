//! `cohort simulate EXPERIMENT.yaml`: the host's own state machine ([`State`]), its
//! policy and its timers, driven by a virtual clock and synthetic participants — no
//! sockets, no waiting. Participants arrive as the [`scenario`] says, wait in the
//! scene's waitroom, answer probes with the scenario's round trips, drop out and come
//! back; groups play for `game_secs` and finish. What the host logged is folded into a
//! [`report::Report`]: match rate, waits, timeouts, probes, group RTTs, policy work.
//!
//! The experiment is reduced to the simulated multiplayer scene and an end: attributes
//! that come from survey answers (`answer:s.q`) are given as URL parameters of the
//! same name, so the policy sees exactly what it would.

pub mod replay;
pub mod report;
pub mod scenario;

use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::config::multiplayer::MultiplayerScene;
use crate::config::{Experiment, Loaded, Scene};
use crate::eventlog::Event;
use crate::experiment::view::Views;
use crate::experiment::{AdminAction, ConnId, Effect, Input, State};
use crate::plugin::{Limits, PluginMatchmaker};
use crate::protocol::{ClientMsg, GameId, PROTOCOL_VERSION, ParticipantId, ProbeId, ServerMsg};
use report::{Metrics, Report};
use scenario::{Person, RttModel, Scenario};

/// What a simulated participant does next.
#[derive(Debug, Clone)]
enum Act {
    Arrive(usize),
    Leave(usize),
    Drop(usize),
    Return(usize),
    ProbeReady(ProbeId, usize),
    ProbeResult(ProbeId, usize, Option<f64>),
    EndGame(GameId),
    Close(usize),
}

/// One simulated participant's connection and session.
#[derive(Debug, Default, Clone)]
struct Live {
    pid: Option<ParticipantId>,
    token: Option<String>,
    conn: Option<ConnId>,
}

/// The experiment as simulated: the scene (by id, or the first multiplayer one) and an
/// end, with `policy` instead of the scene's own if given.
pub fn reduce(
    loaded: &Loaded,
    scene: Option<&str>,
    policy: Option<&Path>,
) -> Result<(Experiment, MultiplayerScene), String> {
    let experiment = &loaded.experiment;
    let mut m = experiment
        .scenes
        .iter()
        .find_map(|s| match s {
            Scene::Multiplayer(m) if scene.is_none_or(|id| m.id.as_str() == id) => Some(m.clone()),
            _ => None,
        })
        .ok_or_else(|| {
            format!(
                "`{}` has no multiplayer scene{}",
                experiment.id,
                scene.map_or(String::new(), |s| format!(" `{s}`"))
            )
        })?;
    let end = experiment
        .scenes
        .iter()
        .find(|s| matches!(s, Scene::End(_)))
        .cloned()
        .ok_or("the experiment has no end scene")?;
    for attribute in &mut m.matchmaker.attributes {
        let param = serde_json::Value::String(format!("param:{}", attribute.name()));
        *attribute = serde_json::from_value(param).map_err(|e| format!("attribute `{}`: {e}", attribute.name()))?;
    }
    if let Some(policy) = policy {
        m.matchmaker.plugin = Some(policy.to_path_buf());
    } else if let Some(plugin) = &m.matchmaker.plugin {
        m.matchmaker.plugin = Some(loaded.base_dir.join(plugin));
    }
    let mut reduced = experiment.clone();
    reduced.scenes = vec![Scene::Multiplayer(m.clone()), end];
    Ok((reduced, *m))
}

/// Runs one simulation of `people` and reports what happened. `progress` is told the
/// fraction of simulated time done, now and then.
pub fn run(
    loaded: &Loaded,
    scenario: &Scenario,
    policy: Option<&Path>,
    people: &[Person],
    progress: &mut dyn FnMut(f64),
) -> Result<Report, String> {
    let started = std::time::Instant::now();
    let (experiment, m) = reduce(loaded, scenario.scene.as_deref(), policy)?;
    let views = Views::render(&experiment, &loaded.base_dir).map_err(|e| e.to_string())?;
    let mut state = State::new(Arc::new(experiment.clone()), Arc::new(views), Some(scenario.seed));
    if let Some(plugin) = &m.matchmaker.plugin {
        let config = serde_json::Value::Object(m.matchmaker.config.clone()).to_string();
        let policy = PluginMatchmaker::load_seeded(plugin, &config, Limits::of(&m.matchmaker), scenario.seed)
            .map_err(|e| e.to_string())?;
        state.set_policy(0, Box::new(policy));
    }
    let rtt = RttModel::new(scenario)?;
    let mut sim = Sim {
        state,
        now: Duration::ZERO,
        people,
        rtt: &rtt,
        scenario,
        queue: BinaryHeap::new(),
        acts: HashMap::new(),
        seq: 0,
        live: vec![Live::default(); people.len()],
        by_conn: HashMap::new(),
        by_pid: HashMap::new(),
        probes: HashMap::new(),
        next_conn: 1,
        rng: rand::rngs::StdRng::seed_from_u64(scenario.seed ^ 0x9B0B),
        id_param: experiment.recruitment.id_param.clone(),
        game_lasts: Duration::from_secs_f64(m.game.countdown_secs + scenario.game_secs),
        metrics: Metrics::default(),
    };
    for (i, p) in people.iter().enumerate() {
        sim.at(p.arrives, Act::Arrive(i));
    }
    let arrivals_end = Duration::from_secs_f64(scenario.duration_secs);
    let linger = m.waitroom.timeout_secs + m.probe.timeout_secs + m.game.countdown_secs + scenario.game_secs + 5.0;
    sim.drive(arrivals_end + Duration::from_secs_f64(linger), arrivals_end, progress);
    let usage = sim.state.policy_usage().into_iter().next();
    let people_rtt = |a: ParticipantId, b: ParticipantId| -> Option<f64> {
        Some(rtt.between(people, *sim.by_pid.get(&a)?, *sim.by_pid.get(&b)?))
    };
    let mut report = sim.metrics.report(&experiment, &m, scenario, people.len(), usage, &people_rtt, started.elapsed());
    if let Some(plugin) = &m.matchmaker.plugin {
        // The folder and file, so two policies named `policy.wasm` can be told apart.
        let parts: Vec<_> = plugin.components().rev().take(2).collect();
        report.policy = parts.iter().rev().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    }
    Ok(report)
}

struct Sim<'a> {
    state: State,
    now: Duration,
    people: &'a [Person],
    rtt: &'a RttModel,
    scenario: &'a Scenario,
    /// (when, order) of what is due; the acts themselves by order.
    queue: BinaryHeap<std::cmp::Reverse<(Duration, u64)>>,
    acts: HashMap<u64, Act>,
    seq: u64,
    live: Vec<Live>,
    by_conn: HashMap<ConnId, usize>,
    by_pid: HashMap<ParticipantId, usize>,
    /// Each running probe: the RTT both peers will report (none: it fails), its pings,
    /// and how many peers have yet to start it.
    probes: HashMap<ProbeId, (Option<f64>, u32, u8)>,
    next_conn: u64,
    rng: rand::rngs::StdRng,
    id_param: String,
    /// From a group's creation to the end of its game (countdown included).
    game_lasts: Duration,
    metrics: Metrics,
}

impl Sim<'_> {
    fn at(&mut self, when: Duration, act: Act) {
        self.seq += 1;
        self.queue.push(std::cmp::Reverse((when, self.seq)));
        self.acts.insert(self.seq, act);
    }

    /// Runs until nothing is left to do or `until`.
    fn drive(&mut self, until: Duration, arrivals_end: Duration, progress: &mut dyn FnMut(f64)) {
        let mut last_tick: Option<Duration> = None;
        let mut reported = 0.0;
        loop {
            let due = self.queue.peek().map(|r| r.0.0);
            let deadline = self.state.next_deadline().map(|at| match last_tick {
                Some(t) if at <= t => t + Duration::from_millis(1),
                _ => at,
            });
            let next = match (due, deadline) {
                (Some(a), Some(d)) => a.min(d),
                (Some(a), None) => a,
                (None, Some(d)) => d,
                (None, None) => break,
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            if due == Some(next) {
                let std::cmp::Reverse((_, seq)) = self.queue.pop().expect("peeked");
                let act = self.acts.remove(&seq).expect("every queued act is kept");
                self.act(act);
            } else {
                let effects = self.state.handle(Input::Tick, self.now);
                self.apply(effects);
                last_tick = Some(self.now);
            }
            let done = (self.now.as_secs_f64() / arrivals_end.as_secs_f64().max(1e-9)).min(1.0);
            if done - reported >= 0.01 {
                reported = done;
                progress(done.min(1.0));
            }
        }
        progress(1.0);
    }

    fn step(&mut self, input: Input) {
        let effects = self.state.handle(input, self.now);
        self.apply(effects);
    }

    fn hello(&mut self, i: usize, resume_token: Option<String>) {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.by_conn.insert(conn, i);
        self.live[i].conn = Some(conn);
        let mut params: std::collections::BTreeMap<String, String> = self.people[i].attributes.clone();
        params.insert(self.id_param.clone(), format!("sim-{i}"));
        let msg = ClientMsg::Hello {
            protocol: PROTOCOL_VERSION,
            params,
            resume_token,
            takeover: false,
            environment: None,
            seq: None,
        };
        self.step(Input::Message { conn, msg });
        if let Some(rtt_ms) = self.people[i].server_rtt_ms {
            self.step(Input::ServerRtt { conn, rtt_ms });
        }
    }

    fn send(&mut self, i: usize, msg: ClientMsg) {
        if let Some(conn) = self.live[i].conn {
            self.step(Input::Message { conn, msg });
        }
    }

    fn act(&mut self, act: Act) {
        let now = self.now;
        match act {
            Act::Arrive(i) => {
                self.hello(i, None);
                let p = &self.people[i];
                if let Some(after) = p.leaves_after {
                    self.at(now + after, Act::Leave(i));
                }
                if let Some((after, _)) = p.drops_after {
                    self.at(now + after, Act::Drop(i));
                }
            }
            Act::Leave(i) => {
                if self.waiting(i) {
                    self.send(i, ClientMsg::LeaveWaitroom { seq: None });
                }
            }
            Act::Drop(i) => {
                if self.waiting(i)
                    && let Some(conn) = self.live[i].conn.take()
                {
                    self.by_conn.remove(&conn);
                    self.step(Input::Closed { conn });
                    if let Some((_, Some(back))) = self.people[i].drops_after {
                        self.at(now + back, Act::Return(i));
                    }
                }
            }
            Act::Return(i) => {
                let token = self.live[i].token.clone();
                if self.live[i].conn.is_none() && token.is_some() {
                    self.hello(i, token);
                }
            }
            Act::ProbeReady(probe, i) => self.send(i, ClientMsg::ProbeReady { probe, seq: None }),
            Act::ProbeResult(probe, i, rtt_ms) => {
                let error = rtt_ms.is_none().then(|| "no connection (simulated)".to_owned());
                self.send(i, ClientMsg::ProbeResult { probe, rtt_ms, error, seq: None });
            }
            Act::EndGame(game) => self.step(Input::Admin(AdminAction::EndGame { game })),
            Act::Close(i) => {
                if let Some(conn) = self.live[i].conn.take() {
                    self.by_conn.remove(&conn);
                    self.step(Input::Closed { conn });
                }
            }
        }
    }

    fn waiting(&self, i: usize) -> bool {
        self.live[i]
            .pid
            .and_then(|pid| self.state.place_of(pid))
            .is_some_and(|p| matches!(p, crate::experiment::Place::Waiting(_)))
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        let now = self.now;
        for effect in effects {
            match effect {
                Effect::Send { conn, msg } => {
                    let Some(&i) = self.by_conn.get(&conn) else { continue };
                    self.on_message(i, msg);
                }
                Effect::Close { conn } => {
                    if let Some(i) = self.by_conn.remove(&conn) {
                        self.live[i].conn = None;
                    }
                }
                Effect::Log(event) => {
                    match &event {
                        Event::GameCreated { game, .. } => {
                            self.at(now + self.game_lasts, Act::EndGame(*game));
                        }
                        Event::Finished { participant, .. } | Event::Outcome { participant, .. } => {
                            if let Some(&i) = self.by_pid.get(participant) {
                                self.at(now, Act::Close(i));
                            }
                        }
                        _ => {}
                    }
                    self.metrics.on_event(&event, now);
                }
                // Simulated games are not stepped: no host copies either.
                Effect::HostBots(_) => {}
            }
        }
    }

    fn on_message(&mut self, i: usize, msg: ServerMsg) {
        let now = self.now;
        match msg {
            ServerMsg::Welcome { participant, resume_token, .. } => {
                self.live[i].pid = Some(participant);
                self.live[i].token = Some(resume_token);
                self.by_pid.insert(participant, i);
            }
            ServerMsg::ProbePrepare { probe, peer, pings, .. } => {
                // Both peers report the same measurement (or failure), decided once.
                if !self.probes.contains_key(&probe) {
                    let failed = self.rng.random::<f64>() < self.scenario.probe_failure;
                    let rtt = self.by_pid.get(&peer).map(|&j| self.rtt.between(self.people, i, j));
                    self.probes.insert(probe.clone(), (if failed { None } else { rtt }, pings, 2));
                }
                self.at(now + Duration::from_millis(50), Act::ProbeReady(probe, i));
            }
            ServerMsg::ProbeStart { probe } => {
                if let Some((verdict, pings, left)) = self.probes.get_mut(&probe) {
                    let took = Duration::from_secs_f64(f64::from(*pings) * verdict.unwrap_or(100.0) / 1000.0);
                    let verdict = *verdict;
                    *left -= 1;
                    if *left == 0 {
                        self.probes.remove(&probe);
                    }
                    self.at(now + took, Act::ProbeResult(probe, i, verdict));
                }
            }
            ServerMsg::ProbeAbort { probe, .. } => {
                self.probes.remove(&probe);
            }
            _ => {}
        }
    }
}
