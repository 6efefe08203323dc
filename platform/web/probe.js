// Peer-to-peer RTT probes (protocol: docs/protocol.md, "Probe").
//
// For each `probe_prepare` the page opens an RTCPeerConnection to the named peer,
// answers `probe_ready`, and on `probe_start` the offerer opens the DataChannel
// `probe` and sends its offer. Signaling goes through the host (`probe_signal`), which
// relays it only to the other peer of that probe. Once the channel is open, each side
// sends N pings one after another — `{"t":"ping","n":k,"ts":<ms>,"r":<random tag>}`,
// answered by `{"t":"pong","n":k,"ts":<same>,"r":<same>}` — each with its own timeout,
// timed from its own send time (never from the echoed `ts`), and reports the
// median RTT of the pings that came back (`probe_result`), or an error if none did.
// The connection stays open: when the pair is grouped it becomes the game's channel
// (`Prober.adopt`); it is closed on `probe_abort`, or when the group found does not
// include that peer. `Link` is also how a game opens a channel of its own
// (`game_signal`) when its pair has none.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A DataChannel ping-pong measurement: resolves with the RTTs that came back. */
export function measure(channel, pings, pingTimeoutMs) {
  return new Promise((resolve) => {
    const rtts = [];
    let n = 0;
    let timer = null;
    let sentAt = 0;
    let nonce = "";
    const next = () => {
      if (n >= pings) {
        channel.removeEventListener("message", onPong);
        resolve(rtts);
        return;
      }
      n += 1;
      const sent = n;
      timer = setTimeout(() => { timer = null; next(); }, pingTimeoutMs);
      // The RTT is measured from this page's own send time: the `ts` the peer echoes
      // is never trusted (a doctored peer could shift it to make the pair look close).
      // A random tag the pong must echo: ping numbers are predictable, so without it
      // a peer could answer a ping before it arrives.
      nonce = Array.from(crypto.getRandomValues(new Uint32Array(2)), (x) => x.toString(16)).join("");
      sentAt = performance.now();
      channel.send(JSON.stringify({ t: "ping", n: sent, ts: sentAt, r: nonce }));
    };
    const onPong = (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      if (msg.t !== "pong" || msg.n !== n || msg.r !== nonce || timer === null) return;
      clearTimeout(timer);
      timer = null;
      rtts.push(performance.now() - sentAt);
      next();
    };
    channel.addEventListener("message", onPong);
    next();
  });
}

/** Answers the peer's pings on `channel`. */
export function answerPings(channel) {
  channel.addEventListener("message", (event) => {
    let msg;
    try { msg = JSON.parse(event.data); } catch { return; }
    if (msg.t === "ping") channel.send(JSON.stringify({ t: "pong", n: msg.n, ts: msg.ts, r: msg.r }));
  });
}

/** One RTCPeerConnection with one DataChannel, signaled through the host by `send`. */
export class Link {
  constructor(iceServers, offerer, label, send) {
    this.offerer = offerer;
    this.label = label;
    this.send = send;
    this.pendingCandidates = [];
    this.pc = new RTCPeerConnection({ iceServers });
    this.pc.onicecandidate = (e) => {
      if (e.candidate) this.send({ candidate: e.candidate.toJSON() });
    };
    this.onChannel = () => {};
    if (!offerer) this.pc.ondatachannel = (e) => this.useChannel(e.channel);
  }

  async start() {
    if (!this.offerer) return;
    this.useChannel(this.pc.createDataChannel(this.label, { ordered: true }));
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this.send({ sdp: { type: offer.type, sdp: offer.sdp } });
  }

  async onSignal(signal) {
    if (signal.sdp) {
      await this.pc.setRemoteDescription(signal.sdp);
      for (const c of this.pendingCandidates.splice(0)) await this.pc.addIceCandidate(c);
      if (signal.sdp.type === "offer") {
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.send({ sdp: { type: answer.type, sdp: answer.sdp } });
      }
    } else if (signal.candidate) {
      if (this.pc.remoteDescription) await this.pc.addIceCandidate(signal.candidate);
      else this.pendingCandidates.push(signal.candidate);
    }
  }

  useChannel(channel) {
    this.channel = channel;
    answerPings(channel);
    this.onChannel(channel);
  }

  /** The channel if it is open now. */
  open() {
    return this.channel && this.channel.readyState === "open" ? this.channel : null;
  }

  close() {
    try { this.pc.close(); } catch { /* already closed */ }
  }
}

class Probe {
  constructor(prober, msg) {
    this.prober = prober;
    this.id = msg.probe;
    this.peer = msg.peer;
    this.reported = false;
    this.link = new Link(msg.ice_servers, msg.role === "offerer", "probe",
      (signal) => prober.connection.send({ type: "probe_signal", probe: this.id, signal }));
    this.link.pc.onconnectionstatechange = () => {
      if (this.link.pc.connectionState === "failed") this.report(null, "the peer-to-peer connection failed");
    };
    this.link.onChannel = (channel) => {
      channel.onopen = async () => {
        const rtts = await measure(channel, msg.pings, msg.ping_timeout_ms);
        if (rtts.length) this.report(median(rtts), null);
        else this.report(null, "no ping came back");
      };
    };
  }

  report(rtt, error) {
    if (this.reported) return;
    this.reported = true;
    const msg = { type: "probe_result", probe: this.id };
    if (rtt !== null) msg.rtt_ms = rtt;
    if (error) msg.error = error;
    this.prober.connection.send(msg);
    this.prober.onResult(this.id, rtt);
  }

  close() {
    this.link.close();
    this.prober.probes.delete(this.id);
  }
}

/** Handles every probe message of one participant. */
export class Prober {
  constructor(connection, onResult = () => {}) {
    this.connection = connection;
    this.onResult = onResult;
    this.probes = new Map();
  }

  /** Returns true if `msg` was a probe message. */
  handle(msg) {
    switch (msg.type) {
      case "probe_prepare": {
        const probe = new Probe(this, msg);
        this.probes.set(msg.probe, probe);
        this.connection.send({ type: "probe_ready", probe: msg.probe });
        return true;
      }
      case "probe_start":
        this.probes.get(msg.probe)?.link.start();
        return true;
      case "probe_signal":
        this.probes.get(msg.probe)?.link.onSignal(msg.signal).catch(() => {});
        return true;
      case "probe_abort":
        this.probes.get(msg.probe)?.close();
        return true;
      default:
        return false;
    }
  }

  /** A group was found: keeps the probes with its `players`, closes the others. */
  keepOnly(players) {
    for (const probe of [...this.probes.values()]) {
      if (!players.includes(probe.peer)) probe.close();
    }
  }

  /** Hands the probe link with `peer` over to the game (the prober forgets it). */
  adopt(peer) {
    for (const probe of this.probes.values()) {
      if (probe.peer === peer && probe.link.open()) {
        this.probes.delete(probe.id);
        return probe.link;
      }
    }
    return null;
  }

  closeAll() {
    for (const probe of [...this.probes.values()]) probe.close();
  }
}
