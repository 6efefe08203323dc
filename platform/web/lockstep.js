// Runs one game in lockstep (docs/games.md): loads the game's module, steps it once per
// tick with every player's input for that tick, and carries inputs over the
// peer-to-peer channels the probe opened (or that the game opens through
// `game_signal`), falling back to the host relay when a channel fails or stalls.
//
// An input sampled at tick t applies at tick t + input_delay. Every input goes to the
// host too (`game_inputs`, with a state hash every HASH_EVERY ticks), so the host can
// log, relay and replay the game. A reloaded page catches up from the inputs the host
// sends with `start_game`.

import { hashState } from "./hash.js";
import { Link } from "./probe.js";
import { t } from "./i18n.js";
// The rules every copy keeps (a state hash after every tick t with t % HASH_EVERY ===
// HASH_EVERY - 1, the largest input, inputs per message, channel reopening), as the
// host defines them for itself and its bots.
import { HASH_EVERY, MAX_BATCH, MAX_INPUT_BYTES, REOPEN_MS, REOPEN_TRIES } from "./constants.js";

/** Waiting this long for a partner's input switches the group to the relay. */
const STALL_MS = 1000;
/** Inputs from key presses waiting for their tick. */
const MAX_QUEUED = 4;

export class GameRunner {
  /** @param {object} msg the `start_game` message */
  constructor(msg, { connection, prober, root, notice, onOver, onIdlePartner = () => {} }) {
    this.msg = msg;
    this.connection = connection;
    this.root = root;
    this.notice = notice;
    this.onOver = onOver;
    this.onIdlePartner = onIdlePartner; // (idle: boolean) when `partner_idle_secs` passes
    this.actedAt = new Map(); // slot → when its last input other than null arrived
    this.hiddenSince = new Map(); // slot → since when its page is hidden
    this.idleShown = false;
    this.slot = msg.slot;
    this.n = msg.players.length; // seats with a participant
    this.seats = this.n + (msg.bot_seats || 0); // and those the module's bot plays
    this.delay = msg.input_delay;
    this.dt = 1000 / msg.tick_rate;
    this.relay = msg.relay;
    this.inputs = Array.from({ length: this.n }, (_, s) => [...(msg.inputs[s] || [])]);
    this.sent = this.inputs[this.slot].length; // own inputs the host has
    this.tick = 0;
    this.hashes = [];
    this.queue = [];
    this.links = new Map(); // slot → Link
    this.opened = new Set(); // slots whose channel was ever open
    this.reopens = new Map(); // slot → new channels tried after one closed
    this.reopened = 0; // channels open again after one closed
    this.changes = [...(msg.seat_changes || [])]; // seats a player left: {slot, tick, to}
    this.peerSent = new Map(); // slot → own inputs sent over that link
    this.hiddenPartners = new Set();
    this.hidden = document.hidden;
    this.stalledSince = null;
    this.over = false;
    this.stopped = false;
    this.noticeUntil = 0;
    for (const [s, peer] of msg.players.entries()) {
      if (s === this.slot) continue;
      const link = prober.adopt(peer);
      if (link) this.useLink(s, link);
    }
    // A pair without the probe's channel opens one now (a reloaded page plays over
    // the relay at once, its partner being ahead and waiting, and opens its channels
    // again as after a closed one).
    const missing = msg.players.some((_, s) => s !== this.slot && !this.links.has(s));
    this.resumed = msg.inputs.some((i) => i.length > 0);
    if (missing && this.resumed) {
      this.askRelay();
      for (const s of msg.players.keys()) if (s !== this.slot && !this.links.has(s)) this.reopen(s);
    } else if (missing) this.openLinks();
  }

  async start() {
    this.game = await import(this.msg.module);
    for (const f of ["init", "step", "render", "input", "done"]) {
      if (typeof this.game[f] !== "function") throw new Error(`the game module does not export ${f}()`);
    }
    if (this.seats > this.n && typeof this.game.bot !== "function") throw new Error("the game module does not export bot()");
    this.state = this.game.init(this.msg.config, this.msg.seed, this.seats, this.msg.tick_rate);
    const own = this.inputs[this.slot];
    while (own.length < this.delay) own.push(null);
    this.catchUp(Infinity);
    this.hashes = []; // reported before the reload
    this.listen();
    this.startedAt = performance.now() - this.tick * this.dt;
    this.timer = setInterval(() => this.loop(), Math.max(4, this.dt / 2));
    this.draw();
  }

  /** Opens the channels the probe did not leave (lower slot offers). */
  openLinks() {
    for (const s of this.msg.players.keys()) {
      if (s === this.slot || this.links.has(s)) continue;
      this.startLink(this.newLink(s));
    }
  }

  /** Starts a new channel's signaling; a failure to start it falls back to the relay. */
  startLink(link) {
    link?.start().catch(() => this.noChannel());
  }

  /** A new game channel with the player of `slot` (the lower slot offers), signaled
   *  through the host, in place of the one there was (`again`: after one closed).
   *  Null when this browser cannot make one (no working RTCPeerConnection: privacy
   *  extensions, managed browsers): the game goes on over the relay at once. */
  newLink(slot, again = false) {
    if (this.noWebRTC) return null;
    const old = this.links.get(slot);
    const peer = this.msg.players[slot];
    let link;
    try {
      link = new Link(this.msg.ice_servers, this.slot < slot, "game",
        (signal) => this.connection.send({ type: "game_signal", game: this.msg.game, to: peer, signal }));
    } catch (e) {
      console.warn("no peer-to-peer channel in this browser; the game goes through the host", e);
      this.noWebRTC = true;
      this.noChannel();
      return null;
    }
    this.useLink(slot, link, again);
    old?.close(); // after `useLink`: the old channel's close handler sees it replaced
    return link;
  }

  /** A channel could not be made or started: the relay carries the game. */
  noChannel() {
    if (!this.relay && !this.stopped && !this.over) this.askRelay();
  }

  useLink(slot, link, again = false) {
    this.links.set(slot, link);
    this.peerSent.set(slot, 0);
    const opened = () => {
      this.opened.add(slot);
      if (again) this.reopened += 1;
    };
    const attach = (channel) => {
      if (channel.readyState === "open") opened();
      channel.addEventListener("open", opened);
      channel.addEventListener("message", (e) => this.onPeerMessage(slot, e.data));
      channel.addEventListener("close", () => {
        // A channel closed under a game still going (not a replaced one, nor one whose
        // player left and whose seat changed hands): the relay carries the game, and a
        // new channel is tried.
        if (this.links.get(slot) !== link || !this.playingWith(slot)) return;
        if (!this.relay) this.askRelay();
        this.reopen(slot);
      });
    };
    if (link.channel) attach(link.channel);
    else link.onChannel = attach;
  }

  /** Whether the game goes on with the player of `slot` in their seat. */
  playingWith(slot) {
    return !this.stopped && !this.over && this.seatAt(slot, Infinity) === null;
  }

  /** A channel that closed mid-game is opened again by the lower slot (the other
   *  answers whatever offer comes: `onSignal`), after REOPEN_MS, doubling, and looked
   *  at again as long as tries are left. Inputs then take whichever path is first;
   *  the host relays on. */
  reopen(slot) {
    const tries = this.reopens.get(slot) ?? 0;
    if (this.noWebRTC || this.slot > slot || tries >= REOPEN_TRIES) return;
    this.reopens.set(slot, tries + 1);
    setTimeout(() => {
      if (this.noWebRTC || !this.playingWith(slot) || this.links.get(slot)?.open()) return;
      this.startLink(this.newLink(slot, true));
      this.reopen(slot); // looked at again: a channel that never opens is tried anew
    }, REOPEN_MS * 2 ** tries);
  }

  /** Signaling for a channel this game opened. An offer on a link that already had
   *  one (or on none) is a new channel from the partner: it gets a new link, as many
   *  times as the partner may try (a partner cannot make this page churn
   *  connections). */
  onSignal(from, signal) {
    const slot = this.msg.players.indexOf(from);
    if (slot < 0 || slot === this.slot) return;
    let link = this.links.get(slot);
    const tries = this.reopens.get(slot) ?? 0;
    const fresh = signal?.sdp?.type === "offer" && (!link || link.pc.remoteDescription);
    if (fresh && this.slot > slot && tries <= REOPEN_TRIES && this.playingWith(slot)) {
      if (link) this.reopens.set(slot, tries + 1);
      link = this.newLink(slot, link !== undefined);
    }
    link?.onSignal(signal).catch(() => this.noChannel());
  }

  listen() {
    this.onKey = (e) => this.onEvent(e);
    this.onVisibility = () => {
      this.hidden = document.hidden;
      this.connection.send({ type: "visibility", hidden: this.hidden });
      if (!this.hidden) this.loop();
    };
    window.addEventListener("keydown", this.onKey);
    this.root.addEventListener("pointerdown", this.onKey);
    this.root.addEventListener("click", this.onKey);
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  onEvent(event) {
    if (this.over) return;
    // Keys meant for the page's own controls (a button, a text field) outside the
    // game are not the game's.
    const target = event.target instanceof Element ? event.target : null;
    if (event.type === "keydown" && target && !this.root.contains(target)
      && target.closest("button, input, textarea, select, a")) return;
    let input;
    try { input = this.game.input(event, this.state, this.slot); } catch (e) { console.error(e); return; }
    if (input === undefined || input === null) return;
    if (JSON.stringify(input).length > MAX_INPUT_BYTES) { console.error("game input too large; dropped"); return; }
    if (event.type === "keydown") event.preventDefault();
    if (this.queue.length < MAX_QUEUED) this.queue.push(input);
  }

  /** The tick clock: commit, send, step what can be stepped. */
  loop() {
    if (this.stopped || this.over || this.state === undefined || this.startedAt === undefined) return;
    const due = Math.floor((performance.now() - this.startedAt) / this.dt);
    const own = this.inputs[this.slot];
    const pause = this.hidden && this.msg.on_hidden === "pause";
    if (!pause) {
      // Commit this seat's inputs up to the tick the clock has reached (+ delay); a
      // hidden page that continues commits empty inputs 2 s ahead, since its timers
      // are throttled.
      const ahead = this.hidden ? 2 * this.msg.tick_rate : 0;
      while (own.length <= this.tick + this.delay + ahead) {
        own.push(this.hidden ? null : (this.queue.shift() ?? null));
      }
    }
    const before = this.tick;
    // Never ahead of the clock: tick t is stepped once t ticks' time has passed.
    this.catchUp(Math.max(0, due - this.tick));
    this.send();
    if (this.tick > before) this.draw();
    this.watchStall(due);
    this.watchIdle();
  }

  /** With `partner_idle_secs`: a partner whose page has been hidden (when the game
   *  pauses for it) or who sent nothing but empty inputs that long may be left; the
   *  page offers it (`onIdlePartner`), and takes the offer back when they return. */
  watchIdle() {
    const limit = this.msg.partner_idle_secs;
    if (!limit || this.over || this.stopped) return;
    const now = performance.now();
    this.startedIdleAt ??= now;
    const idle = [...Array(this.n).keys()].some((s) => {
      if (s === this.slot || !this.played(s, Infinity)) return false;
      const acted = this.actedAt.get(s) ?? this.startedIdleAt;
      const hidden = this.msg.on_hidden === "pause" ? this.hiddenSince.get(s) : undefined;
      return now - acted >= limit * 1000 || (hidden !== undefined && now - hidden >= limit * 1000);
    });
    if (idle !== this.idleShown) {
      this.idleShown = idle;
      this.onIdlePartner(idle);
    }
  }

  /** Steps while every seat's input is known (at most `max` ticks). */
  catchUp(max) {
    let steps = 0;
    while (steps < max && !this.over && this.ready(this.tick)) {
      try {
        const row = this.row(this.tick);
        this.state = this.game.step(this.state, row);
        if (this.state === undefined) throw new Error("step() returned nothing: return the next state");
      } catch (e) {
        // Every copy fails alike (the game is deterministic): each reports it, and
        // the game ends with the error as its result.
        console.error(e);
        this.send();
        this.finish({ error: String(e && e.message ? e.message : e).slice(0, 200) }, "the game failed");
        return;
      }
      if (this.tick % HASH_EVERY === HASH_EVERY - 1) this.hashes.push([this.tick, this.hash()]);
      const result = this.game.done(this.state);
      if (result !== undefined && result !== null) {
        this.send();
        this.finish(result);
        return;
      }
      this.tick += 1;
      steps += 1;
    }
  }

  /** What plays `slot` at `tick`: null for its first player, else "bot", "empty" or
   * "player" (a newcomer who took the seat). */
  seatAt(slot, tick) {
    let kind = null;
    let at = -1;
    for (const c of this.changes) if (c.slot === slot && c.tick <= tick && c.tick > at) [kind, at] = [c.to, c.tick];
    return kind;
  }

  /** Whether a participant's input counts for `slot` at `tick`. */
  played(slot, tick) {
    const kind = this.seatAt(slot, tick);
    return kind === null || kind === "player";
  }

  /** Whether every seat played by a participant has its input for `tick`. */
  ready(tick) {
    return this.inputs.every((i, s) => !this.played(s, tick) || i.length > tick);
  }

  /** Every seat's input for `tick` (bots computed here, as on every copy); seats that
   * change hands at `tick` are told to the module first (its optional `seat`). */
  row(tick) {
    const row = this.inputs.map((i, s) => (this.played(s, tick) ? i[tick] : null));
    for (const c of this.changes) {
      if (c.tick === tick && typeof this.game.seat === "function") {
        this.state = this.game.seat(this.state, c.slot, c.to) ?? this.state;
      }
    }
    for (let s = 0; s < this.seats; s++) {
      if (s >= this.n || this.seatAt(s, tick) === "bot") row[s] = this.game.bot(this.state, s) ?? null;
    }
    return row;
  }

  /** A player left for good: from `tick`, their seat is a bot's or empty. A copy that
   * already stepped past it (with inputs that came over the channel) computes the
   * game again from the start. */
  seatChange(msg) {
    this.changes.push({ slot: msg.slot, tick: msg.tick, to: msg.to, player: msg.player });
    const held = this.inputs[msg.slot];
    held.length = Math.min(held.length, msg.tick);
    this.links.get(msg.slot)?.close(); // the leaver's channel
    this.links.delete(msg.slot);
    if (msg.to === "player") {
      // A newcomer takes the seat from `tick` (the bot played it before): their inputs
      // come through the host, since there is no channel to them.
      while (held.length < msg.tick) held.push(null);
      this.msg.players[msg.slot] = msg.player;
      if (msg.told) this.say(t("game.partner_joined"), 6000);
      this.askRelay();
      return;
    }
    if (msg.told) {
      this.say(msg.to === "bot" ? t("game.partner_bot") : t("game.partner_left"), 8000);
    }
    if (this.state !== undefined && this.tick > msg.tick) {
      const until = this.tick;
      this.state = this.game.init(this.msg.config, this.msg.seed, this.seats, this.msg.tick_rate);
      this.tick = 0;
      this.catchUp(until);
      this.hashes = []; // those ticks were reported already
      this.draw();
    }
  }

  hash() {
    return typeof this.game.hash === "function" ? String(this.game.hash(this.state)) : hashState(this.state);
  }

  /** New own inputs to the host and to every open channel. */
  send() {
    const own = this.inputs[this.slot];
    while (own.length > this.sent || this.hashes.length) {
      const inputs = own.slice(this.sent, this.sent + MAX_BATCH);
      const msg = { type: "game_inputs", game: this.msg.game, from: this.sent, inputs };
      if (this.hashes.length) msg.hashes = this.hashes.splice(0, 64);
      this.connection.send(msg);
      this.sent += inputs.length;
    }
    for (const [slot, link] of this.links) {
      const channel = link.open();
      if (!channel) continue;
      const from = this.peerSent.get(slot);
      if (own.length <= from) continue;
      try {
        channel.send(JSON.stringify({ t: "in", k: from, v: own.slice(from, from + MAX_BATCH) }));
        this.peerSent.set(slot, Math.min(own.length, from + MAX_BATCH));
      } catch { /* the close handler switches to the relay */ }
    }
  }

  onPeerMessage(slot, data) {
    // A seat that changed hands takes nothing from a channel: who left has no say, and
    // a newcomer plays through the host.
    if (typeof data !== "string" || data.length > 32768 || this.seatAt(slot, Infinity) !== null) return;
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    // A partner is never further ahead than lockstep lets it be (two input delays and
    // the 2 s a hidden page commits ahead): nothing beyond that is held.
    const ahead = this.tick + 2 * this.delay + 4 * this.msg.tick_rate + MAX_BATCH;
    if (msg.t === "in") this.merge(slot, msg.k, msg.v, ahead);
  }

  /** Inputs of `slot` from tick `from` (a channel or the host), held up to tick
   *  `limit`; anything odd is ignored. */
  merge(slot, from, inputs, limit = Infinity) {
    if (slot === this.slot || !Number.isInteger(from) || !Array.isArray(inputs) || inputs.length > 1024) return;
    const held = this.inputs[slot];
    if (!held || from > held.length || from < 0) return;
    for (let i = held.length - from; i < inputs.length && held.length < limit; i++) {
      if (JSON.stringify(inputs[i] ?? null).length > MAX_INPUT_BYTES) return;
      held.push(inputs[i] ?? null);
      if (inputs[i] !== null && inputs[i] !== undefined) this.actedAt.set(slot, performance.now());
    }
    if (!this.hidden && this.state !== undefined) this.loop();
  }

  /** A partner's input has been missing too long: play over the relay. */
  watchStall(due) {
    const missing = due > this.tick && !this.over && !this.ready(this.tick);
    const partnerHidden = this.msg.on_hidden === "pause" && this.hiddenPartners.size > 0;
    if (!missing || partnerHidden) {
      this.stalledSince = null;
      if (partnerHidden) this.say(t("game.partner_hidden"));
      else if (performance.now() > this.noticeUntil) this.say("");
      return;
    }
    this.stalledSince ??= performance.now();
    const stalled = performance.now() - this.stalledSince;
    // Stalled: ask the host for the partners' inputs it holds (and to relay from now
    // on), again every STALL_MS while the stall lasts.
    if (stalled > STALL_MS && performance.now() - (this.askedAt ?? -Infinity) > STALL_MS) this.askRelay();
    else if (stalled > STALL_MS && performance.now() > this.noticeUntil) this.say(t("game.waiting_partner"));
    // Do not run ahead of the partner once inputs flow again: hold the clock.
    if (stalled > this.dt) this.startedAt = performance.now() - (this.tick + 1) * this.dt;
  }

  say(text, forMs = 0) {
    if (forMs) this.noticeUntil = performance.now() + forMs;
    if (text !== this.said) this.notice(text);
    this.said = text;
  }

  /** Asks the host to relay, with every partner input it holds that this page lacks. */
  askRelay() {
    this.askedAt = performance.now();
    if (!this.relay) this.say(t("game.slow"), 5000);
    this.relay = true;
    const need = Math.min(...this.inputs.filter((_, s) => s !== this.slot).map((i) => i.length));
    this.connection.send({ type: "game_relay", game: this.msg.game, need });
  }

  /** Messages from the host about this game. */
  handle(msg) {
    switch (msg.type) {
      case "game_inputs": this.merge(msg.slot, msg.from, msg.inputs); break;
      case "game_relay":
        // Someone's path failed: inputs sent before the switch went only over the
        // channels, so catch up from the host at once.
        if (!this.relay && this.state !== undefined) this.askRelay();
        this.relay = true;
        break;
      case "partner_visibility":
        if (msg.hidden) this.hiddenPartners.add(msg.slot); else this.hiddenPartners.delete(msg.slot);
        if (msg.hidden) { if (!this.hiddenSince.has(msg.slot)) this.hiddenSince.set(msg.slot, performance.now()); }
        else this.hiddenSince.delete(msg.slot);
        break;
      case "game_signal": this.onSignal(msg.from, msg.signal); break;
      case "seat_change": this.seatChange(msg); break;
      default: break;
    }
  }

  draw() {
    try {
      this.game.render(this.state, { slot: this.slot, root: this.root, tick: this.tick, players: this.seats });
    } catch (e) {
      console.error(e);
    }
  }

  finish(result, failure) {
    this.over = true;
    if (failure) this.say(t("game.failed", { reason: failure }));
    else this.draw();
    let hash;
    try { hash = this.hash(); } catch { hash = "error"; }
    const msg = { type: "game_complete", game: this.msg.game, result, tick: this.tick, hash };
    this.connection.send(msg);
    this.onOver(result);
  }

  /** The game ended (host's `game_end`): stop the clock, close the channels. */
  stop() {
    this.stopped = true;
    if (this.idleShown) this.onIdlePartner(false);
    clearInterval(this.timer);
    window.removeEventListener("keydown", this.onKey);
    document.removeEventListener("visibilitychange", this.onVisibility);
    for (const link of this.links.values()) link.close();
  }

  /** The candidate pair each open channel uses (`host`, `srflx`, `relay` …). */
  async pathStats() {
    const out = [];
    for (const link of this.links.values()) {
      if (!link.open()) { out.push(null); continue; }
      const stats = await link.pc.getStats();
      const byId = new Map();
      stats.forEach((s) => byId.set(s.id, s));
      let pair = null;
      stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId); });
      if (!pair) stats.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s; });
      out.push(pair && {
        local: byId.get(pair.localCandidateId)?.candidateType,
        remote: byId.get(pair.remoteCandidateId)?.candidateType,
        rtt_ms: (pair.currentRoundTripTime ?? 0) * 1000,
      });
    }
    return out;
  }

  /** What tests and researchers debugging a game may read (`window.cohortGame`). */
  inspect() {
    const paths = [...this.links.values()].map((l) => (l.open() ? "p2p" : "closed"));
    const opened = [...this.opened];
    return { game: this.msg.game, tick: this.tick, hash: this.hash(), over: this.over, relay: this.relay, links: paths, opened, reopened: this.reopened };
  }
}
