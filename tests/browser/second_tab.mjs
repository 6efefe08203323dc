// The study link opened in a second tab: the second tab is refused and offers
// "Continue here instead"; the first keeps working until the participant clicks it,
// then the session moves to the second tab and the first one says so.
// Usage: node second_tab.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];
const link = `${base}/x/demo?PROLIFIC_PID=two-tabs`;

run("second tab, continue here instead", async () => {
  const context = await launch();
  const problems = [];
  const first = await context.newPage();
  first.on("pageerror", (err) => problems.push(`first: ${err.message}`));
  await first.goto(link);
  await first.getByRole("heading", { name: "Consent" }).waitFor();

  const second = await context.newPage();
  second.on("pageerror", (err) => problems.push(`second: ${err.message}`));
  await second.goto(link);
  await second.getByRole("heading", { name: "Already open" }).waitFor();
  const button = second.getByRole("button", { name: "Continue here instead" });
  await button.waitFor();
  // Nothing moves until the participant chooses: the first tab still has the session.
  if (await first.getByRole("heading", { name: "Already open" }).count()) throw new Error("the first tab lost the session by itself");

  await button.click();
  await second.getByRole("heading", { name: "Consent" }).waitFor();
  await first.getByRole("heading", { name: "Already open" }).waitFor();
  // The second tab goes on with the session.
  await second.locator("#agree").check();
  await second.getByRole("button", { name: "Continue" }).click();
  await second.getByRole("heading", { name: "How to play" }).waitFor();
  if (problems.length) throw new Error(problems.join("\n"));
  await context.close();
});
