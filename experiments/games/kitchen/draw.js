// Drawing the kitchen on a canvas, everything in code (no image files): tiles, items,
// pots with their progress, the cooks (yours ringed), the orders, the clock and the
// score, and the score screen between rounds.

const T = 64; // tile size in pixels
const COOKS = ["#2454d6", "#d6452a", "#16794c", "#8a3ffc"];
const ITEM = { onion: "#b58bd6", tomato: "#e0453a" };
const HUD = 86;

function ui(view, state) {
  let box = view.root.querySelector("[data-kitchen]");
  if (!box) {
    box = document.createElement("div");
    box.dataset.kitchen = "";
    box.style.textAlign = "center";
    box.innerHTML = `<h1>Kitchen</h1>
      <canvas aria-label="The kitchen. Move with the arrow keys, use what you face with space."></canvas>
      <p class="muted">Arrow keys (or WASD) move · Space (or E) picks up, puts down, chops, fills and serves</p>`;
    view.root.append(box);
  }
  const canvas = box.querySelector("canvas");
  const w = state.grid[0].length * T;
  const h = state.grid.length * T + HUD;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
    canvas.style.maxWidth = "100%";
  }
  return canvas.getContext("2d");
}

function circle(g, x, y, r, fill, stroke) {
  g.beginPath();
  g.arc(x, y, r, 0, 2 * Math.PI);
  g.fillStyle = fill;
  g.fill();
  if (stroke) {
    g.strokeStyle = stroke;
    g.lineWidth = 2;
    g.stroke();
  }
}

/** An item centred at (x, y), `s` its scale. */
function item(g, name, x, y, s = 1) {
  if (!name) return;
  if (name === "plate" || name.startsWith("soup-")) {
    circle(g, x, y, 17 * s, "#f4f4f4", "#b9bec8");
    if (name.startsWith("soup-")) circle(g, x, y, 11 * s, ITEM[name.slice(5)] ?? "#9c7b4a");
    return;
  }
  const kind = name.replace("-chopped", "");
  if (name.endsWith("-chopped")) {
    for (const [dx, dy] of [[-7, -4], [6, -6], [0, 6]]) circle(g, x + dx * s, y + dy * s, 6 * s, ITEM[kind], "#0003");
  } else {
    circle(g, x, y, 13 * s, ITEM[kind], "#0004");
    g.fillStyle = "#3c8d2f";
    g.fillRect(x - 2 * s, y - 17 * s, 4 * s, 6 * s);
  }
}

function tile(g, state, c, x, y) {
  const px = x * T;
  const py = y * T + HUD;
  const colour = { " ": "#f1ead9", "#": "#c9a46b", O: "#c9a46b", T: "#c9a46b", C: "#c9a46b", P: "#6b6f78", D: "#c9a46b", S: "#5aa469" }[c];
  g.fillStyle = colour ?? "#c9a46b";
  g.fillRect(px, py, T, T);
  g.strokeStyle = c === " " ? "#e3d9c3" : "#a88451";
  g.strokeRect(px + 0.5, py + 0.5, T - 1, T - 1);
  const cx = px + T / 2;
  const cy = py + T / 2;
  const k = `${x},${y}`;
  if (c === "O" || c === "T") {
    g.fillStyle = "#8a6a3b";
    g.fillRect(px + 8, py + 8, T - 16, T - 16);
    item(g, c === "O" ? "onion" : "tomato", cx, cy + 2, 0.9);
  } else if (c === "D") {
    for (let i = 0; i < 3; i++) circle(g, cx, cy + 6 - i * 5, 17, "#f4f4f4", "#b9bec8");
  } else if (c === "C") {
    g.fillStyle = "#e9d3a8";
    g.fillRect(px + 8, py + 12, T - 16, T - 24);
    const chops = state.chops[k];
    if (chops) {
      g.fillStyle = "#333";
      g.fillRect(px + 10, py + T - 10, ((T - 20) * chops) / state.settings.chopPresses, 5);
    }
  } else if (c === "S") {
    g.fillStyle = "#fff";
    g.font = "bold 13px sans-serif";
    g.textAlign = "center";
    g.fillText("SERVE", cx, cy + 5);
  } else if (c === "P") {
    const pot = state.pots[k];
    circle(g, cx, cy, 24, "#2b2d31", "#15161a");
    pot.items.forEach((it, i) => circle(g, cx - 12 + i * 12, cy, 6, ITEM[it]));
    if (pot.cooked >= 0) {
      const done = Math.min(1, pot.cooked / Math.max(1, state.settings.cookTicks));
      g.fillStyle = done >= 1 ? "#3fbf5f" : "#f2b134";
      g.fillRect(px + 6, py + T - 9, (T - 12) * done, 5);
    }
  }
  if (state.items[k]) item(g, state.items[k], cx, cy);
}

function cook(g, c, i, mine) {
  const cx = c.x * T + T / 2;
  const cy = c.y * T + HUD + T / 2;
  if (mine) circle(g, cx, cy, 27, "#fff8", "#ffd400");
  circle(g, cx, cy, 20, COOKS[i % COOKS.length], "#fff");
  const d = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0] }[c.dir];
  circle(g, cx + d[0] * 14, cy + d[1] * 14, 5, "#fff");
  if (c.held) item(g, c.held, cx + d[0] * 22, cy + d[1] * 22, 0.75);
}

function hud(g, state, width) {
  g.fillStyle = "#263043";
  g.fillRect(0, 0, width, HUD);
  g.fillStyle = "#fff";
  g.textAlign = "left";
  g.font = "bold 16px sans-serif";
  const secs = Math.ceil(state.left / state.settings.rate);
  g.fillText(`Round ${state.round + 1}/${state.settings.rounds}`, 10, 22);
  g.fillText(`Score ${state.score.score}`, 10, 46);
  g.fillText(`${state.phase === "play" ? secs : 0} s`, 10, 70);
  state.orders.forEach((o, i) => {
    const x = 130 + i * 74;
    g.fillStyle = "#f4f4f4";
    g.fillRect(x, 10, 66, 66);
    item(g, `soup-${o.recipe}`, x + 33, 36, 1);
    g.fillStyle = o.left / o.of < 0.25 ? "#e0453a" : "#3fbf5f";
    g.fillRect(x + 4, 64, 58 * (o.left / o.of), 7);
  });
}

function scoreScreen(g, state, width, height) {
  g.fillStyle = "#000b";
  g.fillRect(0, 0, width, height);
  g.fillStyle = "#fff";
  g.textAlign = "center";
  const last = state.rounds[state.rounds.length - 1];
  const final = state.phase === "over" || state.round + 1 >= state.settings.rounds;
  g.font = "bold 26px sans-serif";
  g.fillText(final ? "Well done — all rounds over!" : `Round ${state.round + 1} over`, width / 2, height / 2 - 40);
  g.font = "18px sans-serif";
  if (last) g.fillText(`Score ${last.score} · ${last.delivered} soups served · ${last.missed} orders missed`, width / 2, height / 2);
  g.fillText(final ? `Total ${state.total}` : "Next round in a moment…", width / 2, height / 2 + 34);
}

/** Draws the state for `view.slot` into `view.root`. */
export function draw(state, view) {
  const g = ui(view, state);
  const width = state.grid[0].length * T;
  const height = state.grid.length * T + HUD;
  hud(g, state, width);
  state.grid.forEach((row, y) => [...row].forEach((c, x) => tile(g, state, c, x, y)));
  state.cooks.forEach((c, i) => cook(g, c, i, i === view.slot));
  if (state.phase !== "play") scoreScreen(g, state, width, height);
}
