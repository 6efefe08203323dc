// Pairs of real pages play the demo game (experiments/games/demo.js) by key presses:
// over the probe's peer-to-peer channel; with that channel cut mid-game (and opened
// again); with a page
// reloaded mid-game; with a tab hidden for a while; with a partner who leaves; and —
// where no peer-to-peer path exists, or the browser has no WebRTC at all — over the
// host relay. Prints one `RESULT {json}`
// line per game for the Rust test to compare with the host's log and replay.
// Usage: node game_paths.mjs http://127.0.0.1:PORT
import { launch, playing, run, walk } from "./lib.mjs";

const base = process.argv[2];
let nextId = 0;

async function join(context, experiment, init = null) {
  const page = await context.newPage();
  if (init) await page.addInitScript(init);
  const id = `${experiment}-${nextId++}`;
  page.problems = [];
  page.on("pageerror", (err) => page.problems.push(`${id}: ${err.message}`));
  await page.goto(`${base}/x/${experiment}?PROLIFIC_PID=${id}`);
  return page;
}

/** The page's end of the game, as it saw it (`game_end` reason, tick, hash, path). */
async function ended(page) {
  await page.waitForFunction(() => window.cohortGameEnd, null, { timeout: 30000 });
  return page.evaluate(() => window.cohortGameEnd);
}

async function pair(context, experiment) {
  const a = await join(context, experiment);
  await a.getByRole("heading", { name: /Finding a partner|Partner found!|Reach the star/ }).first().waitFor();
  const b = await join(context, experiment);
  await Promise.all([playing(a), playing(b)]);
  return [a, b];
}

async function report(name, pages, extra = {}) {
  const ends = await Promise.all(pages.map(ended));
  for (const p of pages) if (p.problems.length) throw new Error(p.problems.join("\n"));
  console.log(`RESULT ${JSON.stringify({ name, ends, ...extra })}`);
  for (const p of pages) await p.close();
}

run("game paths", async () => {
  const context = await launch();

  // 1. Over the probe's channel: a direct candidate pair, no relay.
  {
    const [a, b] = await pair(context, "game-paths");
    const paths = await Promise.all([a, b].map((p) => p.evaluate(() => window.cohortGame.pathStats())));
    await Promise.all([walk(a), walk(b)]);
    await report("p2p", [a, b], { paths });
  }

  // 2. The channel cut mid-game: both go on over the relay, and the lower slot opens
  // a new channel, direct again.
  {
    const [a, b] = await pair(context, "game-paths");
    await walk(a, 1);
    await a.evaluate(() => { for (const l of window.cohortGame.links.values()) l.close(); });
    await walk(a, 1);
    const reopened = () => window.cohortGame.inspect().reopened > 0;
    await Promise.all([a, b].map((p) => p.waitForFunction(reopened, null, { timeout: 20000 })));
    const paths = await Promise.all([a, b].map((p) => p.evaluate(() => window.cohortGame.pathStats())));
    await Promise.all([walk(a), walk(b)]);
    await report("cut", [a, b], { paths });
  }

  // 3. A page reloaded mid-game catches up and finishes.
  {
    const [a, b] = await pair(context, "game-paths");
    await Promise.all([walk(a, 2), walk(b, 2)]);
    await a.reload();
    await playing(a);
    // The reloaded page plays over the relay at once, and gets a channel again.
    const reopened = () => window.cohortGame.inspect().reopened > 0;
    await Promise.all([a, b].map((p) => p.waitForFunction(reopened, null, { timeout: 20000 })));
    await Promise.all([walk(a), walk(b)]);
    await report("reload", [a, b]);
  }

  // 4. A tab hidden for a while (on_hidden: continue): the partner plays on.
  {
    const [a, b] = await pair(context, "game-paths");
    const hide = (hidden) => a.evaluate((h) => {
      Object.defineProperty(document, "hidden", { value: h, configurable: true });
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);
    await hide(true);
    await walk(b);
    await hide(false);
    await walk(a);
    await report("hidden", [a, b]);
  }

  // 5. A partner who leaves: the other gets the configured outcome.
  {
    const [a, b] = await pair(context, "game-paths");
    await walk(a, 1);
    await b.close();
    await a.getByText("Your partner left the game.").waitFor({ timeout: 30000 });
    const code = await a.locator("#completion-code").textContent();
    if (code !== "PARTNER-LEFT") throw new Error(`completion code ${code}`);
    console.log(`RESULT ${JSON.stringify({ name: "left", code })}`);
    await a.close();
  }
  await context.close();

  // 6. Peer-to-peer impossible: only TURN is allowed and there is none, so ICE has no
  // candidate and the game's own channel never opens; the relay carries the game.
  // (Chromium's --force-webrtc-ip-handling-policy=disable_non_proxied_udp is not
  // enough here: two pages still connect over loopback TCP candidates.)
  {
    const blocked = await launch();
    await blocked.addInitScript(() => {
      const Native = window.RTCPeerConnection;
      window.RTCPeerConnection = class extends Native {
        constructor(config = {}) { super({ ...config, iceServers: [], iceTransportPolicy: "relay" }); }
      };
    });
    const [a, b] = await pair(blocked, "game-relay");
    await Promise.all([walk(a), walk(b)]);
    // Arriving at the star is not the end yet: `game_end` follows.
    const links = (await Promise.all([a, b].map(ended))).map((end) => end.links);
    await report("relay", [a, b], { links });
    await blocked.close();
  }

  // 7. Browsers without a working RTCPeerConnection (privacy extensions, managed
  // browsers): one page has none at all, its partner's constructor throws. Neither
  // can make a channel, so the group goes to the relay at once and plays to the end.
  {
    const bare = await launch();
    const a = await join(bare, "game-relay", () => { delete window.RTCPeerConnection; });
    await a.getByRole("heading", { name: /Finding a partner|Partner found!|Reach the star/ }).first().waitFor();
    const b = await join(bare, "game-relay", () => {
      window.RTCPeerConnection = class { constructor() { throw new Error("blocked by an extension"); } };
    });
    await Promise.all([playing(a), playing(b)]);
    await Promise.all([walk(a), walk(b)]);
    await report("no-webrtc", [a, b]);
    await bare.close();
  }
}, 200000);
