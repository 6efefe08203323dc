// Tests of __NAME__'s logic in Node, against a fake host: no WebAssembly, no cohort.
// `node test.mjs`
import { register } from "node:module";
import assert from "node:assert/strict";
import { test } from "node:test";

register("./host-loader.mjs", import.meta.url);
const { state } = await import("./fake-host.mjs");
const policy = await import("./policy.js");

// A participant as the host gives it (waited-ms is a u64: a BigInt in JavaScript).
const person = (id, waitedMs = 0, attributes = {}) => ({
  id, waitedMs: BigInt(waitedMs), serverRttMs: undefined, attributes: Object.entries(attributes),
  previousPartners: [], avoid: [],
});

function ask(arriving, waiting, config = "{}", size = 2) {
  policy.configure(config);
  state.waiting = waiting;
  state.lines = [];
  return policy.findMatch(arriving, size);
}

test("without group_by the longest waiting come first", () => {
  assert.deepEqual(ask(person("new"), [person("old", 9000), person("mid", 4000)]), ["new", "old"]);
});

test("group_by pairs equal values only", () => {
  const waiting = [person("a", 5000, { team: "red" }), person("b", 3000, { team: "blue" })];
  assert.deepEqual(ask(person("new", 0, { team: "blue" }), waiting, '{"group_by": "team"}'), ["new", "b"]);
  assert.equal(ask(person("n2", 0, { team: "green" }), waiting, '{"group_by": "team"}'), undefined);
});

test("after max_wait_ms anyone goes", () => {
  const group = ask(person("new", 0, { team: "blue" }), [person("a", 70000, { team: "red" })], '{"group_by": "team"}');
  assert.deepEqual(group, ["new", "a"]);
  assert.deepEqual(state.lines, ["grouped across team after waiting 60000 ms"]);
});

test("a bad config is refused with a message", () => {
  assert.throws(() => policy.configure('{"group_by": 3}'));
});
