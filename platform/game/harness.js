// The host's side of a game module (run by the host's JavaScript engine only): holds
// the state between calls and passes values as JSON text, checking what the module
// returns the way docs/games.md promises.

import * as G from "game:main";
import { hashState } from "cohort:hash";

let state;

globalThis.__cohort = {
  exports() {
    const functions = Object.keys(G).filter((k) => typeof G[k] === "function");
    const inputs = Array.isArray(G.inputs) ? G.inputs : null;
    return JSON.stringify({ functions, inputs });
  },
  init(config, seed, players, tickRate) {
    state = G.init(JSON.parse(config), seed, players, tickRate);
    if (state === undefined) throw new Error("init() returned nothing: return the initial state");
  },
  step(inputs) {
    const next = G.step(state, JSON.parse(inputs));
    if (next === undefined) throw new Error("step() returned nothing: return the next state");
    state = next;
  },
  done() {
    const result = G.done(state);
    return result === undefined || result === null ? null : JSON.stringify(result);
  },
  hash() {
    return typeof G.hash === "function" ? String(G.hash(state)) : hashState(state);
  },
  // The whole state as JSON (null when it has none: a cycle), for comparing copies
  // beyond what the module's own hash() covers.
  state() {
    try { return JSON.stringify(state) ?? null; } catch { return null; }
  },
  seat(slot, kind) {
    if (typeof G.seat !== "function") return;
    const next = G.seat(state, slot, kind);
    if (next !== undefined) state = next;
  },
  record() {
    return typeof G.record === "function" ? JSON.stringify(G.record(state) ?? null) : null;
  },
  bot(slot) {
    const input = G.bot(state, slot);
    return input === undefined ? "null" : JSON.stringify(input);
  },
};
