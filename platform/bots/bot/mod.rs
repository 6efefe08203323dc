//! One bot: walks a served experiment like a participant would. It agrees to consent,
//! continues instructions, answers surveys with valid random answers, waits, takes
//! part in probes (scripted RTTs, or a real WebRTC peer with the `webrtc` feature),
//! plays games (the module's `bot`, in the host's engine, over the relay or, with a
//! WebRTC peer, over the probe's channels as a page does: see [`super::player`]), and
//! stops at the end scene or an outcome. It times the moments a
//! researcher cares about: joining the waitroom, the match, the game's start.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use super::churn;
use super::player::Player;
use super::report::{Ending, Report, error_kind};
use super::{Live, Plan};
use crate::client::{Client, ClientError};
use crate::protocol::{ClientMsg, GameId, ServerMsg};

mod react;

/// Runs bot number `index` to its end.
pub async fn run(index: usize, from: Option<IpAddr>, plan: Arc<Plan>, live: Arc<Live>) -> Report {
    let mut bot = Bot {
        rng: StdRng::seed_from_u64(plan.seed.wrapping_add(index as u64)),
        plan: plan.clone(),
        live: live.clone(),
        last_sent: Instant::now(),
        joined: None,
        matched: None,
        counted: Counted::Elsewhere,
        own_seq: None,
        join_to_match: None,
        join_to_start: None,
        game: None,
        #[cfg(feature = "webrtc")]
        prober: plan.webrtc.then(crate::client::webrtc::Prober::default),
        act: None,
        decided: (false, false),
        params: Vec::new(),
        from,
        results: Vec::new(),
    };
    let id = format!("{}{index}", plan.id_prefix);
    let mut params: Vec<(String, String)> = plan.params.clone();
    params.push((plan.id_param.clone(), id));
    bot.params = params.clone();
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    live.arrived();
    let ending = match Client::connect_from(&plan.addr, &plan.experiment, &params, None, from).await {
        Ok(mut client) => {
            live.connected(1);
            let ending = bot.walk(&mut client).await;
            live.connected(-1);
            client.close().await;
            ending
        }
        Err(e) => Ending::Error(error_kind(&e)),
    };
    live.finished(&ending);
    Report {
        joined: bot.joined,
        matched: bot.matched,
        join_to_match: bot.join_to_match,
        join_to_start: bot.join_to_start,
        results: std::mem::take(&mut bot.results),
        ending,
    }
}

struct Bot {
    rng: StdRng,
    plan: Arc<Plan>,
    live: Arc<Live>,
    /// When the bot last sent something (what it receives next is the answer).
    last_sent: Instant,
    joined: Option<Instant>,
    matched: Option<(Instant, GameId, usize)>,
    join_to_match: Option<Duration>,
    join_to_start: Option<Duration>,
    /// What the module's `done` returned in each game this bot completed.
    results: Vec<serde_json::Value>,
    /// Where the live counters have this bot.
    counted: Counted,
    /// The `seq` of the bot's last `advance` or `submit`: an error answering it
    /// ends the walk (an error about a probe or game message in flight does not).
    own_seq: Option<u64>,
    /// The game being played.
    game: Option<Player>,
    #[cfg(feature = "webrtc")]
    prober: Option<crate::client::webrtc::Prober>,
    /// What the bot will do of its own accord, and when (churn).
    act: Option<(Instant, churn::Act)>,
    /// Whether its fate was drawn for waiting, and for playing.
    decided: (bool, bool),
    /// The study link's parameters and the source address, to come back with.
    params: Vec<(String, String)>,
    from: Option<IpAddr>,
}

/// Where the progress counters have a bot.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Counted {
    Elsewhere,
    Waiting,
    Playing,
}

/// What came: a message from the host, or what the WebRTC peer has to send.
enum Got {
    Message(ServerMsg),
    #[cfg_attr(not(feature = "webrtc"), allow(dead_code))]
    Peer(Vec<ClientMsg>),
}

/// Sends `out` to the host; an ending if the connection failed.
async fn send_all(client: &mut Client, out: Vec<ClientMsg>) -> Result<(), Ending> {
    for m in out {
        client.send(m).await.map_err(|e| Ending::Error(error_kind(&e)))?;
    }
    Ok(())
}

/// What to do after a message.
enum Next {
    Continue,
    Stop(Ending),
}

impl Bot {
    async fn walk(&mut self, client: &mut Client) -> Ending {
        let mut next_seq = 1u64;
        let stop = self.plan.stop.clone();
        // The tick clock of the game being played.
        let mut clock: Option<tokio::time::Interval> = None;
        loop {
            let playing = self.game.is_some() && clock.is_some();
            let act_at = self.act.map(|(at, _)| at);
            let msg = tokio::select! {
                () = stop.cancelled(), if !self.plan.hold => return Ending::Error("interrupted".to_owned()),
                () = async { tokio::time::sleep_until(act_at.expect("an act")).await }, if act_at.is_some() => {
                    let (_, act) = self.act.take().expect("an act");
                    match self.carry_out(act, client).await {
                        Ok(()) => {
                            clock = None; // a game in progress is caught up from start_game again
                            continue;
                        }
                        Err(ending) => return ending,
                    }
                }
                _ = async { clock.as_mut().expect("playing").tick().await }, if playing => {
                    let player = self.game.as_mut().expect("playing");
                    let out = match player.on_tick() {
                        Ok(out) => out,
                        Err(e) => return Ending::Error(format!("game: {e}")),
                    };
                    for msg in &out {
                        if let ClientMsg::GameComplete { result: Some(result), .. } = msg {
                            self.results.push(result.clone());
                        }
                    }
                    #[cfg(feature = "webrtc")]
                    if let Some(links) = self.prober.as_mut().and_then(|p| p.game()) {
                        links.send_inputs(player.own());
                        links.over |= player.is_over();
                    }
                    if let Err(e) = send_all(client, out).await {
                        return e;
                    }
                    continue;
                }
                got = self.next_message(client) => match got {
                    Ok(Got::Message(msg)) => msg,
                    Ok(Got::Peer(out)) => {
                        self.peer_news();
                        if let Err(e) = send_all(client, out).await {
                            return e;
                        }
                        continue;
                    }
                    Err(ending) => return ending,
                },
            };
            #[cfg(feature = "webrtc")]
            if let Some(prober) = self.prober.as_mut() {
                // Probe messages are the peer's; game ones it follows too.
                let handled = prober.handle(&msg).await;
                let consumed = handled.is_some() && !matches!(msg, ServerMsg::MatchFound { .. });
                let mut out = handled.unwrap_or_default();
                out.extend(prober.follow_game(&msg).await);
                if let Err(e) = send_all(client, out).await {
                    return e;
                }
                if consumed || matches!(msg, ServerMsg::GameSignal { .. }) {
                    continue;
                }
            }
            match self.follow_game(&msg).await {
                Ok(Some(rate)) => {
                    let mut c = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
                    c.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    clock = Some(c);
                }
                Ok(None) => {}
                Err(ending) => return ending,
            }
            if self.plan.hold {
                if matches!(msg, ServerMsg::Scene { .. }) {
                    return self.hold(client).await;
                }
                continue;
            }
            let (reply, next) = self.react(msg);
            for mut m in reply {
                next_seq += 1;
                if set_seq(&mut m, next_seq) {
                    self.own_seq = Some(next_seq);
                }
                self.last_sent = Instant::now();
                if let Err(e) = client.send(m).await {
                    return Ending::Error(error_kind(&e));
                }
            }
            if let Next::Stop(ending) = next {
                return ending;
            }
        }
    }

    /// Leaves the waitroom, or drops the connection (and comes back with the resume
    /// token after a while, or never).
    async fn carry_out(&mut self, act: churn::Act, client: &mut Client) -> Result<(), Ending> {
        match act {
            churn::Act::Leave => {
                if self.counted == Counted::Waiting {
                    client
                        .send(ClientMsg::LeaveWaitroom { seq: None })
                        .await
                        .map_err(|e| Ending::Error(error_kind(&e)))?;
                }
                Ok(())
            }
            churn::Act::Drop(None) => Err(Ending::Abandoned),
            churn::Act::Drop(Some(away)) => {
                self.game = None;
                // As a reloaded page: its channels are gone with it.
                #[cfg(feature = "webrtc")]
                if let Some(prober) = self.prober.as_mut() {
                    prober.forget_game();
                }
                churn::come_back(client, &self.plan, &self.params, self.from, away)
                    .await
                    .map_err(|e| Ending::Error(error_kind(&e)))
            }
        }
    }

    /// The next message from the host, or (a bot with a WebRTC peer) what its
    /// connections have to send after a packet or a timer.
    async fn next_message(&mut self, client: &mut Client) -> Result<Got, Ending> {
        let limit = self.plan.message_timeout;
        #[cfg(feature = "webrtc")]
        if let Some(prober) = self.prober.as_mut() {
            return tokio::select! {
                msg = client.recv(limit) => msg.map(Got::Message).map_err(|e| Ending::Error(error_kind(&e))),
                out = prober.drive() => Ok(Got::Peer(out)),
            };
        }
        client.recv(limit).await.map(Got::Message).map_err(|e| Ending::Error(error_kind(&e)))
    }

    /// Hands the partners' inputs that came over the game's channels to the game; a
    /// closed channel switches it to the relay.
    fn peer_news(&mut self) {
        #[cfg(feature = "webrtc")]
        if let Some(prober) = self.prober.as_mut() {
            let (inputs, closed) = prober.take_game_news();
            if let Some(player) = self.game.as_mut() {
                for (slot, from, inputs) in inputs {
                    player.peer_inputs(slot, from, inputs);
                }
                if closed {
                    player.ask_relay();
                }
            }
        }
    }

    /// Starts, feeds and ends the bot's copy of a game; the tick rate of a game that
    /// starts.
    async fn follow_game(&mut self, msg: &ServerMsg) -> Result<Option<u32>, Ending> {
        match msg {
            ServerMsg::StartGame { game, tick_rate, .. } => {
                if self.game.as_ref().is_some_and(|p| p.game == *game) {
                    return Ok(None); // the same game again (a resume): already playing
                }
                let (addr, msg, seed) = (self.plan.addr.clone(), msg.clone(), self.rng.random());
                #[cfg(feature = "webrtc")]
                let p2p = self.prober.is_some();
                #[cfg(not(feature = "webrtc"))]
                let p2p = false;
                let player = tokio::task::spawn_blocking(move || Player::start(&addr, &msg, seed, p2p))
                    .await
                    .map_err(|e| Ending::Error(format!("game: {e}")))?
                    .map_err(|e| Ending::Error(format!("game: {e}")))?;
                self.game = Some(player);
                return Ok(Some(*tick_rate));
            }
            ServerMsg::GameInputs { .. } | ServerMsg::SeatChange { .. } | ServerMsg::GameRelay { .. } => {
                if let Some(player) = self.game.as_mut() {
                    player.receive(msg).map_err(|e| Ending::Error(format!("game: {e}")))?;
                }
            }
            ServerMsg::GameEnd { .. } | ServerMsg::Outcome { .. } => self.game = None,
            _ => {}
        }
        Ok(None)
    }

    /// Keeps the connection open (answering heartbeats) until the run ends.
    async fn hold(&mut self, client: &mut Client) -> Ending {
        let stop = self.plan.stop.clone();
        loop {
            tokio::select! {
                () = stop.cancelled() => return Ending::Held,
                msg = client.recv(Duration::from_secs(3600)) => match msg {
                    Ok(_) | Err(ClientError::Timeout(..)) => {} // silence is what holding is
                    Err(e) => return Ending::Error(error_kind(&e)),
                },
            }
        }
    }

    /// Moves the bot between the progress counters.
    fn count(&mut self, to: Counted) {
        if self.counted == to {
            return;
        }
        match self.counted {
            Counted::Waiting => self.live.waiting(-1),
            Counted::Playing => self.live.game_over(),
            Counted::Elsewhere => {}
        }
        match to {
            Counted::Waiting => self.live.waiting(1),
            Counted::Playing => self.live.playing(),
            Counted::Elsewhere => {}
        }
        self.counted = to;
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.count(Counted::Elsewhere);
    }
}

/// Numbers the bot's own steps (`advance`, `submit`); whether `msg` is one.
fn set_seq(msg: &mut ClientMsg, value: u64) -> bool {
    match msg {
        ClientMsg::Advance { seq, .. } | ClientMsg::Submit { seq, .. } => {
            *seq = Some(value);
            true
        }
        _ => false,
    }
}
