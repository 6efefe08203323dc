//! Bot seats the host plays itself, for participants who are not told about bots
//! (`tell_about_bots` false for their condition): their pages must not compute a bot's
//! inputs (that would tell them a computer plays), so the host steps a copy of the
//! game in its engine (QuickJS, off the actor's thread) with every player's inputs,
//! asks the module's `bot` for each such seat's input, and sends it to the group as a
//! player's, `input_delay` ticks ahead like any player's. The pages are told of
//! players, not bots.
//!
//! One thread per such game, fed by the actor (`Effect::HostBots`) and answering on
//! the actor's inbox (`ActorMsg::BotInputs`, `ActorMsg::BotsFailed`). A module call has
//! the engine's deadline and the engine its memory cap: a copy that throws or stalls
//! ends with a reason, never stalls the actor or another game.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;

use serde_json::Value;
use tokio::sync::mpsc as tokio_mpsc;

use super::Input;
use super::actor::ActorMsg;
use crate::game::engine::Engine;
use crate::protocol::GameId;

/// A game the host keeps a copy of: what its copies were started with, and which
/// seats the host plays.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    pub game: GameId,
    /// The multiplayer scene's id (its game folder).
    pub scene: String,
    pub config: Value,
    pub seed: u32,
    pub seats: usize,
    pub tick_rate: u32,
    pub input_delay: u32,
    pub bots: Vec<usize>,
    /// Every seat's inputs so far (a game whose seat the host takes over mid-game;
    /// empty at the start).
    pub held: Vec<Vec<Value>>,
}

/// What the actor tells a game's host copy.
#[derive(Debug, Clone, PartialEq)]
pub enum HostBots {
    /// A game starts (or has gone on) whose seats `bots` the host plays.
    Start(Copy),
    /// The host plays `slot` too from now on (its player left).
    Take { game: GameId, slot: usize },
    /// `slot` is empty from now on (its player left, `on_dropout: continue`): no input.
    Vacate { game: GameId, slot: usize },
    /// A player's new inputs, from tick `from`.
    Inputs { game: GameId, slot: usize, from: u64, inputs: Vec<Value> },
    /// The game ended.
    Stop { game: GameId },
}

impl HostBots {
    /// The game the command is about.
    pub fn game(&self) -> GameId {
        match self {
            HostBots::Start(copy) => copy.game,
            HostBots::Take { game, .. }
            | HostBots::Vacate { game, .. }
            | HostBots::Inputs { game, .. }
            | HostBots::Stop { game } => *game,
        }
    }
}

/// Most ticks a copy steps before it answers (a long catch-up is sent in parts).
const MAX_TICKS_PER_ANSWER: usize = 64;

enum Cmd {
    Inputs { slot: usize, from: u64, inputs: Vec<Value> },
    Take { slot: usize },
    Vacate { slot: usize },
}

/// The host copies of the games running now.
pub struct Runner {
    /// Each multiplayer scene's game sources and main module, by scene id.
    folders: HashMap<String, (Arc<BTreeSources>, String)>,
    inbox: tokio_mpsc::WeakSender<ActorMsg>,
    games: HashMap<GameId, mpsc::Sender<Cmd>>,
}

type BTreeSources = std::collections::BTreeMap<String, String>;

impl Runner {
    /// `folders`: each multiplayer scene's game sources (by scene id) and its main
    /// module's name.
    pub fn new(
        folders: &HashMap<String, Arc<crate::game::files::GameFolder>>,
        inbox: tokio_mpsc::WeakSender<ActorMsg>,
    ) -> Self {
        let folders =
            folders.iter().map(|(scene, f)| (scene.clone(), (Arc::new(f.sources()), f.main.clone()))).collect();
        Self { folders, inbox, games: HashMap::new() }
    }

    pub fn handle(&mut self, command: HostBots) {
        match command {
            HostBots::Start(copy) => {
                let game = copy.game;
                let Some((sources, main)) = self.folders.get(&copy.scene).cloned() else {
                    return self.fail(game, format!("no game folder for scene `{}`", copy.scene));
                };
                let (tx, rx) = mpsc::channel();
                let inbox = self.inbox.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("cohort-bots-{}", &game.0.to_string()[..8]))
                    .spawn(move || copy.run(sources, &main, &rx, &inbox));
                match spawned {
                    Ok(_) => {
                        self.games.insert(game, tx);
                    }
                    Err(e) => self.fail(game, format!("cannot start the host's copy: {e}")),
                }
            }
            HostBots::Inputs { game, slot, from, inputs } => {
                if let Some(tx) = self.games.get(&game)
                    && tx.send(Cmd::Inputs { slot, from, inputs }).is_err()
                {
                    self.games.remove(&game);
                }
            }
            HostBots::Take { game, slot } => {
                if let Some(tx) = self.games.get(&game) {
                    let _ = tx.send(Cmd::Take { slot });
                }
            }
            HostBots::Vacate { game, slot } => {
                if let Some(tx) = self.games.get(&game) {
                    let _ = tx.send(Cmd::Vacate { slot });
                }
            }
            HostBots::Stop { game } => {
                // Dropping the sender ends the copy's thread.
                self.games.remove(&game);
            }
        }
    }

    fn fail(&self, game: GameId, error: String) {
        if let Some(inbox) = self.inbox.upgrade() {
            let _ = inbox.try_send(ActorMsg::Input(Input::BotsFailed { game, error }));
        }
    }

    /// Games with a host copy now.
    pub fn running(&self) -> usize {
        self.games.len()
    }
}

impl Copy {
    fn run(
        self,
        sources: Arc<BTreeSources>,
        main: &str,
        rx: &mpsc::Receiver<Cmd>,
        inbox: &tokio_mpsc::WeakSender<ActorMsg>,
    ) {
        let send = |msg: ActorMsg| match inbox.upgrade() {
            // Blocking on a full inbox is this thread's own wait, never the actor's.
            Some(tx) => tx.blocking_send(msg).is_ok(),
            None => false,
        };
        let fail = |error: String| {
            send(ActorMsg::Input(Input::BotsFailed { game: self.game, error }));
        };
        let engine = match Engine::load(sources, main) {
            Ok(e) => e,
            Err(e) => return fail(format!("the game module does not load on the host: {e}")),
        };
        if let Err(e) = engine.init(&self.config, self.seed, self.seats, self.tick_rate) {
            return fail(format!("init(): {e}"));
        }
        let delay = self.input_delay as u64;
        let mut bots = self.bots.clone();
        // Seats left empty: `null` for every tick from their player's last input.
        let mut empty: Vec<usize> = Vec::new();
        // Every seat's inputs from tick 0.
        let mut held: Vec<Vec<Value>> = vec![Vec::new(); self.seats];
        for (slot, inputs) in self.held.iter().enumerate().take(self.seats) {
            held[slot].clone_from(inputs);
        }
        let mut tick: u64 = 0;
        let mut first = true;
        loop {
            let mut pending = Vec::new();
            if !first {
                // Wait for news, then take whatever else arrived: a burst is stepped once.
                match rx.recv() {
                    Ok(cmd) => pending.push(cmd),
                    Err(_) => return, // the game ended
                }
                while let Ok(cmd) = rx.try_recv() {
                    pending.push(cmd);
                }
            }
            first = false;
            for cmd in pending {
                match cmd {
                    Cmd::Inputs { slot, from, inputs } => {
                        let Some(row) = held.get_mut(slot) else { continue };
                        // In order and without gaps (the actor checked them).
                        let skip = (row.len() as u64).saturating_sub(from) as usize;
                        row.extend(inputs.into_iter().skip(skip));
                    }
                    Cmd::Take { slot } => {
                        if slot < self.seats && !bots.contains(&slot) {
                            bots.push(slot);
                        }
                    }
                    Cmd::Vacate { slot } => {
                        if slot < self.seats && !empty.contains(&slot) {
                            empty.push(slot);
                        }
                    }
                }
            }
            let mut made: Vec<(usize, u64, Vec<Value>)> = Vec::new();
            let step = |held: &mut Vec<Vec<Value>>, tick: u64, made: &mut Vec<(usize, u64, Vec<Value>)>| {
                // A seat the host plays has, for every tick up to `tick + delay`, either
                // its player's inputs (before they left), empty inputs (the ticks in
                // flight when it took the seat, or the first `delay`, as on every page),
                // or the module's `bot` choice from the state before `tick`: chosen
                // `delay` ticks ahead, as a player's page would.
                for slot in &bots {
                    let row = &mut held[*slot];
                    let from = row.len() as u64;
                    while (row.len() as u64) < tick + delay {
                        row.push(Value::Null);
                    }
                    if row.len() as u64 == tick + delay {
                        row.push(engine.bot(*slot).map_err(|e| format!("bot(): {e}"))?);
                    }
                    if row.len() as u64 > from {
                        made.push((*slot, from, row[from as usize..].to_vec()));
                    }
                }
                Ok::<(), String>(())
            };
            // Step as far as every seat's inputs go.
            loop {
                if let Err(e) = step(&mut held, tick, &mut made) {
                    return fail(e);
                }
                for slot in &empty {
                    if held[*slot].len() as u64 <= tick {
                        held[*slot].push(Value::Null);
                    }
                }
                if !held.iter().all(|r| r.len() as u64 > tick) {
                    break;
                }
                let row: Vec<Value> = held.iter().map(|r| r[tick as usize].clone()).collect();
                if let Err(e) = engine.step(&row) {
                    return fail(format!("step(): {e}"));
                }
                tick += 1;
            }
            // One message per seat and stretch of ticks.
            let mut by_slot: std::collections::BTreeMap<usize, (u64, Vec<Value>)> = std::collections::BTreeMap::new();
            for (slot, from, inputs) in made {
                let entry = by_slot.entry(slot).or_insert((from, Vec::new()));
                entry.1.extend(inputs);
            }
            for (slot, (from, inputs)) in by_slot {
                for (i, chunk) in inputs.chunks(MAX_TICKS_PER_ANSWER).enumerate() {
                    let from = from + (i * MAX_TICKS_PER_ANSWER) as u64;
                    let msg = ActorMsg::Input(Input::BotInputs { game: self.game, slot, from, inputs: chunk.to_vec() });
                    if !send(msg) {
                        return;
                    }
                }
            }
        }
    }
}
