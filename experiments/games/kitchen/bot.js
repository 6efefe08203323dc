// A cook that plays a seat sensibly (not optimally), from the state alone — as lockstep
// requires, every copy of the game computes the same choice. Each tick it picks the
// most useful job it can reach (serve a soup, fill a plate at a cooked pot, bring
// chopped pieces to a pot that needs them, chop, fetch what the pots need, pass things
// over a counter when the kitchen is split), walks there by the shortest path around
// the other cooks, turns to face the tile and presses "act". It takes what the other
// cooks hold into account, so that two cooks do not both fetch the last onion.

const DIRS = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0] };
const ORDER = ["up", "down", "left", "right"];

const tile = (s, x, y) => s.grid[y]?.[x] ?? "#";
const floor = (s, x, y) => tile(s, x, y) === " ";
const key = (x, y) => `${x},${y}`;

/** Breadth-first distances over floor from (x, y); other cooks block. */
function distances(s, from, blockers) {
  const dist = new Map([[key(from.x, from.y), 0]]);
  const queue = [[from.x, from.y]];
  while (queue.length) {
    const [x, y] = queue.shift();
    for (const d of ORDER) {
      const [nx, ny] = [x + DIRS[d][0], y + DIRS[d][1]];
      const k = key(nx, ny);
      if (!floor(s, nx, ny) || dist.has(k) || blockers.has(k)) continue;
      dist.set(k, dist.get(key(x, y)) + 1);
      queue.push([nx, ny]);
    }
  }
  return dist;
}

/** Tiles of one kind. */
function tiles(s, kinds) {
  const out = [];
  s.grid.forEach((row, y) => [...row].forEach((c, x) => { if (kinds.includes(c)) out.push([x, y]); }));
  return out;
}

/** How far the cook must walk to use tile (x, y) (Infinity: cannot reach it). */
function reach(dist, x, y) {
  let best = Infinity;
  for (const d of ORDER) {
    const v = dist.get(key(x + DIRS[d][0], y + DIRS[d][1]));
    if (v !== undefined && v < best) best = v;
  }
  return best;
}

/** The nearest reachable tile among `targets`. */
function nearest(dist, targets) {
  let best = null;
  for (const [x, y] of targets) {
    const r = reach(dist, x, y);
    if (r < Infinity && (!best || r < best.r)) best = { x, y, r };
  }
  return best;
}

/** The first step towards using (gx, gy), or "act" when already facing it. */
function towards(s, me, dist, gx, gy) {
  for (const d of ORDER) {
    if (me.x + DIRS[d][0] === gx && me.y + DIRS[d][1] === gy) return me.dir === d ? "act" : d;
  }
  // Walk back from the best tile next to the goal to the step out of here.
  let goal = null;
  for (const d of ORDER) {
    const k = key(gx + DIRS[d][0], gy + DIRS[d][1]);
    if (dist.has(k) && (!goal || dist.get(k) < dist.get(goal))) goal = k;
  }
  if (!goal) return null;
  let [x, y] = goal.split(",").map(Number);
  while (dist.get(key(x, y)) > 1) {
    for (const d of ORDER) {
      const [px, py] = [x - DIRS[d][0], y - DIRS[d][1]];
      if (dist.get(key(px, py)) === dist.get(key(x, y)) - 1) { [x, y] = [px, py]; break; }
    }
  }
  for (const d of ORDER) if (me.x + DIRS[d][0] === x && me.y + DIRS[d][1] === y) return d;
  return null;
}

/** What the pots still need, counting what cooks carry and boards hold. */
function needs(s, slot) {
  const pots = Object.entries(s.pots).filter(([, p]) => p.cooked < 0 && p.items.length < 3);
  const inFlight = { onion: 0, tomato: 0 };
  const count = (item) => { const k = item?.replace("-chopped", ""); if (k in inFlight) inFlight[k] += 1; };
  s.cooks.forEach((c, i) => { if (i !== slot) count(c.held); });
  Object.values(s.items).forEach(count);
  const want = { onion: 0, tomato: 0 };
  const firstOrder = s.orders[0]?.recipe ?? "onion";
  for (const [, pot] of pots) {
    const kind = pot.items[0] ?? firstOrder;
    if (kind in want) want[kind] += 3 - pot.items.length;
  }
  for (const k of Object.keys(want)) want[k] = Math.max(0, want[k] - inFlight[k]);
  return want;
}

/** A counter to put `held` down on: one the other side can reach, if the kitchen is split. */
function dropSpot(s, dist, all) {
  const empty = tiles(s, ["#"]).filter(([x, y]) => !s.items[key(x, y)]);
  const shared = empty.filter(([x, y]) => all.every((d) => reach(d, x, y) < Infinity));
  return nearest(dist, shared.length ? shared : empty);
}

/** The job: the tile to use next, or null to wait. */
function job(s, slot, dist, all) {
  const me = s.cooks[slot];
  const held = me.held;
  const mine = (pred) => nearest(dist, tiles(s, ["#", "C"]).filter(([x, y]) => pred(s.items[key(x, y)])));
  const potsWhere = (pred) => nearest(dist, Object.keys(s.pots).map((k) => k.split(",").map(Number)).filter(([x, y]) => pred(s.pots[key(x, y)])));
  const ready = (p) => p.cooked >= s.settings.cookTicks;
  if (held?.startsWith("soup-")) return nearest(dist, tiles(s, ["S"])) ?? dropSpot(s, dist, all);
  if (held === "plate") {
    return potsWhere(ready) ?? potsWhere((p) => p.cooked >= 0) ?? (Object.values(s.pots).some((p) => p.items.length) ? null : dropSpot(s, dist, all));
  }
  if (held?.endsWith("-chopped")) {
    const kind = held.replace("-chopped", "");
    return potsWhere((p) => p.cooked < 0 && p.items.length < 3 && (p.items.length === 0 || p.items[0] === kind))
      ?? dropSpot(s, dist, all);
  }
  if (held === "onion" || held === "tomato") {
    return nearest(dist, tiles(s, ["C"]).filter(([x, y]) => !s.items[key(x, y)])) ?? dropSpot(s, dist, all);
  }
  // Hands empty.
  const plateHeld = s.cooks.some((c, i) => i !== slot && c.held === "plate");
  const soupWaiting = Object.values(s.pots).some((p) => p.cooked >= 0);
  const want = needs(s, slot);
  return mine((item) => item?.startsWith("soup-"))
    ?? (soupWaiting && !plateHeld ? (mine((item) => item === "plate") ?? nearest(dist, tiles(s, ["D"]))) : null)
    ?? nearest(dist, tiles(s, ["C"]).filter(([x, y]) => ["onion", "tomato"].includes(s.items[key(x, y)])))
    ?? mine((item) => item?.endsWith("-chopped") && potsWhere((p) => p.cooked < 0 && p.items.length < 3))
    // Chopped pieces on a board free it, even for a cook who must pass them over.
    ?? nearest(dist, tiles(s, ["C"]).filter(([x, y]) => s.items[key(x, y)]?.endsWith("-chopped")))
    ?? (want.onion > 0 ? nearest(dist, tiles(s, ["O"])) : null)
    ?? (want.tomato > 0 ? nearest(dist, tiles(s, ["T"])) : null);
}

export function bot(s, slot) {
  if (s.phase !== "play") return null;
  const me = s.cooks[slot];
  const roll = (Math.imul(s.tick + 1, 2654435761) ^ Math.imul(slot + 1, 40503)) >>> 0;
  // Just bumped into another cook: back off half of the time (like Ethernet), and
  // otherwise go round, keeping clear of the tiles next to the others.
  if (me.bumped && roll % 2 === 0) return null;
  const others = new Set(s.cooks.filter((_, i) => i !== slot).map((c) => key(c.x, c.y)));
  if (me.bumped) {
    for (const c of s.cooks.filter((_, i) => i !== slot)) {
      for (const d of ORDER) others.add(key(c.x + DIRS[d][0], c.y + DIRS[d][1]));
    }
    others.delete(key(me.x, me.y));
  }
  const dist = distances(s, me, others);
  // Where each cook could go with nobody in the way: what "the other side" means.
  const all = s.cooks.map((c) => distances(s, c, new Set()));
  // The job is chosen as if nobody were in the way, so that a cook in the way is
  // waited for (half of the time) rather than making both cooks change plans in step.
  const goal = job(s, slot, all[slot], all);
  if (!goal) return null;
  let move = towards(s, me, dist, goal.x, goal.y);
  if (move === null) {
    if (roll % 2 === 0) return null;
    const other = job(s, slot, dist, all);
    if (!other) return null;
    move = towards(s, me, dist, other.x, other.y);
  }
  // Two cooks in each other's way can mirror each other forever (both step aside,
  // both step back). Near another cook, a bot sometimes waits a tick — more often
  // before undoing its last step — on a roll derived from the tick and the seat, so
  // every copy of the game rolls the same.
  const near = s.cooks.some((c, i) => i !== slot && Math.abs(c.x - me.x) + Math.abs(c.y - me.y) <= 2);
  if (near && move in DIRS) {
    const back = OPPOSITE[move] === me.action;
    if (roll % 4 < (back ? 2 : 1)) return null;
  }
  return move;
}

const OPPOSITE = { up: "down", down: "up", left: "right", right: "left" };
