// The participant page: connects, then renders whatever the host says.

import { Connection } from "./connection.js";
import { renderScene, renderWaiting, renderOutcome, renderNotice } from "./scenes.js";

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
});

let currentScene = null;

function onMessage(msg) {
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
    case "outcome":
      progress.textContent = "";
      renderOutcome(app, msg);
      break;
    case "duplicate_session":
      renderNotice(app, "Already open", msg.message);
      break;
    case "error":
      setStatus(msg.message, true);
      break;
    default:
      break;
  }
}

connection.start();
