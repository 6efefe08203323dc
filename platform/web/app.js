// The participant page: connects, then renders whatever the host says.

import { Connection } from "./connection.js";
import { Prober } from "./probe.js";
import { renderScene, renderWaiting, renderOutcome, renderNotice, renderMatchFound, renderDuplicate } from "./scenes.js";
import * as demo from "./games/demo.js";

/** Games shipped with the host, by the experiment's `game.name`. */
const GAMES = { demo };

const parts = location.pathname.split("/").filter(Boolean); // ["x", "<experiment>"]
const experiment = decodeURIComponent(parts[1] || "");
const params = Object.fromEntries(new URLSearchParams(location.search));
const app = document.getElementById("app");
const status = document.getElementById("status");
const progress = document.getElementById("progress");

function setStatus(text, warn = false) {
  status.textContent = text;
  status.classList.toggle("warn", warn);
}

const connection = new Connection(experiment, params, onMessage, (state) => {
  if (state === "connected") setStatus("");
  if (state === "reconnecting") setStatus("Connection lost. Reconnecting…", true);
  if (state === "restarting") setStatus("The study server is restarting. Reconnecting…", true);
  if (state === "saving") setStatus("The study server cannot save right now. Retrying…", true);
});

let currentScene = null;
let game = null;
const prober = new Prober(connection, () => setStatus(""));

function startGame(msg) {
  const module = GAMES[msg.name];
  if (!module) {
    renderNotice(app, "Unknown game", `This page does not know the game "${msg.name}".`);
    return;
  }
  game = {
    id: msg.game,
    instance: module.start(app, {
      players: msg.players,
      slot: msg.slot,
      episodes: msg.episodes,
      act: (action) => connection.send({ type: "game_action", game: msg.game, action }),
      complete: (result) => connection.send({ type: "game_complete", game: msg.game, result }),
    }),
  };
}

function onMessage(msg) {
  if (prober.handle(msg)) {
    if (msg.type === "probe_prepare") setStatus("Checking the connection to a possible partner…");
    return;
  }
  switch (msg.type) {
    case "welcome":
      document.title = msg.title;
      document.getElementById("study-title").textContent = msg.title;
      break;
    case "scene":
      currentScene = msg.scene;
      progress.textContent = `Step ${msg.index + 1} of ${msg.total}`;
      renderScene(app, msg.scene, connection);
      break;
    case "waiting_room":
      if (currentScene && currentScene.kind === "multiplayer") renderWaiting(app, msg);
      break;
    case "match_found":
      prober.closeAll();
      setStatus("");
      renderMatchFound(app, msg);
      break;
    case "start_game":
      startGame(msg);
      break;
    case "game_state":
      if (game && game.id === msg.game) game.instance.onState(msg.from, msg.state);
      break;
    case "game_end":
      game = null;
      renderNotice(app, "Game over", "Thank you! Loading the next step…");
      break;
    case "outcome":
      progress.textContent = "";
      renderOutcome(app, msg);
      break;
    case "duplicate_session":
      // Never automatic: the participant chooses which tab goes on.
      renderDuplicate(app, msg.message, () => connection.takeOver());
      break;
    case "error":
      // A signal or result for a probe or game that has just ended is refused as
      // `not_a_peer`; that is expected and not the participant's concern.
      if (msg.code !== "not_a_peer") setStatus(msg.message, true);
      break;
    default:
      break;
  }
}

connection.start();
