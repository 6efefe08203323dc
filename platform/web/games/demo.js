// The demo game: every player moves a token on a small grid (arrow keys or the
// buttons) to the star in the middle. Moves are relayed to the group by the host
// (`game_action` → `game_state`); a player who reaches the star reports
// `game_complete`, and the game ends when everyone has.

const SIZE = 7;
const GOAL = { x: 3, y: 3 };
const STARTS = [{ x: 0, y: 0 }, { x: 6, y: 6 }, { x: 6, y: 0 }, { x: 0, y: 6 }];
const COLOURS = ["#2454d6", "#d6452a", "#16794c", "#8a3ffc"];

export function start(app, ctx) {
  const positions = ctx.players.map((_, i) => ({ ...STARTS[i % STARTS.length] }));
  let moves = 0;
  let done = false;

  const board = document.createElement("div");
  board.className = "board";
  board.tabIndex = 0;
  board.setAttribute("role", "application");
  board.setAttribute("aria-label", "Game board: use the arrow keys to move to the star");
  const status = document.createElement("p");
  status.id = "game-status";
  status.setAttribute("aria-live", "polite");
  status.textContent = "Move to the star with the arrow keys.";

  const pad = document.createElement("div");
  pad.className = "pad";
  for (const [label, dx, dy] of [["↑", 0, -1], ["←", -1, 0], ["→", 1, 0], ["↓", 0, 1]]) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = label;
    b.setAttribute("aria-label", { "↑": "up", "←": "left", "→": "right", "↓": "down" }[label]);
    b.addEventListener("click", () => move(dx, dy));
    pad.append(b);
  }

  function draw() {
    board.replaceChildren();
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const cell = document.createElement("div");
        cell.className = "cell";
        if (x === GOAL.x && y === GOAL.y) cell.textContent = "★";
        positions.forEach((p, i) => {
          if (p.x === x && p.y === y) {
            const token = document.createElement("span");
            token.className = "token";
            token.style.background = COLOURS[i % COLOURS.length];
            token.title = i === ctx.slot ? "you" : "partner";
            cell.append(token);
          }
        });
        board.append(cell);
      }
    }
  }

  function move(dx, dy) {
    if (done) return;
    const me = positions[ctx.slot];
    const x = Math.max(0, Math.min(SIZE - 1, me.x + dx));
    const y = Math.max(0, Math.min(SIZE - 1, me.y + dy));
    if (x === me.x && y === me.y) return;
    positions[ctx.slot] = { x, y };
    moves += 1;
    ctx.act({ x, y });
    draw();
    if (x === GOAL.x && y === GOAL.y) {
      done = true;
      status.textContent = "You reached the star! Waiting for your partner…";
      ctx.complete({ moves });
    }
  }

  const keys = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
  board.addEventListener("keydown", (e) => {
    const d = keys[e.key];
    if (!d) return;
    e.preventDefault();
    move(d[0], d[1]);
  });

  const heading = document.createElement("h1");
  heading.textContent = "Reach the star";
  app.replaceChildren(heading, status, board, pad);
  draw();
  board.focus();

  return {
    onState(from, state) {
      const slot = ctx.players.indexOf(from);
      if (slot < 0 || typeof state.x !== "number" || typeof state.y !== "number") return;
      positions[slot] = { x: Math.max(0, Math.min(SIZE - 1, state.x)), y: Math.max(0, Math.min(SIZE - 1, state.y)) };
      draw();
    },
  };
}
