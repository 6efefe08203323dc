// Two pages of one group chat beside the game and on the survey after it. Typing in the
// chat (w, a, s, d and the arrows are the game's keys) never moves the player.
// Usage: node chat.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];

function check(ok, message) {
  if (!ok) throw new Error(message);
}

run("a group chats beside its game", async () => {
  const context = await launch();
  const problems = [];
  const open = async (rid) => {
    const page = await context.newPage();
    page.on("pageerror", (err) => problems.push(`${rid}: ${err.message}`));
    await page.goto(`${base}/x/chat?PROLIFIC_PID=${rid}`);
    return page;
  };
  const one = await open("chat-one");
  const two = await open("chat-two");
  for (const page of [one, two]) await page.locator("#chat").waitFor({ state: "visible", timeout: 20000 });

  // Beside the game: type words full of the game's keys, and arrows.
  await one.waitForFunction(() => window.cohortGame && window.cohortGame.tick > 2, null, { timeout: 20000 });
  await one.locator("#chat-input").click();
  await one.keyboard.type("wasd: I go down the side");
  await one.keyboard.press("ArrowRight");
  await one.keyboard.press("ArrowDown");
  await one.keyboard.press("Enter");
  await two.locator("#chat-lines li").filter({ hasText: "Player 1: wasd: I go down the side" }).waitFor();
  await one.locator("#chat-lines li.mine").filter({ hasText: "You: wasd: I go down the side" }).waitFor();
  const tick = await one.evaluate(() => window.cohortGame.tick);
  await one.waitForFunction((t) => window.cohortGame.tick > t + 8, tick);
  const moves = await one.evaluate(() => window.cohortGame.state.seats[window.cohortGame.slot].moves);
  check(moves === 0, `typing in the chat moved the player ${moves} time(s)`);

  // A message of markup is text.
  await two.locator("#chat-input").fill("<b id=bold>ok</b>");
  await two.keyboard.press("Enter");
  await one.locator("#chat-lines li").filter({ hasText: "Player 2: <b id=bold>ok</b>" }).waitFor();
  check(await one.locator("#bold").count() === 0, "markup in a chat line became an element");

  // The game ends at its time limit; the survey after it keeps the chat and its lines.
  for (const page of [one, two]) await page.getByText("Did you agree on a plan?").waitFor({ timeout: 20000 });
  await one.locator("#chat-lines li").filter({ hasText: "You: wasd: I go down the side" }).waitFor();
  await two.locator("#chat-input").fill("yes, the left side");
  await two.keyboard.press("Enter");
  await one.locator("#chat-lines li").filter({ hasText: "Player 2: yes, the left side" }).waitFor();

  // Past the rate (5 a minute): refused, and said so.
  for (let i = 0; i < 4; i += 1) {
    await two.locator("#chat-input").fill(`line ${i}`);
    await two.keyboard.press("Enter");
    await two.locator("#chat-lines li.mine").filter({ hasText: `You: line ${i}` }).or(two.locator("#chat-error")).first().waitFor();
  }
  await two.locator("#chat-error").filter({ hasText: "at most 5 chat messages a minute" }).waitFor();

  // The end page has no chat.
  await one.getByLabel("yes", { exact: true }).check();
  await one.getByRole("button", { name: "Submit" }).click();
  await one.getByText("Thank you for taking part.").waitFor();
  check(await one.locator("#chat").isHidden(), "the chat is gone after the scenes it was for");
  if (problems.length) throw new Error(problems.join("\n"));
  await context.close();
});
