// Reach the star — the demo game, and the smallest complete example of the game
// interface (docs/games.md). Every player moves a token on a grid with the arrow keys
// (or the buttons) to the star in the middle; the game is over when everyone is
// there. The result counts each player's moves and the ticks it took.
//
// config: { size: 7 } — the grid's side (odd, 5 to 15).

const MOVES = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0] };
const KEYS = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right", w: "up", s: "down", a: "left", d: "right" };
const COLOURS = ["#2454d6", "#d6452a", "#16794c", "#8a3ffc"];

/** Example inputs: `cohort validate` and `cohort bots` play random ones. */
export const inputs = ["up", "down", "left", "right"];

/** A small deterministic generator (mulberry32): all randomness comes from the seed. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function init(config, seed, players) {
  const size = Math.max(5, Math.min(15, (config.size ?? 7) | 1));
  const last = size - 1;
  const corners = [[0, 0], [last, last], [last, 0], [0, last]];
  // The seed decides which corner each seat starts in.
  const next = random(seed);
  for (let i = corners.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [corners[i], corners[j]] = [corners[j], corners[i]];
  }
  const seats = Array.from({ length: players }, (_, i) => {
    const [x, y] = corners[i % corners.length];
    return { x, y, moves: 0, arrived: null };
  });
  return { size, goal: size >> 1, tick: 0, seats };
}

export function step(state, inputs) {
  state.tick += 1;
  inputs.forEach((input, slot) => {
    const seat = state.seats[slot];
    const move = MOVES[input];
    if (!seat || !move || seat.arrived !== null) return;
    const x = Math.max(0, Math.min(state.size - 1, seat.x + move[0]));
    const y = Math.max(0, Math.min(state.size - 1, seat.y + move[1]));
    if (x === seat.x && y === seat.y) return;
    seat.x = x;
    seat.y = y;
    seat.moves += 1;
    if (x === state.goal && y === state.goal) seat.arrived = state.tick;
  });
  return state;
}

export function done(state) {
  if (!state.seats.every((s) => s.arrived !== null)) return null;
  return { ticks: state.tick, moves: state.seats.map((s) => s.moves) };
}

/** A bot walks straight to the star, one step every other tick. */
export function bot(state, slot) {
  const seat = state.seats[slot];
  if (seat.arrived !== null || state.tick % 2 === 1) return null;
  if (seat.x !== state.goal) return seat.x < state.goal ? "right" : "left";
  return seat.y < state.goal ? "down" : "up";
}

export function input(event) {
  if (event.type === "keydown") return KEYS[event.key] ?? null;
  if (event.type === "click") return event.target?.dataset?.move ?? null;
  return null;
}

export function render(state, view) {
  let ui = view.root.querySelector("[data-demo]");
  if (!ui) {
    ui = document.createElement("div");
    ui.dataset.demo = "";
    ui.style.textAlign = "center";
    ui.innerHTML = `<h1>Reach the star</h1><p id="game-status" aria-live="polite"></p>
      <canvas width="280" height="280" aria-label="Game board: use the arrow keys to move to the star"></canvas>
      <p>${["up", "left", "right", "down"].map((m) => `<button type="button" class="secondary" data-move="${m}" aria-label="${m}">${{ up: "↑", left: "←", right: "→", down: "↓" }[m]}</button>`).join(" ")}</p>`;
    view.root.append(ui);
  }
  const me = state.seats[view.slot];
  ui.querySelector("#game-status").textContent = me.arrived !== null
    ? (done(state) ? "Everyone reached the star!" : "You reached the star! Waiting for your partner…")
    : "Move to the star with the arrow keys.";
  const canvas = ui.querySelector("canvas");
  const g = canvas.getContext("2d");
  const cell = canvas.width / state.size;
  g.fillStyle = "#e8ecf4";
  g.fillRect(0, 0, canvas.width, canvas.height);
  for (let y = 0; y < state.size; y++) {
    for (let x = 0; x < state.size; x++) {
      g.fillStyle = "#fff";
      g.fillRect(x * cell + 2, y * cell + 2, cell - 4, cell - 4);
    }
  }
  g.fillStyle = "#c99a06";
  g.font = `${Math.floor(cell * 0.7)}px sans-serif`;
  g.textAlign = "center";
  g.textBaseline = "middle";
  g.fillText("★", (state.goal + 0.5) * cell, (state.goal + 0.5) * cell);
  state.seats.forEach((s, i) => {
    g.beginPath();
    g.arc((s.x + 0.5) * cell, (s.y + 0.5) * cell, cell * (i === view.slot ? 0.3 : 0.24), 0, 2 * Math.PI);
    g.fillStyle = COLOURS[i % COLOURS.length];
    g.fill();
  });
}
