// Two pages of one browser join a probed experiment: the host proposes them, they
// measure their peer-to-peer RTT over a real WebRTC DataChannel (loopback, mDNS
// candidates), the group is confirmed, and they play the demo game to the end.
// Usage: node probe_pair.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];

async function play(page, keys) {
  await page.getByRole("heading", { name: "Reach the star" }).waitFor({ timeout: 30000 });
  const board = page.locator(".board");
  await board.focus();
  for (const key of keys) await page.keyboard.press(key);
}

run("probe a pair over WebRTC and play", async () => {
  const context = await launch();
  const problems = [];
  const pages = [];
  for (const id of ["webrtc-a", "webrtc-b"]) {
    const page = await context.newPage();
    page.on("pageerror", (err) => problems.push(`${id}: ${err.message}`));
    await page.goto(`${base}/x/probed-demo?PROLIFIC_PID=${id}`);
    // The second page's waitroom can be brief (its partner is already waiting): wait
    // for it or any later step, not for a screen that may already be gone.
    await page.getByRole("heading", { name: /Finding a partner|Partner found!|Reach the star/ }).first().waitFor();
    pages.push(page);
  }
  const found = pages.map((p) =>
    p.getByRole("heading", { name: /Partner found!|Reach the star/ }).first().waitFor({ timeout: 30000 }),
  );
  await Promise.all(found);
  // Slot 0 starts top-left, slot 1 bottom-right; the star is in the middle.
  await Promise.all([
    play(pages[0], ["ArrowRight", "ArrowRight", "ArrowRight", "ArrowDown", "ArrowDown", "ArrowDown"]),
    play(pages[1], ["ArrowLeft", "ArrowLeft", "ArrowLeft", "ArrowUp", "ArrowUp", "ArrowUp"]),
  ]);
  for (const page of pages) {
    await page.getByRole("heading", { name: "All done" }).waitFor({ timeout: 30000 });
    const code = await page.locator("#completion-code").textContent();
    if (code !== "PROBED-OK") throw new Error(`completion code ${code}`);
  }
  if (problems.length) throw new Error(problems.join("\n"));
  await context.close();
});
