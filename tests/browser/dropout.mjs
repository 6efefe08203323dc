// Two pages cook together (tests/fixtures/host/kitchen-bots.yaml, on_dropout: bot);
// one closes its tab mid-round. The other is told a computer cook took the seat, plays
// the round to its end, and prints its end of the game (`RESULT {json}`).
// Usage: node dropout.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];
const KEYS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Space"];

run("a partner leaves, the bot cooks on", async () => {
  const context = await launch();
  const pages = [];
  for (const id of ["stays", "leaves"]) {
    const page = await context.newPage();
    page.problems = [];
    page.on("pageerror", (err) => page.problems.push(`${id}: ${err.message}`));
    await page.goto(`${base}/x/kitchen-bots?PROLIFIC_PID=${id}`);
    pages.push(page);
  }
  const [a, b] = pages;
  for (const p of pages) {
    await p.waitForFunction(() => window.cohortGame && window.cohortGame.msg.players.length === 2 && window.cohortGame.state !== undefined, null, { timeout: 30000 });
  }
  await a.waitForTimeout(1500);
  // Every text the page shows from now on (a notice may be short-lived on a loaded
  // machine: another one can replace it before a poll sees it).
  await a.evaluate(() => {
    window.shown = [];
    new MutationObserver(() => window.shown.push(document.body.innerText))
      .observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await b.close();
  await a.waitForFunction(() => window.shown.some((t) => t.includes("a computer player took their place")), null, { timeout: 30000 });
  let n = 7;
  while (!(await a.evaluate(() => window.cohortGameEnd !== undefined))) {
    n = (n * 1103515245 + 12345) % 2147483648;
    await a.keyboard.press(KEYS[n % KEYS.length]);
    await a.waitForTimeout(80);
  }
  await a.getByRole("heading", { name: "All done" }).waitFor({ timeout: 20000 });
  if (a.problems.length) throw new Error(a.problems.join("\n"));
  console.log(`RESULT ${JSON.stringify(await a.evaluate(() => window.cohortGameEnd))}`);
  await context.close();
}, 90000);
