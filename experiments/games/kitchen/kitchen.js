// The cooperative kitchen: two (or more) cooks prepare and deliver soups for a shared
// score, in rounds of about a minute (the Overcooked task of human–AI coordination
// research), written against cohort's public game interface (docs/games.md).
//
// Cooks move with the arrow keys (or WASD) and interact with the tile they face with
// space (or E): take an onion or tomato from its crate, put it on a chopping board and
// chop it (a few presses), carry the chopped pieces to a pot — three of one kind cook
// into a soup — take a plate from the rack, fill it at the cooked pot and deliver it at
// the serving window while an order for that soup is open. Counters hold one item
// each, for putting things down or passing them over.
//
// config (all optional):
//   layouts: [cramped, asymmetric, ring]   the kitchen of each round (cycled)
//   rounds: 2                              how many rounds
//   round_secs: 60                         length of a round
//   break_secs: 5                          the score screen after each round
//   cook_secs: 4, chop_presses: 3, order_secs: 40, new_order_secs: 12, max_orders: 3
//
// Result (`done`): { total, rounds: [{layout, score, delivered, missed, wrong,
// collisions}] }. `record(state)` gives each tick's positions, held items and actions.

import { LAYOUTS } from "./layouts.js";
import { bot as botInput } from "./bot.js";
import { draw } from "./draw.js";

export { LAYOUTS };
export const inputs = ["up", "down", "left", "right", "act"];

export const DIRS = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0] };
const KEYS = {
  ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right",
  w: "up", s: "down", a: "left", d: "right", W: "up", S: "down", A: "left", D: "right",
  " ": "act", e: "act", E: "act", Enter: "act",
};
const SOUP_POINTS = 20;

function num(value, fallback, lo, hi) {
  const n = Number.isFinite(value) ? value : fallback;
  return Math.max(lo, Math.min(hi, n));
}

/** mulberry32 over the state's own counter: deterministic, kept in the state. */
function random(state) {
  state.rng = (state.rng + 0x6d2b79f5) >>> 0;
  let t = state.rng;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export function init(config, seed, players, tickRate = 10) {
  const rate = num(tickRate, 10, 1, 60);
  const layouts = (Array.isArray(config.layouts) && config.layouts.length ? config.layouts : ["cramped"])
    .filter((name) => LAYOUTS[name]);
  const settings = {
    rate,
    layouts: layouts.length ? layouts : ["cramped"],
    rounds: Math.round(num(config.rounds, 2, 1, 20)),
    roundTicks: Math.round(num(config.round_secs, 60, 5, 600) * rate),
    breakTicks: Math.round(num(config.break_secs, 5, 1, 60) * rate),
    cookTicks: Math.round(num(config.cook_secs, 4, 0, 60) * rate),
    chopPresses: Math.round(num(config.chop_presses, 3, 1, 20)),
    orderTicks: Math.round(num(config.order_secs, 40, 5, 600) * rate),
    newOrderTicks: Math.round(num(config.new_order_secs, 12, 1, 600) * rate),
    maxOrders: Math.round(num(config.max_orders, 3, 1, 6)),
  };
  const state = { settings, seats: players, rng: seed >>> 0, tick: 0, round: -1, rounds: [], total: 0 };
  startRound(state);
  return state;
}

/** Sets up the next round's kitchen. */
function startRound(state) {
  state.round += 1;
  const s = state.settings;
  const name = s.layouts[state.round % s.layouts.length];
  const layout = LAYOUTS[name];
  const grid = layout.rows.map((row) => row.replace(/[1-4]/g, " "));
  const starts = [];
  layout.rows.forEach((row, y) => [...row].forEach((c, x) => { if (c >= "1" && c <= "4") starts[c - 1] = [x, y]; }));
  const free = [];
  grid.forEach((row, y) => [...row].forEach((c, x) => { if (c === " " && !starts.some(([a, b]) => a === x && b === y)) free.push([x, y]); }));
  state.layout = name;
  state.grid = grid;
  state.items = {}; // "x,y" → item on a counter or board
  state.chops = {}; // "x,y" → presses on a board's raw ingredient
  state.pots = {}; // "x,y" → { items: [...], cooked: ticks or -1 }
  grid.forEach((row, y) => [...row].forEach((c, x) => { if (c === "P") state.pots[`${x},${y}`] = { items: [], cooked: -1 }; }));
  state.cooks = Array.from({ length: state.seats }, (_, i) => {
    const [x, y] = starts[i] ?? free[i % free.length];
    return { x, y, dir: "down", held: null, action: null, bumped: false };
  });
  state.orders = [];
  state.phase = "play";
  state.left = s.roundTicks;
  state.nextOrder = 0;
  state.score = { layout: name, score: 0, delivered: 0, missed: 0, wrong: 0, collisions: 0 };
  addOrder(state);
  addOrder(state);
}

function addOrder(state) {
  const recipes = LAYOUTS[state.layout].recipes;
  if (state.orders.length >= state.settings.maxOrders) return;
  const recipe = recipes[Math.floor(random(state) * recipes.length)];
  state.orders.push({ recipe, left: state.settings.orderTicks, of: state.settings.orderTicks });
}

export function tileAt(state, x, y) {
  return state.grid[y]?.[x] ?? "#";
}

export function walkable(state, x, y) {
  return tileAt(state, x, y) === " ";
}

export function step(state, inputs) {
  state.tick += 1;
  state.cooks.forEach((c, i) => { c.action = inputs[i] ?? null; });
  if (state.phase === "break") {
    state.left -= 1;
    if (state.left <= 0) {
      if (state.round + 1 >= state.settings.rounds) state.phase = "over";
      else startRound(state);
    }
    return state;
  }
  if (state.phase !== "play") return state;
  move(state, inputs);
  state.cooks.forEach((cook, i) => { if (inputs[i] === "act") interact(state, cook); });
  tickKitchen(state);
  state.left -= 1;
  if (state.left <= 0) {
    state.rounds.push(state.score);
    state.total += state.score.score;
    state.phase = "break";
    state.left = state.settings.breakTicks;
  }
  return state;
}

/** Moves cooks at once: a cook turns to face the way it was told, and steps there if the
 * tile is floor that no other cook holds or enters in the same tick (a collision). */
function move(state, inputs) {
  const cooks = state.cooks;
  const target = cooks.map((c, i) => {
    const d = DIRS[inputs[i]];
    if (!d) return null;
    c.dir = inputs[i];
    const [x, y] = [c.x + d[0], c.y + d[1]];
    return walkable(state, x, y) ? [x, y] : null;
  });
  const same = (a, b) => a && b && a[0] === b[0] && a[1] === b[1];
  let changed = true;
  const blocked = new Set();
  while (changed) {
    changed = false;
    cooks.forEach((c, i) => {
      if (!target[i]) return;
      const clash = cooks.some((o, j) => j !== i && (
        same(target[i], target[j]) // both into one tile
        || (same(target[i], [o.x, o.y]) && (!target[j] || same(target[j], [c.x, c.y]))) // into a cook that stays, or a swap
      ));
      if (clash) {
        target[i] = null;
        blocked.add(i);
        changed = true;
      }
    });
  }
  if (blocked.size) state.score.collisions += 1;
  cooks.forEach((c, i) => {
    c.bumped = blocked.has(i);
    if (target[i]) [c.x, c.y] = target[i];
  });
}

const RAW = new Set(["onion", "tomato"]);
const CHOPPED = new Set(["onion-chopped", "tomato-chopped"]);

/** The cook uses the tile it faces. */
function interact(state, cook) {
  const d = DIRS[cook.dir];
  const [x, y] = [cook.x + d[0], cook.y + d[1]];
  const key = `${x},${y}`;
  const tile = tileAt(state, x, y);
  const held = cook.held;
  if (tile === "O" || tile === "T") {
    if (!held) cook.held = tile === "O" ? "onion" : "tomato";
  } else if (tile === "D") {
    if (!held) cook.held = "plate";
  } else if (tile === "#") {
    if (!held && state.items[key]) take(state, cook, key);
    else if (held && !state.items[key]) [state.items[key], cook.held] = [held, null];
  } else if (tile === "C") {
    const on = state.items[key];
    if (!held && on && RAW.has(on)) {
      state.chops[key] = (state.chops[key] ?? 0) + 1;
      if (state.chops[key] >= state.settings.chopPresses) {
        state.items[key] = `${on}-chopped`;
        delete state.chops[key];
      }
    } else if (!held && on) {
      take(state, cook, key);
    } else if (held && !on && (RAW.has(held) || CHOPPED.has(held))) {
      [state.items[key], cook.held] = [held, null];
    }
  } else if (tile === "P") {
    const pot = state.pots[key];
    if (held && CHOPPED.has(held) && pot.items.length < 3 && pot.cooked < 0) {
      pot.items.push(held.replace("-chopped", ""));
      cook.held = null;
      if (pot.items.length === 3) pot.cooked = 0;
    } else if (held === "plate" && pot.cooked >= state.settings.cookTicks) {
      const kind = pot.items.every((i) => i === pot.items[0]) ? pot.items[0] : "mixed";
      cook.held = `soup-${kind}`;
      pot.items = [];
      pot.cooked = -1;
    }
  } else if (tile === "S" && held && held.startsWith("soup-")) {
    const recipe = held.slice(5);
    const i = state.orders.findIndex((o) => o.recipe === recipe);
    if (i >= 0) {
      const order = state.orders.splice(i, 1)[0];
      state.score.score += SOUP_POINTS + Math.round((10 * order.left) / order.of);
      state.score.delivered += 1;
    } else {
      state.score.wrong += 1;
    }
    cook.held = null;
  }
}

function take(state, cook, key) {
  cook.held = state.items[key];
  delete state.items[key];
}

/** Pots cook, orders run out, new orders come. */
function tickKitchen(state) {
  for (const pot of Object.values(state.pots)) if (pot.cooked >= 0) pot.cooked += 1;
  for (const o of state.orders) o.left -= 1;
  const before = state.orders.length;
  state.orders = state.orders.filter((o) => o.left > 0);
  state.score.missed += before - state.orders.length;
  state.nextOrder += 1;
  if (state.nextOrder >= state.settings.newOrderTicks || state.orders.length === 0) {
    state.nextOrder = 0;
    addOrder(state);
  }
}

export function done(state) {
  if (state.phase !== "over") return null;
  return { total: state.total, rounds: state.rounds };
}

export function bot(state, slot) {
  return botInput(state, slot);
}

export function input(event) {
  if (event.type !== "keydown") return null;
  return KEYS[event.key] ?? null;
}

export function render(state, view) {
  draw(state, view);
}

/** One tick for the data: each cook's position, facing, held item and action. */
export function record(state) {
  return {
    round: state.round,
    phase: state.phase,
    cooks: state.cooks.map((c) => ({ x: c.x, y: c.y, dir: c.dir, held: c.held, action: c.action })),
    score: state.score.score,
  };
}
