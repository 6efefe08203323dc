// Two real pages go through the kitchen study (tests/fixtures/host/kitchen.yaml): each
// practises alone with the bot cook, then they are probed, grouped and cook two short
// rounds together by key presses over the peer-to-peer channel. Prints a `RESULT` line
// per page with how its games ended. With SHOTS=dir it also saves the screenshots the
// README shows (the waitroom, the kitchen).
// Usage: node kitchen.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];
const shots = process.env.SHOTS;
const KEYS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Space", "Space"];

/** Presses keys (a little at random) until the page's current game is over. */
async function cook(page, seed) {
  let n = seed;
  await page.waitForFunction(() => window.cohortGame && window.cohortGame.state !== undefined, null, { timeout: 30000 });
  const game = await page.evaluate(() => window.cohortGame.msg.game);
  for (let i = 0; i < 2000; i++) {
    const over = await page.evaluate((g) => !window.cohortGame || window.cohortGame.msg.game !== g || window.cohortGame.over, game);
    if (over) return game;
    n = (n * 1103515245 + 12345) % 2147483648;
    await page.keyboard.press(KEYS[n % KEYS.length]);
    await page.waitForTimeout(60);
  }
  throw new Error("the game did not end");
}

run("two pages cook together", async () => {
  const context = await launch();
  const pages = [];
  for (const id of ["cook-a", "cook-b"]) {
    const page = await context.newPage();
    await page.setViewportSize({ width: 900, height: 760 });
    page.problems = [];
    page.on("pageerror", (err) => page.problems.push(`${id}: ${err.message}`));
    await page.goto(`${base}/x/kitchen?PROLIFIC_PID=${id}`);
    pages.push(page);
  }
  const [a, b] = pages;
  // a practises first; b starts a little later, so a waits for b in the waitroom.
  const practiceA = cook(a, 1);
  await a.waitForTimeout(3000);
  const practiceB = cook(b, 2);
  await practiceA;
  await a.getByRole("heading", { name: /Finding a partner|Partner found!|Kitchen/ }).first().waitFor({ timeout: 30000 });
  if (shots && await a.getByRole("heading", { name: "Finding a partner" }).isVisible()) {
    await a.screenshot({ path: `${shots}/waitroom.png` });
  }
  await practiceB;
  const games = await Promise.all([a, b].map(async (p, i) => {
    await p.waitForFunction(() => window.cohortGame && window.cohortGame.msg.players.length === 2 && window.cohortGame.state !== undefined, null, { timeout: 40000 });
    if (shots && i === 0) {
      setTimeout(() => a.screenshot({ path: `${shots}/kitchen.png` }).catch(() => {}), 6000);
    }
    return cook(p, 3 + i);
  }));
  for (const p of [a, b]) {
    await p.getByRole("heading", { name: "All done" }).waitFor({ timeout: 30000 });
    if (p.problems.length) throw new Error(p.problems.join("\n"));
    const end = await p.evaluate(() => window.cohortGameEnd);
    console.log(`RESULT ${JSON.stringify(end)}`);
  }
  if (games[0] !== games[1]) throw new Error("the two pages played different games");
  await context.close();
}, 150000);
