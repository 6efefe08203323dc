// Every participant page passes axe-core with no serious or critical violation: each
// scene kind and question kind, a check's feedback, errors under questions, the
// waitroom, the countdown and the game with the group's chat, an early outcome and the
// end. The participant uses the keyboard alone (Tab, Space, Enter, arrows), and the
// page honours reduced motion and a larger text size.
// Usage: node a11y.mjs http://127.0.0.1:PORT
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { launch, run } from "./lib.mjs";

const require = createRequire(import.meta.url);
// Evaluated through the DevTools protocol: the page's Content-Security-Policy (no
// inline script) stays as participants get it.
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const base = process.argv[2];
const checked = [];

async function audit(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.html).slice(0, 3) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) throw new Error(`${name}: ${JSON.stringify(bad, null, 1)}`);
  checked.push(name);
}

/** Presses Tab until `locator` has the focus (at most `limit` times). */
async function tabTo(page, locator, limit = 60) {
  for (let i = 0; i < limit; i += 1) {
    if (await locator.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${locator}`);
}

run("every page passes axe-core and works by keyboard", async () => {
  const context = await launch();
  const problems = [];
  const open = async (path, options = {}) => {
    const page = await context.newPage(options);
    page.on("pageerror", (err) => problems.push(`${path}: ${err.message}`));
    await page.goto(`${base}${path}`);
    return page;
  };
  const a = await open("/x/a11y?PROLIFIC_PID=a11y-a");
  await a.emulateMedia({ reducedMotion: "reduce" });

  await a.getByText("take part", { exact: true }).waitFor();
  await audit(a, "consent");
  await tabTo(a, a.locator("#agree"));
  await a.keyboard.press("Space");
  await a.keyboard.press("Tab");
  await a.keyboard.press("Enter");
  await a.getByText("Red means stop. Move").waitFor();
  await audit(a, "instructions");
  await tabTo(a, a.getByRole("button", { name: "Continue" }));
  await a.keyboard.press("Enter");

  // The check, by keyboard: the first radio, arrow to the other, Enter to submit.
  await a.getByText("What does red mean?").waitFor();
  await tabTo(a, a.getByLabel("go", { exact: true }));
  await a.keyboard.press("Space");
  await a.keyboard.press("Enter");
  await a.locator("#try-again").waitFor();
  await audit(a, "a check after a wrong attempt");
  await tabTo(a, a.getByLabel("go", { exact: true }));
  await a.keyboard.press("ArrowDown"); // radios: the arrow picks the next option
  await a.keyboard.press("Enter");

  // Every question kind; then submitted empty: the errors under the questions.
  await a.getByText("Your age").waitFor();
  await audit(a, "a survey of every question kind");
  await tabTo(a, a.getByRole("button", { name: "Submit" }));
  await a.keyboard.press("Enter");
  await a.getByText("Move the slider to answer.").waitFor();
  await audit(a, "a survey with errors");
  await tabTo(a, a.getByLabel("red", { exact: true }));
  await a.keyboard.press("Space");
  await tabTo(a, a.locator('input[name="q-mood"]').first());
  await a.keyboard.press("Space");
  await tabTo(a, a.locator("#q-age"));
  await a.keyboard.type("33");
  await tabTo(a, a.locator("#q-trust"));
  await a.keyboard.press("ArrowRight");
  await tabTo(a, a.locator("#q-country"));
  await a.keyboard.press("ArrowDown");
  for (const item of ["is extraverted", "is calm"]) {
    await tabTo(a, a.getByLabel(`${item}: Disagree strongly`));
    await a.keyboard.press("Space");
  }
  await tabTo(a, a.getByRole("button", { name: "Move down: tea" }));
  await a.keyboard.press("Enter");
  await tabTo(a, a.getByRole("button", { name: "Submit" }));
  await a.keyboard.press("Enter");

  // The waitroom, then a partner: the countdown and the game with the chat.
  await a.getByText("1 of 2 participants here.").waitFor();
  await audit(a, "the waitroom");
  // Reduced motion (asked for by this page): the waiting spinner stands still.
  const spin = await a.locator(".spinner").evaluate((el) => getComputedStyle(el).animationName);
  if (spin !== "none") throw new Error(`the spinner spins (${spin}) though reduced motion is asked for`);
  const b = await open("/x/a11y?PROLIFIC_PID=a11y-b");
  await b.locator("#agree").check();
  await b.getByRole("button", { name: "Continue" }).click();
  await b.getByRole("button", { name: "Continue" }).click();
  await b.getByLabel("stop", { exact: true }).check();
  await b.getByRole("button", { name: "Submit" }).click();
  await b.getByText("Your age").waitFor();
  await b.getByLabel("blue", { exact: true }).check();
  await b.locator('input[name="q-mood"]').first().check();
  await b.locator("#q-age").fill("40");
  await b.locator("#q-trust").focus();
  await b.keyboard.press("ArrowRight");
  await b.locator("#q-country").selectOption("Chile");
  for (const item of ["is extraverted", "is calm"]) await b.getByLabel(`${item}: Agree`, { exact: true }).check();
  await b.getByRole("button", { name: "Submit" }).click();
  await a.locator("#countdown").waitFor();
  await a.locator("#chat").waitFor({ state: "visible" });
  await audit(a, "the countdown with the chat");
  await a.waitForFunction(() => window.cohortGame && window.cohortGame.tick > 1, null, { timeout: 15000 });
  await a.locator("#chat-input").fill("hello");
  await a.keyboard.press("Enter");
  await b.locator("#chat-lines li").filter({ hasText: "Player 1: hello" }).waitFor();
  await audit(a, "the game with the chat");
  await a.getByText("Did you agree on a plan?").waitFor({ timeout: 15000 });
  await audit(a, "a survey after the game, with the chat");
  await a.getByLabel("yes", { exact: true }).check();
  await a.getByRole("button", { name: "Submit" }).click();
  await a.getByText("A11Y-OK").waitFor();
  await audit(a, "the end");

  // An early outcome, in a larger text size (the browser's zoom of text).
  const w = await open("/x/a11y-wait?PROLIFIC_PID=a11y-w");
  await w.getByText("1 of 2 participants here.").waitFor();
  await w.evaluate(() => { document.documentElement.style.fontSize = "200%"; });
  await w.getByText("Nobody came. Thank you for waiting.").waitFor({ timeout: 15000 });
  await audit(w, "an early outcome at 200% text");
  const overflow = await w.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  if (overflow) throw new Error("at 200% text the outcome page scrolls sideways");

  console.log(`CHECKED ${checked.length}: ${checked.join("; ")}`);
  if (problems.length) throw new Error(problems.join("\n"));
  await context.close();
});
