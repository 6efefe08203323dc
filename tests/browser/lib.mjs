// Shared setup for browser tests: Debian's chromium driven by playwright-core, with the
// flags this machine needs (DESIGN.md §4) and a fresh profile per run.
import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "cohort-chromium-"));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/** Fails the test with a message (and exit code 1). */
export function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

/** Runs `body`, failing the process on any error, with an overall timeout. */
export async function run(name, body, timeoutMs = 60000) {
  const timer = setTimeout(() => fail(`${name}: timed out after ${timeoutMs} ms`), timeoutMs);
  try {
    await body();
    console.log(`PASS: ${name}`);
    clearTimeout(timer);
    process.exit(0);
  } catch (err) {
    fail(`${name}: ${err && err.stack ? err.stack : err}`);
  }
}
