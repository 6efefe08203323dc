// The participant page: connects, then renders whatever the host says.

import { Connection } from "./connection.js";
import { Prober } from "./probe.js";
import { renderScene, renderWaiting, renderOutcome, renderNotice, renderMatchFound, renderDuplicate, leaveButton } from "./scenes.js";
import { GameRunner } from "./lockstep.js";
import { ReadyCheck } from "./ready.js";
import { addTexts, loadTexts, pageChecks, t } from "./i18n.js";
import { environment } from "./environment.js";
import { Chat } from "./chat.js";

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
  if (state === "reconnecting") setStatus(t("status.reconnecting"), true);
  if (state === "restarting") setStatus(t("status.restarting"), true);
  if (state === "saving") setStatus(t("status.saving"), true);
});

let currentScene = null;
const chat = new Chat(document.getElementById("chat"), connection);
let game = null;
const prober = new Prober(connection, () => setStatus(""));
// Acknowledged (and sent again while the host cannot save); a refusal (the check is
// over) needs nothing from the participant.
const readyCheck = new ReadyCheck(app, (msg) => connection.request(msg).catch(() => {}));

function startGame(msg) {
  if (game && game.msg.game === msg.game) return; // sent again on resume: already playing
  if (game) game.stop();
  const root = document.createElement("section");
  root.className = "game";
  root.tabIndex = 0;
  const leaveBox = document.createElement("div");
  leaveBox.id = "leave-box";
  leaveBox.hidden = true;
  app.replaceChildren(root, leaveBox);
  root.focus();
  game = new GameRunner(msg, {
    connection,
    prober,
    root,
    notice: (text) => setStatus(text, text !== ""),
    onOver: () => setStatus(t("status.finishing")),
    // A partner away or idle for `partner_idle_secs`: offer to leave with pay.
    onIdlePartner: (idle) => {
      if (!idle) { leaveBox.hidden = true; leaveBox.replaceChildren(); return; }
      leaveButton(leaveBox, t("leave.button"), t("leave.game_question"),
        { connection, msg: { type: "leave_game", game: msg.game } });
    },
  });
  // Tests and researchers debugging a game read its progress here.
  window.cohortGame = game;
  game.start().catch((e) => {
    console.error(e);
    renderNotice(app, t("game.could_not_start"), String(e.message || e));
  });
}

function onMessage(msg) {
  if (prober.handle(msg)) {
    if (msg.type === "probe_prepare") setStatus(t("status.checking_partner"));
    return;
  }
  switch (msg.type) {
    case "texts":
      addTexts(msg.texts);
      break;
    case "welcome":
      document.title = msg.title;
      readyCheck.title = msg.title;
      document.getElementById("study-title").textContent = msg.title;
      break;
    case "scene":
      // Sent again on a reconnect: a game in progress stays on screen.
      if (game && msg.scene.kind === "multiplayer") break;
      currentScene = msg.scene;
      chat.close(); // opened again (`chat_open`) where the group chats
      progress.textContent = t("progress", { n: msg.index + 1, total: msg.total });
      // A repeated scene is told apart by its iteration, echoed in advance / submit.
      renderScene(app, { ...msg.scene, iteration: msg.iteration }, connection);
      break;
    case "waiting_room":
      if (currentScene && currentScene.kind === "multiplayer") renderWaiting(app, msg, connection);
      break;
    case "ready_check":
      readyCheck.start(msg);
      break;
    case "ready_abort":
      readyCheck.abort(msg);
      break;
    case "match_found":
      readyCheck.stop();
      prober.keepOnly(msg.players);
      setStatus("");
      renderMatchFound(app, msg);
      break;
    case "start_game":
      startGame(msg);
      break;
    case "game_inputs":
    case "game_relay":
    case "game_signal":
    case "partner_visibility":
    case "seat_change":
      if (game && game.msg.game === msg.game) game.handle(msg);
      break;
    case "game_end":
      window.cohortGameEnd = { reason: msg.reason, ...(game ? game.inspect() : {}) };
      if (game) game.stop();
      game = null;
      chat.close();
      setStatus("");
      renderNotice(app, t("game.over"), msg.reason === "desync" ? t("game.desync") : t("game.thanks"));
      break;
    case "notice":
      setStatus(msg.message);
      break;
    case "chat_open":
      chat.open(msg);
      break;
    case "chat":
      chat.add(msg);
      break;
    case "outcome":
      if (game) { game.stop(); game = null; }
      chat.close();
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

await loadTexts(experiment);
connection.environment = await environment(pageChecks().webrtc === true);
connection.start();
