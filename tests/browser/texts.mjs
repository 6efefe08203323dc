// An experiment in German: the waitroom page shows the shipped German texts, and the
// experiment's own words where it overrides one.
// Usage: node texts.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];

run("texts in the experiment's language", async () => {
  const context = await launch();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  await page.goto(`${base}/x/german?PROLIFIC_PID=de-1`);
  await page.getByRole("heading", { name: "Warten auf andere Teilnehmende" }).waitFor();
  await page.getByText("Bitte bleiben Sie auf dieser Seite.").waitFor();
  await page.getByText("Schritt 1 von 2").waitFor();
  // The waitroom times out after a second: the default outcome in German.
  await page.getByText("Leider konnten wir nicht rechtzeitig einen Partner für Sie finden.", { exact: false }).waitFor();
  await page.getByRole("heading", { name: "Vielen Dank" }).waitFor();
  if (problems.length) throw new Error(problems.join("\n"));
});
