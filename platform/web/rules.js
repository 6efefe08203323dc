// Display logic on the page: the part of a question's `show_if` about answers given on
// this page (the host decided every other part). The same semantics as the host's
// (docs/protocol.md, "Display logic"): every key of a rule must hold; a missing value
// (unanswered, or its question hidden) fails every comparison but `answered: false`.

function blank(v) {
  return v === undefined || v === null || v === ""
    || (typeof v === "string" && v.trim() === "")
    || (Array.isArray(v) && v.length === 0)
    || (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);
}

function number(v) {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v.trim()))) return Number(v.trim());
  return null;
}

function same(v, x) {
  const a = number(v);
  const b = number(x);
  if (a !== null && b !== null && (typeof v === "number" || typeof x === "number")) return a === b;
  return JSON.stringify(v) === JSON.stringify(x);
}

function hasComparison(r) {
  return ["equals", "not_equals", "in", "at_least", "at_most", "above", "below", "includes"].some((k) => k in r);
}

function compare(r, value) {
  const v = blank(value) ? undefined : value;
  if ("answered" in r && r.answered !== (v !== undefined)) return false;
  if (v === undefined) return r.answered === false && !hasComparison(r);
  const n = number(v);
  if ("equals" in r && !same(v, r.equals)) return false;
  if ("not_equals" in r && same(v, r.not_equals)) return false;
  if ("in" in r && !r.in.some((x) => same(v, x))) return false;
  if ("at_least" in r && !(n !== null && n >= r.at_least)) return false;
  if ("at_most" in r && !(n !== null && n <= r.at_most)) return false;
  if ("above" in r && !(n !== null && n > r.above)) return false;
  if ("below" in r && !(n !== null && n < r.below)) return false;
  if ("includes" in r && !(Array.isArray(v) && v.includes(r.includes))) return false;
  return true;
}

/** Whether `rule` holds, `valueOf(ref)` giving the value `answer:<scene>.<question>` names. */
export function holds(rule, valueOf) {
  if ("condition" in rule) return false; // decided by the host; never sent to pages
  if ("value" in rule && !compare(rule, valueOf(rule.value))) return false;
  if (rule.all && !rule.all.every((r) => holds(r, valueOf))) return false;
  if (rule.any && !rule.any.some((r) => holds(r, valueOf))) return false;
  if (rule.not && holds(rule.not, valueOf)) return false;
  return true;
}
