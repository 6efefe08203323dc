//! A bot's copy of a game: the module fetched from the host and run in the host's
//! engine, stepped in lockstep at the game's tick rate, over the host relay or (a bot
//! with a WebRTC peer) over peer-to-peer channels with the relay as the fallback, as a
//! page does. Its own seat plays the module's `bot` (or random inputs from the module's
//! `inputs`); it reports state hashes and its end like a page does.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::game::engine::{Engine, GameError};
use crate::protocol::{ClientMsg, GameId, ServerMsg};

/// One game as a bot plays it.
pub struct Player {
    pub game: GameId,
    slot: usize,
    engine: Engine,
    delay: u64,
    /// Seats after the players' that the module's `bot` plays on every copy.
    bot_seats: usize,
    /// Every player's inputs known so far, from tick 0.
    inputs: Vec<Vec<Value>>,
    /// The next tick to step.
    tick: u64,
    /// Tick intervals so far: the game's clock (the bot never steps ahead of it).
    clock: u64,
    /// Own inputs up to here were sent to the host.
    sent: u64,
    hashes: Vec<(u64, String)>,
    samples: Vec<Value>,
    with_bot: bool,
    rng: StdRng,
    over: bool,
    /// Plays over peer-to-peer channels: the relay only when one fails or stalls.
    p2p: bool,
    asked_relay: bool,
    /// A `game_relay` to send at the next tick.
    relay_due: bool,
    /// Tick intervals in a row without a step (a partner's input missing).
    stalled: u32,
    tick_rate: u32,
    /// The tick the module's `bot` last chose a move for: it waits to see it applied
    /// (its input takes `delay` ticks) before choosing again, as a person would.
    moved_for: Option<u64>,
    /// Seats that changed hands (a player left).
    changes: Vec<crate::game::SeatChange>,
    /// What `init` needs again when the game is recomputed after a seat change.
    setup: (Value, u32, usize, u32),
}

impl Player {
    /// Starts (or, on resume, rejoins) the game of a `start_game`: fetches the module
    /// from the host at `addr`.
    /// `p2p`: the bot holds the game's channels (else it plays over the relay).
    pub fn start(addr: &str, msg: &ServerMsg, seed: u64, p2p: bool) -> Result<Self, GameError> {
        let ServerMsg::StartGame {
            game,
            players,
            slot,
            module,
            config,
            seed: game_seed,
            input_delay,
            inputs,
            bot_seats,
            tick_rate,
            seat_changes,
            ..
        } = msg
        else {
            return Err(GameError("not a start_game".into()));
        };
        let (dir, main) = module.rsplit_once('/').ok_or_else(|| GameError(format!("odd module URL {module}")))?;
        let sources = fetch_sources(addr, dir, main)?;
        let engine = Engine::load(Arc::new(sources), main)?;
        engine.init(config, *game_seed, players.len() + *bot_seats as usize, *tick_rate)?;
        let exports = engine.exports()?;
        let mut inputs = inputs.clone();
        inputs.resize(players.len(), Vec::new());
        let mut player = Player {
            game: *game,
            slot: *slot,
            engine,
            delay: u64::from(*input_delay),
            bot_seats: *bot_seats as usize,
            sent: inputs[*slot].len() as u64,
            inputs,
            tick: 0,
            clock: 0,
            hashes: Vec::new(),
            with_bot: exports.has("bot"),
            samples: exports.inputs.unwrap_or_default(),
            rng: StdRng::seed_from_u64(seed),
            over: false,
            p2p,
            asked_relay: false,
            relay_due: false,
            stalled: 0,
            tick_rate: *tick_rate,
            moved_for: None,
            changes: seat_changes.clone(),
            setup: (config.clone(), *game_seed, players.len() + *bot_seats as usize, *tick_rate),
        };
        if player.inputs.iter().any(|i| !i.is_empty()) {
            // Resumed: the channels are new, the partners ahead; catch up from the host.
            player.ask_relay();
        }
        // Own inputs for the first `delay` ticks are empty by definition.
        while (player.inputs[player.slot].len() as u64) < player.delay {
            player.inputs[player.slot].push(Value::Null);
        }
        Ok(player)
    }

    /// A partner's inputs from the relay (or a catch-up), a seat that changed hands, or
    /// the host saying the group plays over the relay now.
    pub fn receive(&mut self, msg: &ServerMsg) -> Result<(), GameError> {
        if let ServerMsg::GameRelay { game } = msg
            && *game == self.game
            && !self.asked_relay
        {
            // Someone's path failed: what was sent before went over channels only.
            self.ask_relay();
            return Ok(());
        }
        if let ServerMsg::SeatChange { game, slot, tick, to, player, .. } = msg
            && *game == self.game
        {
            self.changes.push(crate::game::SeatChange { slot: *slot, tick: *tick, to: *to, player: *player });
            if *to == crate::game::SeatKind::Player {
                self.ask_relay(); // a newcomer's inputs come through the host
            }
            if let Some(held) = self.inputs.get_mut(*slot) {
                // A newcomer's inputs start at `tick` (the ticks before were the bot's).
                held.resize(*tick as usize, Value::Null);
            }
            if self.tick > *tick {
                // Stepped past the change with the leaver's inputs: compute it again.
                let (config, seed, seats, rate) = &self.setup;
                self.engine.init(config, *seed, *seats, *rate)?;
                let until = std::mem::take(&mut self.tick);
                while self.tick < until {
                    if !matches!(self.step_one()?, Some(None)) {
                        break;
                    }
                }
                self.hashes.clear(); // those ticks were reported already
            }
            return Ok(());
        }
        if let ServerMsg::GameInputs { game, slot, from, inputs } = msg
            && *game == self.game
            && *slot != self.slot
            && let Some(held) = self.inputs.get_mut(*slot)
        {
            let have = held.len() as u64;
            if *from <= have {
                held.extend(inputs.iter().skip((have - from) as usize).cloned());
            }
        }
        Ok(())
    }

    /// Inputs of the partner in `slot` from tick `from` that came over a channel.
    /// Anything odd is ignored, and nothing is held further ahead than a partner can
    /// be: lockstep keeps it within two input delays and the 2 s a hidden page commits
    /// ahead of this copy (a partner cannot make it hold more).
    pub fn peer_inputs(&mut self, slot: usize, from: u64, inputs: Vec<Value>) {
        let ahead = self.tick + 2 * self.delay + 4 * u64::from(self.tick_rate) + 64;
        if self.changes.iter().any(|c| c.slot == slot) {
            return; // who left has no say; a newcomer plays through the host
        }
        let Some(held) = self.inputs.get_mut(slot).filter(|_| slot != self.slot) else { return };
        let have = held.len() as u64;
        if from > have || inputs.len() > 1024 {
            return;
        }
        for input in inputs.into_iter().skip((have - from) as usize) {
            if held.len() as u64 >= ahead || input.to_string().len() > crate::game::lockstep::MAX_INPUT_BYTES {
                return;
            }
            held.push(input);
        }
    }

    /// Whether this copy reached the game's end.
    pub fn is_over(&self) -> bool {
        self.over
    }

    /// This seat's inputs so far, from tick 0 (what the channels carry).
    pub fn own(&self) -> &[Value] {
        &self.inputs[self.slot]
    }

    /// Asks the host to relay from now on, with every partner input it holds that
    /// this copy lacks (sent at the next tick).
    pub fn ask_relay(&mut self) {
        self.asked_relay = true;
        self.relay_due = true;
    }

    /// One tick interval: commit this seat's input, step what can be stepped, and say
    /// what to send.
    pub fn on_tick(&mut self) -> Result<Vec<ClientMsg>, GameError> {
        let mut out = Vec::new();
        if !self.asked_relay && !self.p2p {
            // Without a peer-to-peer channel the group plays over the relay.
            self.ask_relay();
        }
        if std::mem::take(&mut self.relay_due) {
            let need = (0..self.inputs.len()).filter(|s| *s != self.slot).map(|s| self.inputs[s].len()).min();
            out.push(ClientMsg::GameRelay { game: self.game, need: need.unwrap_or(0) as u64, seq: None });
        }
        if self.over {
            return Ok(out);
        }
        self.clock += 1;
        // Replayed inputs of a resumed game are stepped at once; then one tick per
        // interval, catching up after a stall.
        let known = self.inputs.iter().map(Vec::len).min().unwrap_or(0) as u64;
        self.clock = self.clock.max(known.saturating_sub(self.delay));
        while self.tick < self.clock {
            if (self.inputs[self.slot].len() as u64) <= self.tick + self.delay {
                let input = self.choose()?;
                self.inputs[self.slot].push(input);
            }
            let Some(done) = self.step_one()? else { break };
            if let Some(result) = done {
                self.over = true;
                out.extend(self.flush());
                out.push(self.complete(result));
                return Ok(out);
            }
        }
        // Waiting for a partner's input a second or more: ask the host (again every
        // second while it lasts), as a page does.
        self.stalled = if self.tick < self.clock { self.stalled + 1 } else { 0 };
        if self.stalled > 0 && self.stalled.is_multiple_of(self.tick_rate.max(1)) {
            self.ask_relay();
        }
        out.extend(self.flush());
        Ok(out)
    }

    /// Steps tick `self.tick` if every input is known: `None` if not; `Some(result)`
    /// with the module's result once the game is over (the tick is not advanced then).
    fn step_one(&mut self) -> Result<Option<Option<Value>>, GameError> {
        let (tick, players, bots) = (self.tick, self.inputs.len(), self.bot_seats);
        let held = |slot: usize| self.inputs[slot].get(tick as usize).cloned();
        let Some(row) = self.engine.row(tick, players, bots, &self.changes, held)? else { return Ok(None) };
        if let Err(e) = self.engine.step(&row) {
            // As a page does: every copy fails alike, each reports the error.
            let error = e.0.chars().take(200).collect::<String>();
            return Ok(Some(Some(serde_json::json!({ "error": error }))));
        }
        if tick % crate::game::lockstep::HASH_EVERY == crate::game::lockstep::HASH_EVERY - 1 {
            self.hashes.push((tick, self.engine.hash()?));
        }
        match self.engine.done()? {
            Some(result) => Ok(Some(Some(result))),
            None => {
                self.tick += 1;
                Ok(Some(None))
            }
        }
    }

    /// This copy's `game_complete`.
    fn complete(&self, result: Value) -> ClientMsg {
        let (game, tick, hash) = (self.game, Some(self.tick), self.engine.hash().ok());
        ClientMsg::GameComplete { game, result: Some(result), tick, hash, seq: None }
    }

    fn choose(&mut self) -> Result<Value, GameError> {
        if self.with_bot {
            if self.moved_for.is_some_and(|t| t >= self.tick) {
                return Ok(Value::Null);
            }
            let input = self.engine.bot(self.slot)?;
            if !input.is_null() {
                self.moved_for = Some(self.inputs[self.slot].len() as u64);
            }
            return Ok(input);
        }
        if self.samples.is_empty() || self.rng.random_bool(0.3) {
            return Ok(Value::Null);
        }
        Ok(self.samples[self.rng.random_range(0..self.samples.len())].clone())
    }

    /// Own inputs (and hashes) the host has not had yet.
    fn flush(&mut self) -> Option<ClientMsg> {
        let own = &self.inputs[self.slot];
        if own.len() as u64 <= self.sent && self.hashes.is_empty() {
            return None;
        }
        let end = own.len().min(self.sent as usize + crate::game::lockstep::MAX_BATCH);
        let inputs = own[self.sent as usize..end].to_vec();
        let from = self.sent;
        self.sent = end as u64;
        let hashes = std::mem::take(&mut self.hashes);
        Some(ClientMsg::GameInputs { game: self.game, from, inputs, hashes, seq: None })
    }
}

/// The module at `dir/main` and the files it imports statically, relatively (what a
/// bot needs; a page's browser resolves imports itself).
fn fetch_sources(addr: &str, dir: &str, main: &str) -> Result<BTreeMap<String, String>, GameError> {
    let mut sources = BTreeMap::new();
    let mut todo = vec![main.to_owned()];
    while let Some(rel) = todo.pop() {
        if sources.contains_key(&rel) || sources.len() >= crate::game::files::MAX_FILES {
            continue;
        }
        let text = http_get(addr, &format!("{dir}/{rel}"))?;
        let base = rel.rsplit_once('/').map_or("", |(d, _)| d);
        for spec in relative_imports(&text) {
            let joined = if base.is_empty() {
                spec.trim_start_matches("./").to_owned()
            } else {
                format!("{base}/{}", spec.trim_start_matches("./"))
            };
            if !joined.contains("..") {
                todo.push(joined);
            }
        }
        sources.insert(rel, text);
    }
    Ok(sources)
}

/// Specifiers of `import … from "./x.js"` and `import "./x.js"`.
fn relative_imports(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines().map(str::trim_start).filter(|l| l.starts_with("import ") || l.starts_with("export ")) {
        for quote in ['"', '\''] {
            let mut parts = line.split(quote);
            parts.next();
            if let Some(spec) = parts.next()
                && spec.starts_with("./")
            {
                out.push(spec.to_owned());
            }
        }
    }
    out
}

/// A GET of `path` from the host at `addr` (loopback or the host the bots were pointed
/// at): a game file, at most 8 MiB.
fn http_get(addr: &str, path: &str) -> Result<String, GameError> {
    let fail = |e: ureq::Error| GameError(format!("cannot fetch {path}: {e}"));
    let mut response = crate::client::http::agent().get(crate::client::http::url(addr, path)).call().map_err(fail)?;
    if response.status() != 200 {
        return Err(GameError(format!("{path}: the host answered {}", response.status())));
    }
    response.body_mut().with_config().limit(8 << 20).read_to_string().map_err(fail)
}
