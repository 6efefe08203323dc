// Leaving with pay from the page. (1) Alone in the waitroom: no "Leave and get paid"
// button at first; it appears once `leave_after_secs` has passed, asks for
// confirmation (and can be cancelled), and leaving shows the waitroom's code.
// (2) In a game whose partner does nothing: after `partner_idle_secs` the active player
// is offered the same button, leaves with `on_partner_idle`'s code, and the partner
// sees that their partner left. Keyboard only for the confirmation.
// Usage: node leave.mjs http://127.0.0.1:PORT
import { launch, playing, run } from "./lib.mjs";

const base = process.argv[2];

run("leaving with pay", async () => {
  const context = await launch();
  const problems = [];
  const open = async (who) => {
    const page = await context.newPage();
    page.on("pageerror", (err) => problems.push(`${who}: ${err.message}`));
    await page.goto(`${base}/x/leave-paid?PROLIFIC_PID=${who}`);
    return page;
  };

  // (1) The waitroom.
  const waiter = await open("waiter");
  await waiter.getByRole("heading", { name: "Finding a partner" }).waitFor();
  const started = Date.now();
  if (await waiter.getByRole("button", { name: "Leave and get paid" }).isVisible()) throw new Error("offered at once");
  await waiter.getByRole("button", { name: "Leave and get paid" }).waitFor({ timeout: 10000 });
  const after = (Date.now() - started) / 1000;
  if (after < 1) throw new Error(`offered after ${after} s, before leave_after_secs`);
  await waiter.getByRole("button", { name: "Leave and get paid" }).click();
  await waiter.getByText("Stop waiting and leave the study now?").waitFor();
  await waiter.getByRole("button", { name: "Not now" }).click(); // cancelled: still waiting
  await waiter.getByRole("button", { name: "Leave and get paid" }).click();
  await waiter.keyboard.press("Enter"); // the confirmation has the focus
  await waiter.getByText("Thank you for waiting.").waitFor();
  const code = await waiter.locator("#completion-code").textContent();
  console.log(`RESULT ${JSON.stringify({ name: "waitroom", code, after })}`);

  // (2) A game whose partner does nothing.
  const active = await open("active");
  await active.getByRole("heading", { name: "Finding a partner" }).waitFor();
  const idle = await open("idle");
  await Promise.all([playing(active), playing(idle)]);
  if (await active.getByRole("button", { name: "Leave and get paid" }).isVisible()) throw new Error("offered at once in the game");
  // The active player moves now and then; the idle one never does.
  const mover = setInterval(() => active.keyboard.press("ArrowRight").catch(() => {}), 700);
  await active.getByRole("button", { name: "Leave and get paid" }).waitFor({ timeout: 20000 });
  if (await idle.getByRole("button", { name: "Leave and get paid" }).isVisible()) throw new Error("the idle one was offered to leave an active partner");
  clearInterval(mover);
  await active.getByRole("button", { name: "Leave and get paid" }).click();
  await active.getByText("Your partner seems to be away.").waitFor();
  await active.getByRole("button", { name: "Yes, leave now" }).click();
  await active.getByText("Your partner was away; thank you.").waitFor();
  const gameCode = await active.locator("#completion-code").textContent();
  await idle.getByText("Your partner left.").waitFor();
  const partnerCode = await idle.locator("#completion-code").textContent();
  console.log(`RESULT ${JSON.stringify({ name: "game", code: gameCode, partner: partnerCode })}`);
  if (problems.length) throw new Error(problems.join("\n"));
});
