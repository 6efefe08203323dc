// A researcher opens `cohort report`'s page: every chart is there with its axis titles,
// no two labels of a chart overlap (their boxes measured in the page, in a wide and a
// narrow window), and the numbers each chart draws are the export's.
// Usage: node report.mjs REPORT.html EXPORT_DIR (the experiment's CSV folder)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { launch, run } from "./lib.mjs";

const [html, exported] = process.argv.slice(2);

/** A CSV table as objects (quoted fields with commas, quotes and line breaks). */
function csv(name) {
  const text = readFileSync(join(exported, `${name}.csv`), "utf8");
  const rows = [];
  let row = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(field); field = ""; }
    else if (c === "\n") { row.push(field); rows.push(row); row = []; field = ""; }
    else field += c;
  }
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

/** JSON with objects' keys in order, so that equal tables compare equal. */
const canon = (x) => JSON.stringify(x, (k, v) => (v && typeof v === "object" && !Array.isArray(v)
  ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
const same = (a, b, what) => {
  if (canon(a) !== canon(b)) throw new Error(`${what}: chart ${JSON.stringify(a)} ≠ export ${JSON.stringify(b)}`);
};
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const round2 = (x) => Math.round(x * 100) / 100;

run("the report's charts are readable and hold the export's numbers", async () => {
  const context = await launch();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(err.message));
  page.on("request", (req) => { if (!req.url().startsWith("file:")) problems.push(`fetched ${req.url()}`); });
  await page.goto(pathToFileURL(html).href);
  const charts = await page.locator("script.chart-data").evaluateAll((ss) => ss.map((s) => JSON.parse(s.textContent)));
  const byId = Object.fromEntries(charts.map((c) => [c.id, c]));
  const probed = csv("probes").length > 0;
  for (const id of ["arrivals", "time_to_group", "flow", "outcomes", "balance", ...(probed ? ["probe_rtts"] : []), "pay"]) {
    if (!byId[id]) throw new Error(`no ${id} chart: ${Object.keys(byId)}`);
  }
  if (!charts.some((c) => c.id.startsWith("result_"))) throw new Error("no game result chart");

  for (const width of [1000, 380]) {
    await page.setViewportSize({ width, height: 900 });
    for (const chart of charts) {
      const svg = page.locator(`figure#${chart.id} svg[data-chart=${chart.id}]`).filter({ visible: true });
      if (await svg.count() !== 1) throw new Error(`${chart.id}: one drawing shown at ${width}px`);
      const texts = await svg.locator("text").evaluateAll((ts) => ts.map((t) => {
        const r = t.getBoundingClientRect();
        return { text: t.textContent.trim(), x0: r.left, y0: r.top, x1: r.right, y1: r.bottom };
      }).filter((t) => t.text.trim() !== ""));
      for (const title of [chart.x_title, chart.y_title]) {
        if (!texts.some((t) => t.text === title)) throw new Error(`${chart.id} at ${width}px: no axis title "${title}"`);
      }
      const svgBox = await svg.boundingBox();
      for (let i = 0; i < texts.length; i++) {
        const a = texts[i];
        if (a.x0 < svgBox.x - 1 || a.x1 > svgBox.x + svgBox.width + 1) throw new Error(`${chart.id} at ${width}px: "${a.text}" leaves the chart`);
        for (let j = i + 1; j < texts.length; j++) {
          const b = texts[j];
          const overlap = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > 0.5 && Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > 0.5;
          if (overlap) throw new Error(`${chart.id} at ${width}px: "${a.text}" overlaps "${b.text}"`);
        }
      }
    }
  }

  // The numbers are the export's.
  const people = csv("participants");
  const arrivals = byId.arrivals.plot.lines.find((l) => l.name === "arrived").points;
  same(arrivals[arrivals.length - 1][1], people.length, "arrivals");
  const grouped = {};
  for (const p of people.filter((p) => Number(p.games) > 0)) (grouped[p.condition] ??= []).push(Number(p.wait_secs));
  const waits = Object.fromEntries(byId.time_to_group.plot.samples.map((s) => [s.name, sorted(s.values)]));
  same(waits, Object.fromEntries(Object.entries(grouped).map(([c, v]) => [c, sorted(v)])), "time to group");
  const assigned = {};
  for (const p of people) assigned[p.condition] = (assigned[p.condition] ?? 0) + 1;
  const balance = Object.fromEntries(byId.balance.plot.lines.map((l) => [l.name, l.points[l.points.length - 1][1]]));
  same(balance, assigned, "conditions' balance");
  if (probed) {
    const probes = {};
    for (const p of csv("probes").filter((p) => p.rtt_ms !== "" && p.outcome !== "cached")) probes[p.outcome] = (probes[p.outcome] ?? 0) + 1;
    same(Object.fromEntries(byId.probe_rtts.plot.samples.map((s) => [s.name, s.values.length])), probes, "probe RTTs");
    const binned = byId.probe_rtts.bins.counts.map((c) => c.reduce((a, b) => a + b, 0));
    same(binned, byId.probe_rtts.plot.samples.map((s) => s.values.length), "every RTT in a bin");
  }
  const ended = {};
  for (const p of people) ended[p.outcome] = (ended[p.outcome] ?? 0) + 1;
  const outcomes = byId.outcomes.plot;
  same(Object.fromEntries(outcomes.categories.map((c, i) => [c, outcomes.series[0].values[i]])), ended, "outcomes");
  // The summary's median is the one pandas computes (the middle two averaged).
  const all = sorted(Object.values(grouped).flat());
  const median = all.length % 2 ? all[(all.length - 1) / 2] : (all[all.length / 2 - 1] + all[all.length / 2]) / 2;
  const shown = await page.locator("table.summary tr", { hasText: "median time to group" }).locator("td").textContent();
  if (Math.abs(Number(shown) - median) > 0.001) throw new Error(`median time to group: ${shown} ≠ ${median}`);
  const pay = {};
  for (const p of csv("payments")) {
    const e = (pay[p.outcome] ??= [0, 0]);
    e[0] += Number(p.base_pay); e[1] += Number(p.bonus);
  }
  const paid = byId.pay.plot;
  same(Object.fromEntries(paid.categories.map((c, i) => [c, [paid.series[0].values[i], paid.series[1].values[i]]])),
    Object.fromEntries(Object.entries(pay).map(([k, [a, b]]) => [k, [round2(a), round2(b)]])), "pay by outcome");
  const entered = {};
  for (const e of csv("events").filter((e) => e.event === "scene_entered")) {
    const d = JSON.parse(e.data);
    (entered[d.scene] ??= new Set()).add(d.participant);
  }
  const flow = byId.flow.plot;
  same(Object.fromEntries(flow.categories.map((c, i) => [c, flow.series[0].values[i]])),
    Object.fromEntries(flow.categories.map((c) => [c, entered[c]?.size ?? 0])), "who reached each scene");
  if (problems.length) throw new Error(problems.join("\n"));
  await context.close();
});
