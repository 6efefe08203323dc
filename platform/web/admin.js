// The researcher's live page (/admin): reads /admin/status.json every two seconds
// (the admin cookie authorises it) and shows each experiment — who waits and for how
// long, games, probes, outcomes — with the host's SVG charts.

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

function svg(markup) {
  // The host renders the charts from numbers only; parsed as SVG, never as HTML.
  const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
  return document.importNode(doc.documentElement, true);
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
      el("h3", {}, "Early outcomes"),
      outcomes.length ? table(outcomes, ["reason", "count"]) : el("p", { class: "muted" }, "None yet."),
      el("div", { class: "charts" }, svg(e.charts.wait), svg(e.charts.rtt)));
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
