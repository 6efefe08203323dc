//! The host's JavaScript engine (QuickJS through rquickjs): runs a game module outside
//! a browser — for `cohort validate` (exports, determinism), for replaying a game from
//! the event log, and for `cohort bots` (bots step the game and choose inputs).
//!
//! One [`Engine`] is one copy of one game. Calls have a deadline and the engine a
//! memory cap; `Math.random`, `Date.now`, `new Date()` and `performance.now` throw,
//! since a game that used them would
//! differ between copies (draw from the seed, count ticks).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::{CatchResultExt, Context, Ctx, Function, Module, Object, Runtime};

/// Memory one copy of a game may use.
const MEMORY_LIMIT: usize = 64 << 20;
/// Stack one copy of a game may use.
const STACK_LIMIT: usize = 1 << 20;

const HARNESS: &str = include_str!("harness.js");
const HASH: &str = include_str!("../web/hash.js");
const PRELUDE: &str = r#"
Math.random = () => { throw new Error("Math.random() differs between copies of the game: draw random numbers from the seed (docs/games.md)"); };
Date.now = () => { throw new Error("Date.now() differs between copies of the game: count ticks instead (docs/games.md)"); };
globalThis.Date = new Proxy(Date, {
  construct(target, args) {
    if (args.length === 0) throw new Error("new Date() differs between copies of the game: count ticks instead (docs/games.md)");
    return Reflect.construct(target, args);
  },
  apply() { throw new Error("Date() differs between copies of the game: count ticks instead (docs/games.md)"); },
});
globalThis.performance = { now() { throw new Error("performance.now() differs between copies of the game: count ticks instead (docs/games.md)"); } };
"#;

/// A module that could not be loaded or whose call failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct GameError(pub String);

/// What a module exports, as far as the host cares.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Exports {
    /// Names of the exported functions.
    pub functions: Vec<String>,
    /// Example inputs (`export const inputs = [...]`), for random play.
    pub inputs: Option<Vec<serde_json::Value>>,
    /// What `done` returned when the validation run was played to its end (see
    /// [`crate::game::check::check`]); `None` when it was not, or did not end.
    #[serde(skip)]
    pub result: Option<serde_json::Value>,
}

impl Exports {
    pub fn has(&self, name: &str) -> bool {
        self.functions.iter().any(|f| f == name)
    }
}

/// One copy of a game.
pub struct Engine {
    // Field order: the context must be dropped before its runtime.
    ctx: Context,
    _rt: Runtime,
    deadline: Arc<Mutex<Option<Instant>>>,
    /// How long one call may take.
    pub call_limit: Duration,
}

/// Resolves `game:main` to the module, relative imports within the game's folder,
/// and `cohort:hash` to the shared state hash; nothing else.
struct Files {
    main: String,
    sources: Arc<BTreeMap<String, String>>,
}

impl Resolver for Files {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        if name == "game:main" {
            return Ok(format!("game/{}", self.main));
        }
        if name == "cohort:hash" {
            return Ok(name.to_owned());
        }
        let dir = base.rsplit_once('/').map_or("", |(d, _)| d);
        if !(name.starts_with("./") || name.starts_with("../")) || !base.starts_with("game/") {
            return Err(rquickjs::Error::new_resolving(base, name));
        }
        let mut parts: Vec<&str> = dir.split('/').collect();
        for part in name.split('/') {
            match part {
                "." => {}
                ".." if parts.len() > 1 => {
                    parts.pop();
                }
                ".." => return Err(rquickjs::Error::new_resolving(base, name)),
                p => parts.push(p),
            }
        }
        Ok(parts.join("/"))
    }
}

impl Loader for Files {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, rquickjs::module::Declared>> {
        let source = if name == "cohort:hash" {
            HASH.to_owned()
        } else {
            let rel = name.strip_prefix("game/").unwrap_or(name);
            self.sources
                .get(rel)
                .cloned()
                .ok_or_else(|| rquickjs::Error::new_loading_message(name, "no such file in the game's folder"))?
        };
        Module::declare(ctx.clone(), name, source)
    }
}

impl Engine {
    /// Loads the module `main` of a game folder's `sources` (relative path → text).
    pub fn load(sources: Arc<BTreeMap<String, String>>, main: &str) -> Result<Self, GameError> {
        let rt = Runtime::new().map_err(|e| GameError(format!("cannot start the JavaScript engine: {e}")))?;
        rt.set_memory_limit(MEMORY_LIMIT);
        rt.set_max_stack_size(STACK_LIMIT);
        let deadline: Arc<Mutex<Option<Instant>>> = Arc::default();
        let watch = deadline.clone();
        rt.set_interrupt_handler(Some(Box::new(move || {
            watch.lock().ok().and_then(|d| *d).is_some_and(|d| Instant::now() > d)
        })));
        rt.set_loader(
            Files { main: main.to_owned(), sources: sources.clone() },
            Files { main: main.to_owned(), sources },
        );
        let ctx = Context::full(&rt).map_err(|e| GameError(format!("cannot start the JavaScript engine: {e}")))?;
        let engine = Engine { ctx, _rt: rt, deadline, call_limit: Duration::from_secs(2) };
        engine.timed(|ctx| {
            ctx.eval::<(), _>(PRELUDE).catch(&ctx).map_err(|e| GameError(e.to_string()))?;
            let promise = Module::evaluate(ctx.clone(), "cohort:harness", HARNESS)
                .catch(&ctx)
                .map_err(|e| GameError(format!("the module does not load: {e}")))?;
            promise.finish::<()>().catch(&ctx).map_err(|e| GameError(format!("the module does not load: {e}")))
        })?;
        Ok(engine)
    }

    /// Runs `f` with the call deadline armed.
    fn timed<T>(&self, f: impl FnOnce(Ctx<'_>) -> Result<T, GameError>) -> Result<T, GameError> {
        if let Ok(mut d) = self.deadline.lock() {
            *d = Some(Instant::now() + self.call_limit);
        }
        let out = self.ctx.with(f);
        if let Ok(mut d) = self.deadline.lock() {
            *d = None;
        }
        out.map_err(|GameError(e)| {
            if e.contains("interrupted") {
                GameError(format!("took longer than {} ms (an endless loop?)", self.call_limit.as_millis()))
            } else {
                GameError(e)
            }
        })
    }

    /// Calls `__cohort.<name>(args)`.
    fn call<A, T>(&self, name: &str, args: A) -> Result<T, GameError>
    where
        A: for<'js> rquickjs::function::IntoArgs<'js>,
        T: for<'js> rquickjs::FromJs<'js>,
    {
        self.timed(|ctx| {
            let api: Object = ctx.globals().get("__cohort").map_err(|e| GameError(e.to_string()))?;
            let f: Function = api.get(name).map_err(|e| GameError(e.to_string()))?;
            f.call::<A, T>(args).catch(&ctx).map_err(|e| GameError(format!("{name}(): {}", e.to_string().trim())))
        })
    }

    /// What the module exports.
    pub fn exports(&self) -> Result<Exports, GameError> {
        let text: String = self.call("exports", ())?;
        serde_json::from_str(&text).map_err(|e| GameError(format!("exports: {e}")))
    }

    /// Creates the state for `players` seats at `tick_rate` ticks per second.
    pub fn init(&self, config: &serde_json::Value, seed: u32, players: usize, tick_rate: u32) -> Result<(), GameError> {
        self.call("init", (config.to_string(), seed, players as u32, tick_rate))
    }

    /// Steps one tick with every seat's input (`null` for none).
    pub fn step(&self, inputs: &[serde_json::Value]) -> Result<(), GameError> {
        self.call("step", (serde_json::Value::from(inputs.to_vec()).to_string(),))
    }

    /// The result once the game is over.
    pub fn done(&self) -> Result<Option<serde_json::Value>, GameError> {
        let text: Option<String> = self.call("done", ())?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| GameError(format!("done(): {e}")))).transpose()
    }

    /// The state's hash (the module's `hash`, or the shared default).
    pub fn hash(&self) -> Result<String, GameError> {
        self.call("hash", ())
    }

    /// The whole state as JSON text (`None` when it cannot be written as JSON).
    pub fn state_json(&self) -> Result<Option<String>, GameError> {
        self.call("state", ())
    }

    /// Tells the module (its optional `seat` export) that `slot` is played by `kind`
    /// (`bot` or `empty`) from now on.
    pub fn seat(&self, slot: usize, kind: crate::game::SeatKind) -> Result<(), GameError> {
        let kind = match kind {
            crate::game::SeatKind::Bot => "bot",
            crate::game::SeatKind::Empty => "empty",
            crate::game::SeatKind::Player => "player",
        };
        self.call("seat", (slot as u32, kind))
    }

    /// One tick's inputs for every seat: a player's logged input, or the module's `bot`
    /// (bot seats and seats a bot took), or `null` (an empty seat). `held(slot)` is
    /// the player's input for `tick`; seat changes due at `tick` are applied first.
    pub fn row(
        &self,
        tick: u64,
        players: usize,
        bot_seats: usize,
        changes: &[crate::game::SeatChange],
        held: impl Fn(usize) -> Option<serde_json::Value>,
    ) -> Result<Option<Vec<serde_json::Value>>, GameError> {
        use crate::game::seats::{changes_at, played, seat_at};
        let mut row = Vec::with_capacity(players + bot_seats);
        for slot in 0..players {
            row.push(if played(changes, slot, tick) {
                match held(slot) {
                    Some(input) => input,
                    None => return Ok(None),
                }
            } else {
                serde_json::Value::Null // a bot's is filled below, once the seat is told
            });
        }
        for change in changes_at(changes, tick) {
            self.seat(change.slot, change.to)?;
        }
        for (slot, input) in row.iter_mut().enumerate() {
            if seat_at(changes, slot, tick) == Some(crate::game::SeatKind::Bot) {
                *input = self.bot(slot)?;
            }
        }
        for slot in players..players + bot_seats {
            row.push(self.bot(slot)?);
        }
        Ok(Some(row))
    }

    /// The module's `record(state)`: what it says a tick is, for the data (if exported).
    pub fn record(&self) -> Result<Option<serde_json::Value>, GameError> {
        let text: Option<String> = self.call("record", ())?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| GameError(format!("record(): {e}")))).transpose()
    }

    /// The module's `bot` choice for `slot`.
    pub fn bot(&self, slot: usize) -> Result<serde_json::Value, GameError> {
        let text: String = self.call("bot", (slot as u32,))?;
        serde_json::from_str(&text).map_err(|e| GameError(format!("bot(): {e}")))
    }
}
