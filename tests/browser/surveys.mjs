// A participant answers every question kind in Chromium: a comprehension check failed
// twice (feedback, then back to the rules) and passed; a follow-up question that
// appears when an earlier answer calls for it; a slider with no handle until moved; a
// matrix, a drop-down and a rank worked by keyboard.
// Usage: node surveys.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];

function check(ok, message) {
  if (!ok) throw new Error(message);
}

run("every question kind, a check and display logic", async () => {
  const context = await launch();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => { if (msg.type() === "error") problems.push(`console error: ${msg.text()}`); });
  await page.goto(`${base}/x/instruments?PROLIFIC_PID=browser-instr`);

  // The check, wrong twice: feedback under the wrong question, then back to the rules.
  await page.getByText("Red means").waitFor();
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByText("What does red mean?").waitFor();
  await page.getByLabel("go", { exact: true }).check();
  await page.getByLabel("Type the colour that means stop").fill("Red");
  await page.getByRole("button", { name: "Submit" }).click();
  await page.locator("#try-again").waitFor();
  await page.getByText("Red means stop.").waitFor();
  check(await page.locator("fieldset.was-wrong").count() === 1, "only the wrong question is marked");
  await page.getByLabel("go", { exact: true }).check();
  await page.getByLabel("Type the colour that means stop").fill("red");
  await page.getByRole("button", { name: "Submit" }).click();
  await page.getByRole("heading", { name: "Instructions" }).waitFor();
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByText("What does red mean?").waitFor();
  check(await page.locator("#try-again").count() === 0, "a fresh start after the rules");
  await page.getByLabel("stop", { exact: true }).check();
  await page.getByLabel("Type the colour that means stop").fill("red");
  await page.getByRole("button", { name: "Submit" }).click();

  // Every kind.
  await page.getByText("Your age").waitFor();
  check(!/\bnull\b|undefined/.test(await page.locator("#app").innerText()), "no stray null or undefined on the page");
  const perDay = page.locator('fieldset[data-question="per_day"]');
  check(await perDay.isHidden(), "the follow-up is hidden until `smoke` is yes");
  const slider = page.locator("#q-trust");
  check(await slider.evaluate((el) => el.classList.contains("unmoved")), "the slider shows no handle before it is moved");
  // Submitting now: the required questions are flagged, the unmoved slider among them.
  await page.getByRole("button", { name: "Submit" }).click();
  await page.getByText("Move the slider to answer.").waitFor();
  await page.locator("#q-age-error").getByText("This question needs an answer.").waitFor();

  await page.locator("#q-age").fill("45");
  await slider.focus();
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  check(!(await slider.evaluate((el) => el.classList.contains("unmoved"))), "moving by keyboard shows the handle");
  await page.getByText(/Your answer: \d+/).waitFor();
  await page.locator("#q-country").selectOption("Chile");
  for (const item of ["is extraverted", "is critical", "is calm"]) {
    await page.getByLabel(`${item}: 5`).check();
  }
  // Rank: the first option moved down once, by keyboard.
  const before = await page.locator("ol.rank li").evaluateAll((lis) => lis.map((li) => li.dataset.option));
  await page.locator("ol.rank li").first().locator("button.down").focus();
  await page.keyboard.press("Enter");
  const after = await page.locator("ol.rank li").evaluateAll((lis) => lis.map((li) => li.dataset.option));
  check(after[1] === before[0] && after[0] === before[1], `rank moved: ${before} → ${after}`);
  await page.getByLabel("yes", { exact: true }).first().check();
  await perDay.waitFor({ state: "visible" });
  await page.locator("#q-per_day").fill("2.5");
  await page.getByRole("button", { name: "Submit" }).click();
  await page.getByText("Please enter a whole number.").waitFor();
  await page.locator("#q-per_day").fill("4");
  await page.locator("#q-nickname").fill('<img src=x id=injected onerror="window.pwned=1">Bo');
  await page.getByRole("button", { name: "Submit" }).click();

  // Piped values: the nickname is shown as the text it is, never as markup.
  await page.getByRole("heading", { name: 'Hello, <img src=x id=injected onerror="window.pwned=1">Bo' }).waitFor();
  await page.getByText('in that order, <img src=x id=injected onerror="window.pwned=1">Bo. Calm: 5.').waitFor();
  check(await page.locator("#injected").count() === 0, "no element was injected");
  check(!(await page.evaluate(() => window.pwned)), "no script ran");
  await page.getByRole("button", { name: "Continue" }).click();

  // 45 ≥ 40: the follow-up scene.
  await page.getByText("At 45, are you retired?").waitFor();
  await page.getByLabel("no", { exact: true }).check();
  await page.getByRole("button", { name: "Submit" }).click();
  await page.getByText("Thanks!").waitFor();
  console.log(`RANK ${JSON.stringify(after)}`);
  if (problems.length) throw new Error(problems.join("\n"));
  await context.close();
});
