// The researcher opens /admin, gives the admin token once, and sees the study live:
// a participant waiting and a game in progress (the Rust test set them up).
// Usage: node admin.mjs http://127.0.0.1:PORT TOKEN
import { launch, run } from "./lib.mjs";

const [base, token] = process.argv.slice(2);

run("the admin page shows the study", async () => {
  const context = await launch();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  await page.goto(`${base}/admin`);
  await page.getByLabel(/Admin token/).fill(token);
  await page.getByRole("button", { name: "Open" }).click();
  await page.getByRole("heading", { name: "cohort — the study now" }).waitFor();
  const section = page.locator("section[data-experiment=trio]");
  await section.getByRole("heading", { name: "Waiting (1)" }).waitFor({ timeout: 10000 });
  // Why the one waiting is not matched: the FIFO found no group (two are missing).
  await section.getByRole("cell", { name: /the policy found no group/ }).waitFor({ timeout: 10000 });
  await section.locator(".games", { hasText: "1" }).waitFor({ timeout: 10000 });
  // The charts are drawn in the page from the status's numbers: the minutes over a time
  // axis (clock times), the waits and the probe RTTs.
  await section.locator(".uplot").nth(2).waitFor({ timeout: 10000 });
  const overTime = section.locator("figure[data-axis=time]").first();
  const label = await overTime.getAttribute("aria-label");
  if (!/^Per minute, from \d\d:\d\d to \d\d:\d\d$/.test(label)) throw new Error(`time axis: ${label}`);
  // Its numbers: the four arrivals, minute by minute (the table refreshes every 2 s).
  const deadline = Date.now() + 10000;
  for (;;) {
    const rows = await overTime.locator("details table tr").evaluateAll((trs) => trs.slice(1).map((tr) => [...tr.cells].map((c) => c.textContent)));
    const arrived = rows.reduce((n, r) => n + Number(r[1]), 0);
    if (rows.every((r) => /^\d\d:\d\d$/.test(r[0])) && arrived === 4) break;
    if (Date.now() > deadline) throw new Error(`minutes: ${JSON.stringify(rows)}`);
    await page.waitForTimeout(500);
  }
  // An intervention from the page: closing arrivals (the Rust test checks the log).
  await section.getByRole("button", { name: "Close arrivals" }).click();
  await page.getByText("Done: arrivals").waitFor({ timeout: 10000 });
  const cookies = await context.cookies();
  const admin = cookies.find((c) => c.name === "cohort_admin");
  if (!admin || !admin.httpOnly || admin.sameSite !== "Strict") throw new Error(`cookie ${JSON.stringify(admin)}`);
  if (problems.length) throw new Error(problems.join("\n"));
  await context.close();
});
