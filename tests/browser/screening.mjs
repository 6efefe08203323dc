// Screening in a real browser: the page reports its browser, device and window and
// checks that it can open a WebRTC DataChannel; a desktop Chromium is let in, and a
// window narrower than the rule asks for gets the rule's outcome.
// Usage: node screening.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];

run("screening", async () => {
  const context = await launch();
  const problems = [];
  const page = await context.newPage();
  page.on("pageerror", (err) => problems.push(err.message));
  await page.goto(`${base}/x/screened?PROLIFIC_PID=in-1`);
  await page.getByText("Welcome in.").waitFor();
  const narrow = await context.newPage();
  narrow.on("pageerror", (err) => problems.push(err.message));
  await narrow.goto(`${base}/x/screened-wide?PROLIFIC_PID=out-1`);
  await narrow.getByText("This study needs a wider window.").waitFor();
  await narrow.getByText("WIDE1").waitFor();
  if (problems.length) throw new Error(problems.join("\n"));
});
