// Renders each scene kind with native, keyboard-usable controls. Researcher-written
// bodies arrive as HTML from the host (rendered from the experiment file); everything
// else is inserted as text, in the experiment's words (i18n.js).

import { t } from "./i18n.js";

/** Builds an element: h("p", {class: "x"}, "text", child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === undefined || value === null) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) el.append(child);
  }
  return el;
}

function show(app, ...nodes) {
  app.replaceChildren(...nodes);
  const heading = app.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

function body(html) {
  const div = h("div", { class: "body" });
  div.innerHTML = html;
  return div;
}

function errorLine(id) {
  return h("p", { class: "error", id, role: "alert", hidden: true });
}

function setError(el, text) {
  el.textContent = text || "";
  el.hidden = !text;
}

/** Sends a request and shows a refusal under the button. */
async function send(connection, msg, button, errorEl) {
  button.disabled = true;
  setError(errorEl, "");
  try {
    await connection.request(msg);
  } catch (err) {
    button.disabled = false;
    setError(errorEl, err.reply ? err.reply.message : t("status.not_connected"));
    throw err;
  }
}

export function renderScene(app, scene, connection) {
  switch (scene.kind) {
    case "consent": return consent(app, scene, connection);
    case "instructions": return instructions(app, scene, connection);
    case "survey": return survey(app, scene, connection);
    case "multiplayer": return waitroom(app, scene);
    case "end": return end(app, scene);
    default: return renderNotice(app, t("button.wait"), "");
  }
}

function consent(app, scene, connection) {
  const error = errorLine("consent-error");
  const button = h("button", { type: "submit", disabled: true }, scene.button);
  const box = h("input", { type: "checkbox", id: "agree", onchange: () => { button.disabled = !box.checked; } });
  const form = h("form", {
    onsubmit: (e) => {
      e.preventDefault();
      if (!box.checked) return setError(error, t("consent.must_tick"));
      send(connection, { type: "advance", scene: scene.id, agreed: true, iteration: scene.iteration }, button, error).catch(() => {});
    },
  }, h("div", { class: "agree" }, box, h("label", { for: "agree" }, scene.agree_label)), button, error);
  show(app, h("h1", {}, scene.title || t("consent.heading")), body(scene.html), form);
}

function instructions(app, scene, connection) {
  const error = errorLine("instructions-error");
  const button = h("button", { type: "submit" }, scene.button);
  const form = h("form", {
    onsubmit: (e) => {
      e.preventDefault();
      send(connection, { type: "advance", scene: scene.id, iteration: scene.iteration }, button, error).catch(() => {});
    },
  }, button, error);
  show(app, h("h1", {}, scene.title || t("instructions.heading")), body(scene.html), form);
}

function questionField(q) {
  const name = `q-${q.id}`;
  const legend = h("legend", { class: q.required ? "required" : "" }, q.prompt);
  const error = errorLine(`${name}-error`);
  let input;
  let read;
  if (q.kind === "text") {
    input = q.multiline
      ? h("textarea", { name, maxlength: q.max_length, "aria-describedby": error.id })
      : h("input", { type: "text", name, maxlength: q.max_length, "aria-describedby": error.id });
    read = () => input.value;
  } else if (q.kind === "single_choice" || q.kind === "multiple_choice") {
    const type = q.kind === "single_choice" ? "radio" : "checkbox";
    input = h("div", {}, q.options.map((option, i) =>
      h("label", { class: "choice" }, h("input", { type, name, value: option, id: `${name}-${i}` }), option)));
    const picked = () => [...input.querySelectorAll("input:checked")].map((el) => el.value);
    read = type === "radio" ? () => picked()[0] ?? "" : picked;
  } else if (q.kind === "likert") {
    const labels = q.labels || [];
    input = h("div", {},
      h("div", { class: "likert", role: "radiogroup" }, Array.from({ length: q.points }, (_, i) =>
        h("label", {}, h("input", { type: "radio", name, value: String(i + 1) }), labels[i] || String(i + 1)))),
      labels.length ? null : h("div", { class: "likert-ends" }, h("span", {}, q.low_label || ""), h("span", {}, q.high_label || "")));
    read = () => {
      const checked = input.querySelector("input:checked");
      return checked ? Number(checked.value) : "";
    };
  }
  return { q, error, read, element: h("fieldset", {}, legend, input, error) };
}

/** Client-side check mirroring the host's (the host's is the one that counts). */
function check(q, value) {
  const empty = value === "" || (Array.isArray(value) && value.length === 0) || (typeof value === "string" && value.trim() === "");
  if (empty) return q.required ? t("survey.required") : null;
  if (q.kind === "text" && value.length > q.max_length) return t("survey.max_length", { n: q.max_length });
  if (q.kind === "multiple_choice") {
    if (value.length < q.min_selected) return t("survey.min_selected", { n: q.min_selected });
    if (q.max_selected && value.length > q.max_selected) return t("survey.max_selected", { n: q.max_selected });
  }
  return null;
}

function survey(app, scene, connection) {
  const fields = scene.questions.map(questionField);
  const error = errorLine("survey-error");
  const button = h("button", { type: "submit" }, scene.button);
  const form = h("form", {
    novalidate: true,
    onsubmit: (e) => {
      e.preventDefault();
      const answers = {};
      let firstBad = null;
      for (const f of fields) {
        const value = f.read();
        const problem = check(f.q, value);
        setError(f.error, problem);
        if (problem && !firstBad) firstBad = f;
        const empty = value === "" || (Array.isArray(value) && value.length === 0);
        if (!empty) answers[f.q.id] = value;
      }
      if (firstBad) {
        setError(error, t("survey.attention"));
        firstBad.element.querySelector("input, textarea")?.focus();
        return;
      }
      send(connection, { type: "submit", scene: scene.id, answers, iteration: scene.iteration }, button, error).catch((err) => {
        const reply = err.reply;
        if (!reply || !reply.fields) return;
        for (const f of fields) setError(f.error, reply.fields[f.q.id]);
      });
    },
  }, fields.map((f) => f.element), button, error);
  show(app, h("h1", {}, scene.title || t("survey.heading")), form);
}

let countdown = null;

let leaveTimer = null;

function waitroom(app, scene) {
  clearInterval(countdown);
  clearTimeout(leaveTimer);
  show(app, h("section", { class: "waiting" },
    h("h1", {}, scene.title || t("waitroom.heading")),
    h("div", { class: "spinner", "aria-hidden": "true" }),
    h("p", { id: "waiting-count" }, t("waitroom.looking")),
    h("p", { class: "muted", id: "waiting-time" }, ""),
    h("p", { class: "muted" }, t("waitroom.keep_open")),
    h("div", { id: "leave-box", hidden: true })));
}

/** A "Leave and get paid" button that asks for confirmation, then calls `leave`
 *  (which resolves when the host accepted; its `outcome` then shows the end page). */
export function leaveButton(box, label, question, leave) {
  const error = errorLine("leave-error");
  const ask = h("button", { type: "button", id: "leave-button", class: "secondary" }, label);
  const yes = h("button", { type: "button", id: "leave-confirm" }, t("leave.confirm"));
  const no = h("button", { type: "button", id: "leave-cancel", class: "secondary" }, t("leave.cancel"));
  const confirm = h("div", { id: "leave-question", role: "alertdialog", "aria-labelledby": "leave-text", hidden: true },
    h("p", { id: "leave-text" }, question), yes, no);
  ask.addEventListener("click", () => {
    ask.hidden = true;
    confirm.hidden = false;
    yes.focus();
  });
  no.addEventListener("click", () => {
    confirm.hidden = true;
    ask.hidden = false;
    ask.focus();
  });
  yes.addEventListener("click", () => {
    send(leave.connection, leave.msg, yes, error).catch(() => {});
  });
  box.replaceChildren(ask, confirm, error);
  box.hidden = false;
}

export function renderWaiting(app, msg, connection) {
  const count = app.querySelector("#waiting-count");
  const time = app.querySelector("#waiting-time");
  if (!count || !time) return;
  if (msg.waiting !== undefined && msg.needed !== undefined) {
    count.textContent = t("waitroom.count", { waiting: msg.waiting, needed: msg.needed });
  }
  // Leaving with pay: offered once the participant has waited long enough (the host
  // says how long is left; a reload is told again).
  const box = app.querySelector("#leave-box");
  clearTimeout(leaveTimer);
  if (box && msg.leave_in_secs !== undefined && msg.leave_in_secs !== null && box.hidden) {
    leaveTimer = setTimeout(() => {
      if (!box.isConnected || !box.hidden) return;
      leaveButton(box, t("leave.button"), t("leave.waitroom_question"),
        { connection, msg: { type: "leave_waitroom" } });
    }, Math.max(0, msg.leave_in_secs * 1000));
  }
  clearInterval(countdown);
  let remaining = Math.round(msg.remaining_secs);
  const tick = () => {
    const m = Math.floor(remaining / 60);
    const s = String(remaining % 60).padStart(2, "0");
    time.textContent = t("waitroom.remaining", { time: `${m}:${s}` });
    remaining = Math.max(0, remaining - 1);
  };
  tick();
  countdown = setInterval(tick, 1000);
}

export function renderMatchFound(app, msg) {
  clearInterval(countdown);
  const others = (msg.seats ?? msg.players.length) - 1;
  const bots = msg.bots || 0;
  const text = h("p", { id: "countdown" }, "");
  let remaining = Math.ceil(msg.countdown_secs);
  const tick = () => {
    text.textContent = remaining > 0 ? t("match.starts_in", { n: remaining }) : t("match.starting");
    remaining -= 1;
  };
  tick();
  countdown = setInterval(tick, 1000);
  const heading = others === 0 ? t("match.get_ready") : others === 1 ? t("match.partner_found") : t("match.partners_found", { n: others });
  const parts = [h("h1", {}, heading)];
  if (bots > 0) {
    parts.push(h("p", { id: "bot-partner" }, bots === others
      ? (bots === 1 ? t("match.bot_partner") : t("match.bot_partners"))
      : t("match.some_bots", { n: bots })));
  }
  show(app, h("section", { class: "waiting" }, ...parts, text));
}

function finalPage(app, title, message, code, url) {
  clearInterval(countdown);
  const parts = [h("h1", {}, title), h("p", {}, message)];
  if (code) parts.push(h("p", {}, t("final.code"), " ", h("span", { class: "code", id: "completion-code" }, code)));
  if (url) {
    parts.push(h("p", {}, h("a", { class: "button", href: url, id: "redirect" }, t("final.return"))));
    parts.push(h("p", { class: "muted" }, t("final.redirecting")));
    setTimeout(() => { location.href = url; }, 5000);
  }
  show(app, ...parts);
}

function end(app, scene) {
  finalPage(app, scene.title || t("final.thank_you"), scene.message, scene.completion_code, scene.redirect_url);
}

export function renderOutcome(app, msg) {
  finalPage(app, t("final.thank_you"), msg.message || "", msg.completion_code, msg.redirect_url);
}

export function renderNotice(app, title, message) {
  clearInterval(countdown);
  show(app, h("h1", {}, title), h("p", {}, message));
}

/** The study is open in another tab: say so, and offer to continue here instead. */
export function renderDuplicate(app, message, onContinue) {
  clearInterval(countdown);
  const button = h("button", { type: "button" }, t("duplicate.continue"));
  button.addEventListener("click", () => {
    button.disabled = true;
    onContinue();
  });
  show(app, h("h1", {}, t("duplicate.heading")), h("p", {}, message), button);
}
