// Walks experiments/demo.yaml from consent to the waitroom by keyboard, like a
// participant who does not use a mouse: Tab to the checkbox, Space to tick it, Enter to
// continue. Usage: node walk_demo.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];

run("walk demo by keyboard", async () => {
  const context = await launch();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => { if (msg.type() === "error") problems.push(`console error: ${msg.text()}`); });

  await page.goto(`${base}/x/demo?PROLIFIC_PID=browser-walker`);
  await page.getByRole("heading", { name: "Consent" }).waitFor();
  await page.getByText("Information for participants").waitFor(); // body_file markdown rendered

  // The button stays disabled until the box is ticked.
  const next = page.getByRole("button", { name: "Continue" });
  if (!(await next.isDisabled())) throw new Error("Continue is enabled before agreeing");
  await page.keyboard.press("Tab");
  const focusedIsCheckbox = await page.evaluate(() => document.activeElement && document.activeElement.id === "agree");
  if (!focusedIsCheckbox) throw new Error("Tab does not reach the agreement checkbox first");
  await page.keyboard.press("Space");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");

  await page.getByRole("heading", { name: "How to play" }).waitFor();
  await page.getByText("move with the arrow keys").waitFor();
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");

  await page.getByRole("heading", { name: "Finding a partner" }).waitFor();
  await page.getByText("1 of 2 participants here.").waitFor();
  await page.getByText(/Up to \d+:\d\d remaining/).waitFor();
  const step = await page.locator("#progress").textContent();
  if (step !== "Step 3 of 5") throw new Error(`progress shows ${step}`);

  // A reload resumes the same session (token in sessionStorage): still in the waitroom.
  await page.reload();
  await page.getByRole("heading", { name: "Finding a partner" }).waitFor();

  if (problems.length) throw new Error(problems.join("\n"));
  await context.close();
});
