// One page joins the probed demo and waits for a partner (a Rust bot started by the
// test): they probe each other over WebRTC, and the page sees the game start.
// Usage: node probe_with_bot.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];

run("a browser page probes a Rust bot", async () => {
  const context = await launch();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  await page.goto(`${base}/x/probed-demo?PROLIFIC_PID=browser-vs-bot`);
  // The waitroom can be brief (the bot joins as soon as the page is in it): wait for
  // it or any later step, not for a screen that may already be gone.
  await page.getByRole("heading", { name: /Finding a partner|Partner found!|Reach the star/ }).first().waitFor();
  await page.getByRole("heading", { name: "Reach the star" }).waitFor({ timeout: 40000 });
  if (problems.length) throw new Error(problems.join("\n"));
  await context.close();
}, 60000);
