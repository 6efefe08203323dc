// A latency-aware policy: it prefers partners whose connection to the host suggests a
// short peer-to-peer round trip, and relaxes its RTT threshold the longer people wait.
//
// Config (the experiment's `matchmaker.config`):
//   start_ms             threshold for a pair that just arrived, when the experiment
//                        sets no `max_p2p_rtt_ms` (default 60)
//   relax_ms_per_minute  how much the threshold grows per minute waited (default 30)
//   max_ms               the threshold never exceeds this (default 200)
//   scan                 how many of the longest waiting to consider (default 100)
import { log, waitingCount, waitingGet } from "cohort:matchmaker/host@0.1.0";

const settings = { startMs: 60, relaxMsPerMinute: 30, maxMs: 200, scan: 100 };

export function configure(config) {
  let c;
  try {
    c = JSON.parse(config || "{}");
  } catch (e) {
    throw `config is not JSON: ${e}`;
  }
  for (const [key, name] of [["start_ms", "startMs"], ["relax_ms_per_minute", "relaxMsPerMinute"], ["max_ms", "maxMs"], ["scan", "scan"]]) {
    if (c[key] === undefined) continue;
    if (typeof c[key] !== "number" || !(c[key] >= 0)) throw `config \`${key}\` must be a non-negative number`;
    settings[name] = c[key];
  }
}

export function onJoin(p) {}

export function onLeave(id) {}

/** The RTT a pair may have after waiting `waitedMs` (the longer of the two): never
 * below `base`, relaxed up to `max_ms`. */
function allowed(base, waitedMs) {
  return Math.max(base, Math.min(settings.maxMs, base + (settings.relaxMsPerMinute * waitedMs) / 60000));
}

/** A rough peer-to-peer estimate from both participants' round trips to the host. */
function estimate(a, b) {
  // An absent option arrives as `null` (or `undefined`): `== null` covers both.
  if (a.serverRttMs == null || b.serverRttMs == null) return undefined;
  return a.serverRttMs + b.serverRttMs;
}

function compatible(p, group) {
  return group.every((m) => m.id !== p.id && !m.avoid.includes(p.id) && !p.avoid.includes(m.id));
}

export function findMatch(arriving, groupSize) {
  const n = Math.min(waitingCount(), settings.scan);
  if (n + 1 < groupSize) return undefined;
  const candidates = [];
  for (let i = 0; i < n; i++) {
    const p = waitingGet(i);
    if (p != null) candidates.push(p);
  }
  const group = [arriving];
  // Closest estimated round trip first; unknown estimates last, in waiting order.
  const ranked = candidates
    .map((p, order) => ({ p, order, est: estimate(arriving, p) }))
    .sort((x, y) => (x.est ?? Infinity) - (y.est ?? Infinity) || x.order - y.order);
  for (const { p, est } of ranked) {
    if (group.length === groupSize) break;
    const limit = allowed(settings.startMs, Math.max(arriving.waitedMs, p.waitedMs));
    if (est !== undefined && est > limit) continue;
    if (compatible(p, group)) group.push(p);
  }
  if (group.length < groupSize) return undefined;
  log(`grouped by estimated RTT (threshold now ${allowed(settings.startMs, arriving.waitedMs).toFixed(0)} ms)`);
  return group.map((p) => p.id);
}

export function shouldRejectForRtt(a, b, rttMs, maxP2pRttMs) {
  if (rttMs == null) return true; // the measurement failed: no RTT, reject
  const base = maxP2pRttMs ?? settings.startMs;
  const limit = allowed(base, Math.max(a.waitedMs, b.waitedMs));
  if (rttMs > limit) log(`rejected: ${rttMs.toFixed(1)} ms is above ${limit.toFixed(1)} ms`);
  return rttMs > limit;
}
