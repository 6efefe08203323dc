//! `cohort validate` for games: the module loads in the host's engine, exports the
//! interface, and is deterministic — two copies with the same seed (one of them with
//! an earlier game behind it), fed the same random inputs (and the module's `bot` for
//! some seats), agree on every tick's hash and on the whole state as JSON.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use rand::{Rng, SeedableRng};

use super::MAX_INPUT_BYTES;
use super::engine::{Engine, Exports, GameError};
use super::files::GameFolder;

/// The functions every game exports.
pub const REQUIRED: &[&str] = &["init", "step", "render", "input", "done"];
/// Ticks the two copies are compared for.
const TICKS: u64 = 300;
/// Most ticks one copy is played on for its result (`to_end`): half an hour at 20
/// ticks per second.
const RESULT_TICKS: u64 = 36_000;

/// Checks a game for a group of `players` with `config`; the module's exports when it
/// passes. Results are remembered per module content, config and group size.
pub fn check(
    folder: &GameFolder,
    config: &serde_json::Value,
    players: usize,
    tick_rate: u32,
    to_end: bool,
) -> Result<Exports, GameError> {
    static SEEN: OnceLock<Mutex<HashMap<String, Result<Exports, GameError>>>> = OnceLock::new();
    let mut key = String::new();
    for (name, file) in &folder.files {
        key.push_str(&format!("{name}={};", file.sha256));
    }
    key.push_str(&format!("main={};config={config};players={players};rate={tick_rate};end={to_end}", folder.main));
    let seen = SEEN.get_or_init(Mutex::default);
    if let Some(known) = seen.lock().ok().and_then(|s| s.get(&key).cloned()) {
        return known;
    }
    let outcome = check_fresh(folder, config, players, tick_rate, to_end);
    if let Ok(mut s) = seen.lock() {
        s.insert(key, outcome.clone());
    }
    outcome
}

/// [`check`] without remembering the result (the fuzz target `game` feeds it a new
/// module on every run). With `to_end`, one copy plays on (up to [`RESULT_TICKS`])
/// until the game is over, so that its result's keys are known (`Exports::result`).
pub fn check_fresh(
    folder: &GameFolder,
    config: &serde_json::Value,
    players: usize,
    tick_rate: u32,
    to_end: bool,
) -> Result<Exports, GameError> {
    let sources: Arc<BTreeMap<String, String>> = Arc::new(folder.sources());
    let a = Engine::load(sources.clone(), &folder.main)?;
    let exports = a.exports()?;
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|f| !exports.has(f)).collect();
    if !missing.is_empty() {
        return Err(GameError(format!(
            "the module does not export {} (a game exports the functions {})",
            missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
            REQUIRED.join(", ")
        )));
    }
    let b = Engine::load(sources, &folder.main)?;
    let seed = 0x5eed;
    a.init(config, seed, players, tick_rate)?;
    // The second copy has a history: a game that keeps state outside its state object
    // (a counter at module level) now differs, as a reloaded page would.
    b.init(config, seed ^ 0xffff, players, tick_rate)?;
    for _ in 0..3 {
        b.step(&vec![serde_json::Value::Null; players])?;
    }
    b.init(config, seed, players, tick_rate)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let samples = exports.inputs.clone().unwrap_or_default();
    let with_bot = exports.has("bot");
    let mut exports = exports;
    let draw = |copy: &Engine, slot: usize, rng: &mut rand::rngs::StdRng| -> Result<serde_json::Value, GameError> {
        Ok(if with_bot && slot.is_multiple_of(2) {
            copy.bot(slot)?
        } else if samples.is_empty() || rng.random_bool(0.3) {
            serde_json::Value::Null
        } else {
            samples[rng.random_range(0..samples.len())].clone()
        })
    };
    for tick in 0..TICKS {
        let mut inputs = Vec::with_capacity(players);
        for slot in 0..players {
            let input = draw(&a, slot, &mut rng)?;
            if with_bot && slot.is_multiple_of(2) {
                let y = b.bot(slot)?;
                if input != y {
                    return Err(GameError(format!(
                        "bot() chose differently in two copies of the same state at tick {tick} ({input} vs {y}): it must depend only on the state and the slot"
                    )));
                }
                check_size(&input, "bot()")?;
            }
            inputs.push(input);
        }
        a.step(&inputs).map_err(|e| at_tick(e, tick))?;
        b.step(&inputs).map_err(|e| at_tick(e, tick))?;
        let (ha, hb) = (a.hash()?, b.hash()?);
        if ha != hb {
            return Err(GameError(format!(
                "two copies with the same seed and inputs differ after tick {tick} (hash {ha} vs {hb}): step() must depend only on the state and the inputs"
            )));
        }
        // The module's own hash may leave part of the state out: the whole state too.
        if let (Some(sa), Some(sb)) = (a.state_json()?, b.state_json()?)
            && sa != sb
        {
            let at = first_difference(&sa, &sb);
            return Err(GameError(format!(
                "two copies with the same seed and inputs differ after tick {tick} at `{at}`, although their hash() agrees: step() must depend only on the state and the inputs (and hash() should cover what step() reads)"
            )));
        }
        let (da, db) = (a.done()?, b.done()?);
        if da != db {
            return Err(GameError(format!("two copies disagree whether the game is over after tick {tick}")));
        }
        if da.is_some() {
            exports.result = da;
            return Ok(exports);
        }
    }
    if to_end {
        // The copies agreed so far; one plays on to learn what the game's result holds.
        for tick in TICKS..RESULT_TICKS {
            let inputs = (0..players).map(|slot| draw(&a, slot, &mut rng)).collect::<Result<Vec<_>, _>>()?;
            a.step(&inputs).map_err(|e| at_tick(e, tick))?;
            if let Some(result) = a.done()? {
                exports.result = Some(result);
                break;
            }
        }
    }
    Ok(exports)
}

/// Where two JSON texts of a state first differ, as a path (`state.seats[1].x`).
fn first_difference(a: &str, b: &str) -> String {
    use serde_json::Value;
    fn walk(a: &Value, b: &Value, path: String) -> String {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for key in keys {
                    match (x.get(key), y.get(key)) {
                        (Some(p), Some(q)) if p == q => {}
                        (Some(p), Some(q)) => return walk(p, q, format!("{path}.{key}")),
                        _ => return format!("{path}.{key}"),
                    }
                }
                path
            }
            (Value::Array(x), Value::Array(y)) => match x.iter().zip(y).position(|(p, q)| p != q) {
                Some(i) => walk(&x[i], &y[i], format!("{path}[{i}]")),
                None => format!("{path}[{}]", x.len().min(y.len())),
            },
            _ => path,
        }
    }
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(x), Ok(y)) => walk(&x, &y, "state".to_owned()),
        _ => "state".to_owned(),
    }
}

fn at_tick(e: GameError, tick: u64) -> GameError {
    GameError(format!("at tick {tick}: {}", e.0))
}

/// An input must fit the protocol's cap once encoded.
pub fn check_size(input: &serde_json::Value, what: &str) -> Result<(), GameError> {
    let len = input.to_string().len();
    if len > MAX_INPUT_BYTES {
        return Err(GameError(format!(
            "{what} returned an input of {len} bytes; inputs are at most {MAX_INPUT_BYTES}"
        )));
    }
    Ok(())
}
