// One page joins the probed demo; a Rust bot with a WebRTC peer (started by the test)
// is its partner. They probe each other, then play the game over the probe's channel:
// the page needs no relay. Then the page cuts the channel mid-game: the game goes on
// over the relay, and the channel is opened again (by whichever of the two has the
// lower slot; the other answers). Prints the page's view of the game.
// Usage: node play_with_bot.mjs http://127.0.0.1:PORT PARTICIPANT_ID
import { launch, playing, run, walk } from "./lib.mjs";

const base = process.argv[2];

run("a browser page plays its game with a Rust bot over the probe's channel", async () => {
  const context = await launch();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  await page.goto(`${base}/x/probed-demo?PROLIFIC_PID=${process.argv[3]}`);
  await page.getByRole("heading", { name: /Finding a partner|Partner found!|Reach the star/ }).first().waitFor();
  await playing(page);
  await walk(page, 2);
  // Both have stepped (the page's two moves took the bot's inputs for those ticks),
  // and nobody asked for the relay: the bot's inputs came over the channel.
  const before = await page.evaluate(() => window.cohortGame.inspect());
  if (before.relay || before.links[0] !== "p2p" || before.tick < 2) {
    throw new Error(`not playing over the channel: ${JSON.stringify(before)}`);
  }
  await page.evaluate(() => { for (const l of window.cohortGame.links.values()) l.close(); });
  await page.waitForFunction(() => window.cohortGame.inspect().reopened > 0, null, { timeout: 20000 });
  await walk(page);
  await page.waitForFunction(() => window.cohortGameEnd, null, { timeout: 30000 });
  const end = await page.evaluate(() => window.cohortGameEnd);
  if (problems.length) throw new Error(problems.join("\n"));
  console.log(`RESULT ${JSON.stringify({ before, end })}`);
  if (end.reason !== "completed") throw new Error(`the game ended ${end.reason}`);
  await context.close();
}, 60000);
