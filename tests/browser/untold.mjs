// A participant not told about bots plays the demo game in Chromium with a seat the
// host plays: the page is told of two players, plays over the host (its partner's
// inputs come from the host as a player's), computes no bot input, and the game ends
// completed. Prints the page's view of the game.
// Usage: node untold.mjs http://127.0.0.1:PORT
import { launch, playing, run, walk } from "./lib.mjs";

const base = process.argv[2];

run("an untold page plays with a partner the host plays", async () => {
  const context = await launch();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  const received = [];
  page.on("websocket", (ws) => ws.on("framereceived", (f) => received.push(String(f.payload))));
  await page.goto(`${base}/x/untold?PROLIFIC_PID=untold-page`);
  await playing(page);
  const start = await page.evaluate(() => {
    const g = window.cohortGame;
    return { players: g.msg.players.length, seats: g.seats, n: g.n, slot: g.slot, relay: g.relay };
  });
  if (start.players !== 2 || start.seats !== 2 || start.n !== 2) throw new Error(`seats: ${JSON.stringify(start)}`);
  // The module's bot is never asked on the page: wrap it and count.
  await page.evaluate(() => {
    const g = window.cohortGame;
    window.botCalls = 0;
    if (typeof g.game.bot === "function") {
      const bot = g.game.bot;
      g.game = { ...g.game, bot: (...a) => { window.botCalls++; return bot(...a); } };
    }
  });
  await walk(page);
  await page.waitForFunction(() => window.cohortGameEnd, null, { timeout: 30000 });
  const end = await page.evaluate(() => ({ end: window.cohortGameEnd, botCalls: window.botCalls, partner: window.cohortGame.state.seats[1] }));
  if (end.end.reason !== "completed") throw new Error(`the game ended ${end.end.reason}`);
  if (end.botCalls !== 0) throw new Error(`the page computed ${end.botCalls} bot inputs`);
  const named = received.filter((t) => /bot/i.test(t));
  if (named.length) throw new Error(`messages naming a bot: ${named.slice(0, 3).join("\n")}`);
  if (problems.length) throw new Error(problems.join("\n"));
  console.log(`RESULT ${JSON.stringify({ start, end })}`);
  await context.close();
}, 60000);
