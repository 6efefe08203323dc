// Texts by condition in real pages: two participants of the two entry conditions of
// tests/fixtures/host/by-condition.yaml each read their own instructions, and nothing
// of the other condition's text reaches their page — not in what it shows, not in any
// WebSocket frame it received, not in the texts it loaded.
// Prints `RESULT {json}` per page. Usage: node by_condition.mjs http://127.0.0.1:PORT
import { launch, run } from "./lib.mjs";

const base = process.argv[2];

run("texts by condition", async () => {
  const context = await launch();
  for (const who of ["one", "two"]) {
    const page = await context.newPage();
    const frames = [];
    page.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push(String(f.payload))));
    const responses = [];
    page.on("response", async (r) => {
      if (r.url().includes("/texts.js")) responses.push(await r.text().catch(() => ""));
    });
    await page.goto(`${base}/x/by-condition?PROLIFIC_PID=${who}`);
    await page.locator(".body").first().waitFor();
    const shown = await page.locator("#app").innerText();
    console.log(`RESULT ${JSON.stringify({ who, shown, received: frames.join("\n") + responses.join("\n") })}`);
    await page.close();
  }
});
