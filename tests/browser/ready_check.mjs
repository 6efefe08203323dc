// The ready-check in real pages: two participants are grouped, one of them in a
// background tab. The visible one confirms with a click; the background one is alerted
// (its title flashes, a tone plays) and only confirms once it is visible again and
// clicked; then both pages show the match.
// Usage: node ready_check.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];

/** Makes a page look like a background tab (or a foreground one again). */
async function setHidden(page, hidden) {
  await page.evaluate((h) => {
    Object.defineProperty(document, "visibilityState", { value: h ? "hidden" : "visible", configurable: true });
    Object.defineProperty(document, "hidden", { value: h, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

run("ready-check with a background tab", async () => {
  const problems = [];
  const pages = [];
  for (const who of ["front", "back"]) {
    const context = await launch();
    const page = await context.newPage();
    page.on("pageerror", (err) => problems.push(`${who}: ${err.message}`));
    await page.goto(`${base}/x/ready?PROLIFIC_PID=${who}`);
    await page.getByRole("heading", { name: "Waiting for other participants" }).waitFor();
    pages.push(page);
    if (who === "front") await setHidden(page, false);
  }
  const [front, back] = pages;
  // The group forms as the second page arrives; it then goes to the background.
  await back.getByRole("heading", { name: "Your group is ready!" }).waitFor();
  await setHidden(back, true);
  await front.getByRole("button", { name: "I am ready" }).click();
  await front.getByText("1 of 2 ready.").waitFor();
  // The background page calls its participant back: a title that flashes, a tone.
  await back.waitForFunction(() => document.title.startsWith("●") && window.cohortReadyTone === true, null, { timeout: 10000 });
  if (await front.getByRole("heading", { name: "Partner found!" }).count()) throw new Error("the game started without the second player");
  await setHidden(back, false);
  await back.getByRole("button", { name: "I am ready" }).click();
  for (const page of pages) await page.getByRole("heading", { name: "Partner found!" }).waitFor();
  if (problems.length) throw new Error(problems.join("\n"));
});
