// Shared setup for browser tests: Debian's chromium driven by playwright-core, with the
// flags a closed, GPU-less machine needs (no sandbox, no GPU, no QUIC, no background
// networking or updates) and a fresh profile per run.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

const contexts = [];
const profiles = [];
// The profiles are removed when the test ends, however it ends.
process.on("exit", () => {
  for (const p of profiles) {
    try { rmSync(p, { recursive: true, force: true }); } catch { /* still in use: the OS cleans tmp */ }
  }
});

/** A fresh browser (its own profile); `extra` flags are added to the usual ones. */
export async function launch(extra = []) {
  const profile = mkdtempSync(join(tmpdir(), "cohort-chromium-"));
  profiles.push(profile);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ...extra,
    ],
  });
  contexts.push(context);
  return context;
}

/** Screenshots of every open page, for a failed test (`SCREENSHOTS` or the temp dir). */
async function screenshots() {
  const dir = process.env.SCREENSHOTS || mkdtempSync(join(tmpdir(), "cohort-failure-"));
  let n = 0;
  for (const context of contexts) {
    for (const page of context.pages()) {
      try {
        const path = join(dir, `page-${n++}.png`);
        await page.screenshot({ path, timeout: 5000 });
        console.error(`screenshot of ${page.url()}: ${path}`);
      } catch { /* a closed page */ }
    }
  }
}

/** Fails the test with a message (and exit code 1). */
export function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

/** Runs `body`, failing the process on any error, with an overall timeout. */
export async function run(name, body, timeoutMs = 60000) {
  const timer = setTimeout(async () => {
    await screenshots();
    fail(`${name}: timed out after ${timeoutMs} ms`);
  }, timeoutMs);
  try {
    await body();
    console.log(`PASS: ${name}`);
    clearTimeout(timer);
    process.exit(0);
  } catch (err) {
    await screenshots();
    fail(`${name}: ${err && err.stack ? err.stack : err}`);
  }
}

/** Waits until the page's copy of the game is running. */
export async function playing(page) {
  await page.waitForFunction(() => window.cohortGame && window.cohortGame.state !== undefined && window.cohortGame.startedAt !== undefined, null, { timeout: 30000 });
}

/** Where this page's seat is in the demo game (experiments/games/demo.js), and the star. */
function seat(page) {
  return page.evaluate(() => {
    const g = window.cohortGame;
    if (!g || g.state === undefined) return null;
    const s = g.state.seats[g.slot];
    return { x: s.x, y: s.y, goal: g.state.goal, arrived: s.arrived !== null, over: g.over };
  });
}

/** Presses arrow keys toward the demo game's star, one move at a time, `limit` moves at most. */
export async function walk(page, limit = 100) {
  for (let i = 0; i < limit; i++) {
    const s = await seat(page);
    if (!s || s.arrived) return;
    const key = s.x !== s.goal ? (s.x < s.goal ? "ArrowRight" : "ArrowLeft") : (s.y < s.goal ? "ArrowDown" : "ArrowUp");
    await page.keyboard.press(key);
    await page.waitForFunction(([x, y]) => {
      const g = window.cohortGame;
      if (!g || g.state === undefined) return false;
      const m = g.state.seats[g.slot];
      return m.x !== x || m.y !== y;
    }, [s.x, s.y], { timeout: 20000 });
  }
}
