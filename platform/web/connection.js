// The participant's connection to the host (protocol: docs/protocol.md).
//
// Speaks first with `hello` (the page's query parameters carry the recruitment id),
// keeps the resume token in sessionStorage so a reload or a dropped network continues
// the same session, reconnects with backoff, and matches `ack`/`error` replies to
// requests by `seq`. It stops reconnecting once the host says the session is over.

import { PROTOCOL } from "./constants.js";

export class Connection {
  /** @param {string} experiment @param {Record<string,string>} params @param {(msg:object)=>void} onMessage @param {(state:string)=>void} onState */
  constructor(experiment, params, onMessage, onState) {
    this.experiment = experiment;
    this.params = params;
    this.onMessage = onMessage;
    this.onState = onState;
    this.tokenKey = `cohort:${experiment}:token`;
    this.seq = 0;
    this.waiting = new Map();
    this.finished = false;
    this.attempt = 0;
  }

  start() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/x/${encodeURIComponent(this.experiment)}/ws`);
    this.ws = ws;
    ws.onopen = () => {
      const hello = { type: "hello", protocol: PROTOCOL, params: this.params };
      const token = sessionStorage.getItem(this.tokenKey);
      if (token) hello.resume_token = token;
      if (this.takeover) hello.takeover = true;
      if (this.environment) hello.environment = this.environment;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    ws.onclose = () => {
      for (const { reject } of this.waiting.values()) reject(new Error("disconnected"));
      this.waiting.clear();
      if (this.finished) return;
      this.attempt += 1;
      const delay = Math.min(10000, 500 * 2 ** Math.min(this.attempt, 5));
      this.onState("reconnecting");
      setTimeout(() => this.start(), delay);
    };
  }

  receive(msg) {
    switch (msg.type) {
      case "welcome":
        this.attempt = 0;
        this.takeover = false;
        sessionStorage.setItem(this.tokenKey, msg.resume_token);
        this.onState("connected");
        break;
      case "ack":
        this.settle(msg.seq, null);
        this.onState("connected");
        return;
      case "error":
        if (msg.seq !== undefined && this.waiting.has(msg.seq)) {
          this.settle(msg.seq, msg);
          return;
        }
        break;
      case "duplicate_session":
      case "outcome":
        this.finished = true;
        break;
      case "scene":
        if (msg.scene.kind === "end") this.finished = true;
        break;
      case "shutdown":
        this.onState("restarting");
        break;
    }
    this.onMessage(msg);
  }

  settle(seq, error) {
    const pending = this.waiting.get(seq);
    if (!pending) return;
    this.waiting.delete(seq);
    if (error) pending.reject(Object.assign(new Error(error.message), { reply: error }));
    else pending.resolve();
  }

  /** Continues the session in this tab, taking it over from the other one (after the
   * participant chose to, on `duplicate_session`). */
  takeOver() {
    this.finished = false;
    this.takeover = true;
    this.attempt = 0;
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) {
      this.ws.onclose = () => this.start();
      this.ws.close();
    } else {
      this.start();
    }
  }

  /** Sends a message without waiting for its acknowledgement. */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** Sends a message with a fresh seq; resolves on `ack`, rejects with the `error`.
   * While the host cannot save data (`unavailable`), the message is sent again every
   * 2 s for up to 10 minutes, without bothering the participant. */
  async request(msg, attempts = 300) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.requestOnce(msg);
      } catch (err) {
        const paused = err.reply && err.reply.code === "unavailable";
        if (!paused || attempt >= attempts) throw err;
        this.onState("saving");
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  requestOnce(msg) {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error("not connected"));
        return;
      }
      this.waiting.set(seq, { resolve, reject });
      this.ws.send(JSON.stringify({ ...msg, seq }));
    });
  }
}
