// __NAME__: a matchmaking policy for cohort.
//
// It groups participants who share the value of an attribute (`group_by` in the
// experiment's `matchmaker.config`, named as in `matchmaker.attributes` without its
// `param:` or `answer:` prefix), the longest waiting first. Once someone has waited
// `max_wait_ms`, they may be grouped with anyone. Without `group_by` it is first come,
// first served.
//
// componentize-qjs's conventions: the exports are camelCase functions of this module,
// the host's functions are imported from "cohort:matchmaker/host@0.1.0", and a refused
// configuration throws a string. find-match runs for every waiting participant on
// every tick: log decisions, not every look.
//
// Test the logic here with `node test.mjs`; build with `./build.sh`.
import { log, waitingCount, waitingGet } from "cohort:matchmaker/host@0.1.0";

const settings = { groupBy: null, maxWaitMs: 60000, scan: 200 };

function attribute(p, name) {
  const found = p.attributes.find(([key]) => key === name);
  return found ? found[1] : null;
}

// Nobody in the group avoids `p` (a recent failed probe), nor `p` them.
function compatible(p, group) {
  return group.every((m) => m.id !== p.id && !p.avoid.includes(m.id) && !m.avoid.includes(p.id));
}

export function configure(config) {
  let c;
  try {
    c = JSON.parse(config || "{}");
  } catch (e) {
    throw `config is not JSON: ${e}`;
  }
  if (c.group_by !== undefined && (typeof c.group_by !== "string" || !c.group_by)) {
    throw "config `group_by` must be an attribute name";
  }
  settings.groupBy = c.group_by ?? null;
  for (const [key, name] of [["max_wait_ms", "maxWaitMs"], ["scan", "scan"]]) {
    if (c[key] === undefined) continue;
    if (typeof c[key] !== "number" || !(c[key] >= 0)) throw `config \`${key}\` must be a non-negative number`;
    settings[name] = c[key];
  }
}

export function onJoin(p) {}

export function onLeave(id) {}

export function findMatch(arriving, groupSize) {
  // Read the waitroom lazily (index 0 has waited longest).
  const n = Math.min(waitingCount(), settings.scan);
  if (n + 1 < groupSize) return undefined;
  const by = settings.groupBy;
  const key = by ? attribute(arriving, by) : null;
  const patience = BigInt(settings.maxWaitMs);
  const group = [arriving];
  let mixed = false;
  for (let i = 0; i < n; i++) {
    const p = waitingGet(i);
    if (!p || !compatible(p, group)) continue;
    const same = !by || attribute(p, by) === key;
    if (same || BigInt(p.waitedMs) >= patience || BigInt(arriving.waitedMs) >= patience) {
      group.push(p);
      mixed = mixed || !same;
      if (group.length === groupSize) {
        if (mixed) log(`grouped across ${by} after waiting ${settings.maxWaitMs} ms`);
        return group.map((m) => m.id);
      }
    }
  }
  return undefined;
}

// The usual rule: no threshold → accept; no RTT → reject; above → reject.
export function shouldRejectForRtt(a, b, rttMs, maxP2pRttMs) {
  if (maxP2pRttMs === undefined || maxP2pRttMs === null) return false;
  if (rttMs === undefined || rttMs === null) return true;
  return rttMs > maxP2pRttMs;
}
