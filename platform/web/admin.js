// The researcher's live page (/admin): reads /admin/status.json every two seconds
// (the admin cookie authorises it) and shows each experiment — who waits and for how
// long, games, probes, outcomes — and draws its charts from the JSON's numbers with
// uPlot (loaded before this module as the global `uPlot`): the last hours minute by
// minute, per entry condition when there are conditions, and the waits and probe RTTs.

const root = document.getElementById("admin");

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function table(rows, head) {
  const t = el("table", {}, el("tr", {}, ...head.map((h) => el("th", {}, h))));
  for (const r of rows) t.append(el("tr", {}, ...r.map((c) => el("td", {}, c))));
  return t;
}

// Okabe–Ito: told apart with every common colour-blindness.
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"];

// Each experiment's charts, kept across refreshes (their data is replaced, so the
// page does not flicker and a reader's zoom stays).
const kept = new Map();

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });

/** A chart over time: one line per series, x the minutes' starts. */
function overTime(title, yLabel, minutes, series) {
  const width = Math.max(300, Math.min(900, root.clientWidth - 60));
  // At least the last ten minutes on the axis, so a new study reads as clock times.
  const last = minutes.length ? minutes[minutes.length - 1] / 1000 : Date.now() / 1000;
  const first = minutes.length ? minutes[0] / 1000 : last;
  const opts = {
    width, height: 220,
    scales: { x: { time: true, range: () => [Math.min(first, last - 600), last + 60] } },
    axes: [{ label: "time (each point a minute)" }, { label: yLabel }],
    series: [{}, ...series.map(([label], i) => ({ label, stroke: PALETTE[i % PALETTE.length], width: 2 }))],
  };
  const data = [minutes.map((ms) => ms / 1000), ...series.map(([, values]) => values)];
  return { title, opts, data, labels: series.map(([label]) => label), minutes };
}

/** A bar chart over labelled buckets. */
function buckets(title, xLabel, pairs) {
  const labels = pairs.map(([l]) => l);
  const opts = {
    width: 320, height: 200,
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] } },
    axes: [
      { label: xLabel, splits: () => labels.map((_, i) => i), values: (u, splits) => splits.map((i) => labels[i] ?? ""), rotate: -40, size: 56 },
      { label: "count" },
    ],
    series: [{}, { label: "count", fill: PALETTE[0], stroke: PALETTE[0], paths: uPlot.paths.bars({ size: [0.8] }), points: { show: false } }],
    legend: { show: false },
  };
  return { title, opts, data: [labels.map((_, i) => i), pairs.map(([, n]) => n)] };
}

/** The chart specs of one experiment's snapshot. */
function chartsOf(e) {
  const h = e.history;
  const out = [overTime("Per minute", "participants or games", h.minute_ms, [
    ["arrived", h.arrived], ["waiting (at the minute's end)", h.waiting], ["games started", h.games_started],
    ["finished", h.finished], ["ended early", h.ended_early],
  ])];
  const conditions = Object.keys(h.arrived_by_condition);
  if (conditions.length) {
    out.push(overTime("Per minute, by entry condition", "participants", h.minute_ms, [
      ...conditions.map((c) => [`${c}: arrived`, h.arrived_by_condition[c]]),
      ...conditions.map((c) => [`${c}: finished`, h.finished_by_condition[c] ?? h.minute_ms.map(() => 0)]),
    ]));
  }
  out.push(buckets("Waited (those who left the waitroom)", "time waited", e.wait_histogram));
  out.push(buckets("Probe round trip", "round-trip time (ms)", e.rtt_histogram));
  return out;
}

/** The table of a chart over time: a row per minute (the latest first, at most 15). */
function minutesTable(spec) {
  const rows = spec.minutes.map((ms, i) => [clock(ms), ...spec.data.slice(1).map((s) => s[i])]).reverse().slice(0, 15);
  return el("details", {}, el("summary", {}, "The numbers"), table(rows, ["minute", ...spec.labels]));
}

/** Draws (or updates) the experiment's charts; returns their container. */
function charts(e) {
  const specs = chartsOf(e);
  let box = kept.get(e.experiment);
  const shape = specs.map((s) => `${s.title}:${s.opts.series.length}`).join("|");
  if (!box || box.shape !== shape) {
    box?.plots.forEach((p) => p.destroy());
    const element = el("div", { class: "charts" });
    const plots = specs.map((spec) => {
      const figure = el("figure", { class: spec.minutes ? "chart wide" : "chart" }, el("figcaption", {}, spec.title));
      element.append(figure);
      return new uPlot(spec.opts, spec.data, figure);
    });
    box = { element, plots, shape };
    kept.set(e.experiment, box);
  } else {
    specs.forEach((spec, i) => box.plots[i].setData(spec.data));
  }
  // Each figure says what its axes span, and over time carries its numbers.
  specs.forEach((spec, i) => {
    const figure = box.plots[i].root.parentElement;
    const old = figure.querySelector("details");
    const open = old?.open;
    old?.remove();
    if (spec.minutes) {
      const span = spec.minutes.length ? `from ${clock(spec.minutes[0])} to ${clock(spec.minutes[spec.minutes.length - 1])}` : "no minutes yet";
      figure.setAttribute("aria-label", `${spec.title}, ${span}`);
      figure.dataset.axis = "time";
      const details = minutesTable(spec);
      details.open = Boolean(open);
      figure.append(details);
    } else {
      figure.setAttribute("aria-label", spec.title);
    }
  });
  return box.element;
}

/** An intervention (the cookie authorises it; the host checks it comes from here). */
async function act(experiment, action) {
  const res = await fetch(`/admin/api/${encodeURIComponent(experiment)}`, {
    method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify(action),
  });
  document.getElementById("done").textContent = res.ok ? `Done: ${action.action}` : `Refused: ${await res.text()}`;
  refresh();
}

function controls(e) {
  const message = el("input", { type: "text", maxlength: "500", placeholder: "A message for everyone waiting", "aria-label": "message" });
  const button = (label, action) => {
    const b = el("button", { type: "button" }, label);
    b.addEventListener("click", () => act(e.experiment, action()));
    return b;
  };
  return el("p", { class: "controls" },
    button("Close arrivals", () => ({ action: "arrivals", open: false })), " ",
    button("Reopen arrivals", () => ({ action: "arrivals", open: true })), " ",
    message, " ",
    button("Send", () => ({ action: "broadcast", message: message.value })));
}

function render(status) {
  const sections = status.experiments.map((e) => {
    const places = Object.entries(e.places).map(([k, v]) => `${v} ${k}`).join(" · ") || "nobody yet";
    const outcomes = Object.entries(e.outcomes).map(([k, v]) => [k, v]);
    // Who waits, and why they are not matched yet (the latest decision about them).
    const waits = (e.why_waiting || []).map((w) => {
      const last = w.decisions.length ? w.decisions[w.decisions.length - 1][1] : null;
      const why = last ? `${last.reason}${last.repeats ? ` (×${last.repeats + 1})` : ""}${last.lines ? ` — ${last.lines.join(" / ")}` : ""}` : "—";
      return [w.scene, `${w.waited_secs.toFixed(0)} s`, w.state, why];
    });
    const p = (v) => (v === null || v === undefined ? "—" : `${v.toFixed(1)} s`);
    return el("section", { class: "experiment", "data-experiment": e.experiment },
      el("h2", {}, e.experiment),
      controls(e),
      el("p", { class: "places" }, places),
      el("p", {}, `Games in progress: `, el("strong", { class: "games" }, e.games_in_progress),
        ` · probes in flight: ${e.probes_in_flight} · pending matches: ${e.pending_matches}`,
        ` · open sockets: ${e.open_sockets} · policy faults: ${e.events.policy_fault ?? 0}`,
        e.log_writable ? "" : " · THE EVENT LOG CANNOT BE WRITTEN"),
      el("p", {}, `Wait p50 ${p(e.wait_p50_secs)}, p95 ${p(e.wait_p95_secs)} · finished: ${e.events.finished ?? 0}`),
      el("h3", {}, `Waiting (${e.waiting.length})`),
      waits.length ? table(waits, ["scene", "waited", "state", "why not matched yet"]) : el("p", { class: "muted" }, "Nobody is waiting."),
      el("h3", {}, `Probes in flight (${e.probes_now.length})`),
      e.probes_now.length
        ? table(e.probes_now.map(([age, [a, b]]) => [`${age.toFixed(1)} s`, a === null ? "…" : `${a.toFixed(1)} ms`, b === null ? "…" : `${b.toFixed(1)} ms`]), ["running for", "offerer's RTT", "answerer's RTT"])
        : el("p", { class: "muted" }, "None."),
      el("h3", {}, `Chat (latest ${(e.chat || []).length})`),
      (e.chat || []).length
        ? table(e.chat.slice().reverse().map((c) => [new Date(c.at_ms).toLocaleTimeString(), c.game.slice(0, 8), c.scene, `player ${c.slot + 1}`, c.text]),
          ["at", "group", "scene", "from", "text"])
        : el("p", { class: "muted" }, "No chat yet."),
      el("h3", {}, "Early outcomes"),
      outcomes.length ? table(outcomes, ["reason", "count"]) : el("p", { class: "muted" }, "None yet."),
      charts(e));
  });
  root.replaceChildren(...sections);
  document.getElementById("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

async function refresh() {
  try {
    const res = await fetch("/admin/status.json", { credentials: "same-origin", cache: "no-store" });
    if (res.status === 401) { location.reload(); return; }
    render(await res.json());
  } catch (e) {
    document.getElementById("updated").textContent = `Cannot reach the host: ${e.message}`;
  }
}

refresh();
setInterval(refresh, 2000);
