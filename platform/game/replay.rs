//! Replaying games from a run's event log with the host's engine: the module copy the
//! run kept (`files/`), the seed and config of `game_started`, and every player's
//! `game_inputs` reproduce the game tick by tick; each hash a page reported, and each
//! copy's final hash, is compared with the replay's. The pages are not involved.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::engine::{Engine, GameError};
use crate::eventlog::{Event, Records};
use crate::protocol::{GameId, ParticipantId};

/// One game as the log has it.
#[derive(Debug, Clone, Default)]
struct Logged {
    module: String,
    seed: u32,
    players: Vec<ParticipantId>,
    bot_seats: usize,
    tick_rate: u32,
    config: Value,
    inputs: Vec<Vec<Value>>,
    /// Reported hashes: tick → (slot, hash).
    hashes: BTreeMap<u64, Vec<(usize, String)>>,
    /// Each copy's end: participant → (tick, hash, result).
    finals: Vec<(ParticipantId, u64, String)>,
    /// Seats that changed hands.
    seat_changes: Vec<crate::game::SeatChange>,
    ended: Option<String>,
}

/// What a replay found for one game.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Replayed {
    pub game: GameId,
    /// Ticks replayed (every player's input was logged for each).
    pub ticks: u64,
    /// The replay's hash after the last tick.
    pub hash: String,
    /// The module's result, if the game was over in the replay.
    pub result: Option<Value>,
    /// Reported hashes compared with the replay's, and how many agreed.
    pub compared: usize,
    pub agreed: usize,
    /// The first disagreement: (tick, slot, reported, replayed).
    pub first_mismatch: Option<(u64, usize, String, String)>,
    /// How the game ended in the log.
    pub ended: Option<String>,
    /// The module failed at a tick (as every copy did, if it is deterministic).
    pub error: Option<String>,
}

impl Replayed {
    pub fn matches(&self) -> bool {
        self.first_mismatch.is_none()
    }
}

/// Replays every game of the run in `run_dir` (or only `only`).
pub fn replay_run(run_dir: &Path, only: Option<GameId>) -> Result<Vec<Replayed>, GameError> {
    replay_run_with(run_dir, only, None)
}

/// [`replay_run`], writing one JSON line per game tick to `ticks`: `game`, `tick`,
/// `inputs` (every seat's, bots' included) and `record` (the module's `record(state)`
/// after the tick, when it exports one).
pub fn replay_run_with(
    run_dir: &Path,
    only: Option<GameId>,
    mut ticks: Option<&mut dyn std::io::Write>,
) -> Result<Vec<Replayed>, GameError> {
    let mut emit = |line: Value| match ticks.as_mut() {
        Some(out) => writeln!(out, "{line}").map_err(|e| GameError(format!("cannot write the ticks: {e}"))),
        None => Ok(()),
    };
    let records = Records::open(&run_dir.join("events.jsonl"))
        .map_err(|e| GameError(format!("cannot read {}: {e}", run_dir.join("events.jsonl").display())))?;
    let mut files = BTreeMap::new();
    let mut games: BTreeMap<GameId, Logged> = BTreeMap::new();
    let mut order = Vec::new();
    for record in records {
        match record.event {
            Event::RunStarted { files: f, .. } => files = f,
            Event::GameCreated { game, players, .. } => {
                order.push(game);
                games.entry(game).or_default().players = players;
            }
            Event::GameStarted { game, module, seed, players, config, bot_seats, tick_rate, bots_by_host, .. } => {
                let g = games.entry(game).or_default();
                // Bot seats the host played have their inputs in the log, as a player's.
                let (logged, computed) =
                    if bots_by_host { (players + bot_seats as usize, 0) } else { (players, bot_seats as usize) };
                (g.module, g.seed, g.config, g.inputs) = (module, seed, config, vec![Vec::new(); logged]);
                (g.bot_seats, g.tick_rate) = (computed, tick_rate);
            }
            Event::GameInputs { game, slot, from, inputs, hashes, .. } => {
                let Some(g) = games.get_mut(&game) else { continue };
                if let Some(held) = g.inputs.get_mut(slot)
                    && held.len() as u64 == from
                {
                    held.extend(inputs);
                }
                for (tick, hash) in hashes {
                    g.hashes.entry(tick).or_default().push((slot, hash));
                }
            }
            // A seat the host took over goes on with its logged inputs.
            Event::SeatChanged { by_host: true, .. } => {}
            Event::SeatChanged { game, slot, tick, to, participant, .. } => {
                if let Some(g) = games.get_mut(&game) {
                    let player = (to == crate::game::SeatKind::Player).then_some(participant);
                    g.seat_changes.push(crate::game::SeatChange { slot, tick, to, player });
                    if to == crate::game::SeatKind::Player
                        && let Some(held) = g.inputs.get_mut(slot)
                    {
                        held.resize(tick as usize, Value::Null); // the newcomer's inputs follow
                    }
                }
            }
            Event::GameCompleted { game, participant, tick: Some(tick), hash: Some(hash), .. } => {
                if let Some(g) = games.get_mut(&game) {
                    g.finals.push((participant, tick, hash));
                }
            }
            Event::GameEnded { game, reason } => {
                if let Some(g) = games.get_mut(&game) {
                    g.ended = Some(reason.as_str().to_owned());
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for id in order.into_iter().filter(|id| only.is_none_or(|o| o == *id)) {
        let g = &games[&id];
        if g.module.is_empty() {
            continue; // never started
        }
        let sources = kept_sources(run_dir, &files, &g.module)?;
        out.push(replay_one(id, g, sources, &mut emit)?);
    }
    Ok(out)
}

/// The game folder's files the run kept, by path relative to the folder.
fn kept_sources(
    run_dir: &Path,
    files: &BTreeMap<String, String>,
    module: &str,
) -> Result<Arc<BTreeMap<String, String>>, GameError> {
    let folder = module.rsplit_once('/').map_or("", |(d, _)| d);
    let mut sources = BTreeMap::new();
    for (name, hash) in files {
        let Some(rel) = name.strip_prefix(folder).and_then(|r| r.strip_prefix('/')) else { continue };
        let base = name.rsplit('/').next().unwrap_or(name);
        let copy = run_dir.join("files").join(format!("{}-{base}", &hash[..16.min(hash.len())]));
        if let Ok(text) = std::fs::read_to_string(&copy) {
            sources.insert(rel.to_owned(), text);
        }
    }
    if !sources.keys().any(|k| module.ends_with(k.as_str())) {
        return Err(GameError(format!("the run did not keep a copy of `{module}`")));
    }
    Ok(Arc::new(sources))
}

fn replay_one(
    id: GameId,
    g: &Logged,
    sources: Arc<BTreeMap<String, String>>,
    emit: &mut dyn FnMut(Value) -> Result<(), GameError>,
) -> Result<Replayed, GameError> {
    let main = g.module.rsplit('/').next().unwrap_or(&g.module);
    let engine = Engine::load(sources, main)?;
    let humans = g.inputs.len();
    engine.init(&g.config, g.seed, humans + g.bot_seats, g.tick_rate)?;
    // Until the last tick for which every seat still played by a player has its input.
    let ticks = (0..humans)
        .map(|s| match g.seat_changes.iter().filter(|c| c.slot == s).max_by_key(|c| c.tick) {
            Some(c) if c.to != crate::game::SeatKind::Player => u64::MAX,
            _ => g.inputs[s].len() as u64,
        })
        .min()
        .unwrap_or(0);
    let ticks = if ticks == u64::MAX { g.inputs.iter().map(Vec::len).max().unwrap_or(0) as u64 } else { ticks };
    let finals_at: BTreeMap<u64, Vec<(usize, String)>> = g.finals.iter().fold(BTreeMap::new(), |mut m, (p, t, h)| {
        let slot = g.players.iter().position(|x| x == p).unwrap_or(0);
        m.entry(*t).or_insert_with(Vec::new).push((slot, h.clone()));
        m
    });
    let mut r = Replayed {
        game: id,
        ticks: 0,
        hash: engine.hash()?,
        result: None,
        compared: 0,
        agreed: 0,
        first_mismatch: None,
        ended: g.ended.clone(),
        error: None,
    };
    let compare = |tick: u64, hash: &str, reported: &[(usize, String)], r: &mut Replayed| {
        for (slot, h) in reported {
            r.compared += 1;
            if h == hash {
                r.agreed += 1;
            } else if r.first_mismatch.is_none() {
                r.first_mismatch = Some((tick, *slot, h.clone(), hash.to_owned()));
            }
        }
    };
    for tick in 0..ticks {
        let held = |slot: usize| g.inputs[slot].get(tick as usize).cloned();
        // Bot seats and taken seats: every copy computed them alike.
        let Some(inputs) = engine.row(tick, humans, g.bot_seats, &g.seat_changes, held)? else { break };
        if let Err(e) = engine.step(&inputs) {
            // The pages failed here too: their last report is the state before it.
            r.error = Some(format!("tick {tick}: {}", e.0));
            let hash = engine.hash()?;
            compare(tick, &hash, finals_at.get(&tick).map_or(&[][..], Vec::as_slice), &mut r);
            break;
        }
        r.ticks = tick + 1;
        emit(serde_json::json!({"game": id, "tick": tick, "inputs": inputs, "record": engine.record()?}))?;
        let (hashes, finals) = (g.hashes.get(&tick), finals_at.get(&tick));
        if hashes.is_some() || finals.is_some() {
            let hash = engine.hash()?;
            compare(tick, &hash, hashes.map_or(&[][..], Vec::as_slice), &mut r);
            compare(tick, &hash, finals.map_or(&[][..], Vec::as_slice), &mut r);
        }
        if let Some(result) = engine.done()? {
            r.result = Some(result);
            break;
        }
    }
    r.hash = engine.hash()?;
    Ok(r)
}

/// What `cohort replay` prints: one line per game, or one JSON object per line.
pub fn describe(games: &[Replayed], json: bool) -> String {
    let mut out = String::new();
    for g in games {
        if json {
            out.push_str(&serde_json::to_string(g).unwrap_or_default());
        } else {
            let verdict = match &g.first_mismatch {
                None => format!("{}/{} reported hashes agree", g.agreed, g.compared),
                Some((tick, slot, reported, replayed)) => {
                    format!("MISMATCH at tick {tick}: slot {slot} reported {reported}, the replay has {replayed}")
                }
            };
            let result = match (&g.result, &g.error) {
                (_, Some(e)) => format!("the module failed at {e}"),
                (Some(r), None) => format!("result {r}"),
                (None, None) => "not over".to_owned(),
            };
            let ended = g.ended.as_deref().unwrap_or("running");
            out.push_str(&format!(
                "game {}: {} ticks, hash {}, {result}, ended {ended}; {verdict}",
                g.game.0, g.ticks, g.hash
            ));
        }
        out.push('\n');
    }
    if games.is_empty() && !json {
        out.push_str("no game started in this run\n");
    }
    out
}
