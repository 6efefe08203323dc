// Renders each scene kind with native, keyboard-usable controls. Researcher-written
// bodies arrive as HTML from the host (rendered from the experiment file); everything
// else is inserted as text, in the experiment's words (i18n.js).

import { t } from "./i18n.js";
import { holds } from "./rules.js";

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
  app.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
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
  const legendId = `${name}-legend`;
  const legend = h("legend", { id: legendId, class: q.required ? "required" : "" }, q.prompt);
  const error = errorLine(`${name}-error`);
  const described = { "aria-describedby": error.id };
  let input;
  let read;
  if (q.kind === "text") {
    input = q.multiline
      ? h("textarea", { name, id: name, maxlength: q.max_length, "aria-labelledby": legendId, ...described })
      : h("input", { type: "text", name, id: name, maxlength: q.max_length, "aria-labelledby": legendId, ...described });
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
      h("div", { class: "likert", role: "radiogroup", "aria-labelledby": legendId }, Array.from({ length: q.points }, (_, i) =>
        h("label", {}, h("input", { type: "radio", name, value: String(i + 1) }), labels[i] || String(i + 1)))),
      labels.length ? null : h("div", { class: "likert-ends" }, h("span", {}, q.low_label || ""), h("span", {}, q.high_label || "")));
    read = () => {
      const checked = input.querySelector("input:checked");
      return checked ? Number(checked.value) : "";
    };
  } else if (q.kind === "number") {
    const step = q.decimals > 0 ? String(10 ** -q.decimals) : "1";
    const field = h("input", {
      type: "number", name, id: name, step, min: q.min, max: q.max, class: "number",
      inputmode: q.decimals > 0 ? "decimal" : "numeric", "aria-labelledby": legendId, ...described,
    });
    input = h("div", { class: "number-row" }, field, q.unit ? h("span", { class: "unit" }, q.unit) : null);
    read = () => (field.value.trim() === "" ? (field.validity.badInput ? NaN : "") : Number(field.value));
  } else if (q.kind === "slider") {
    // No handle until moved (unless `start`): the first position must not anchor the answer.
    const moved = q.start !== undefined && q.start !== null;
    const range = h("input", {
      type: "range", name, id: name, min: q.min, max: q.max, step: q.step,
      class: moved ? "slider" : "slider unmoved", "aria-labelledby": legendId, ...described,
    });
    range.value = String(moved ? q.start : q.min);
    const shown = h("output", { for: name, class: "slider-value", "aria-live": "polite" }, "");
    const touch = () => {
      range.classList.remove("unmoved");
      shown.textContent = t("survey.slider_value", { value: range.value });
    };
    if (moved) touch();
    range.addEventListener("input", touch);
    range.addEventListener("pointerdown", () => { range.classList.remove("unmoved"); });
    input = h("div", { class: "slider-box" }, range,
      h("div", { class: "likert-ends" }, h("span", {}, q.low_label || String(q.min)), h("span", {}, q.high_label || String(q.max))),
      shown);
    read = () => (range.classList.contains("unmoved") ? "" : Number(range.value));
  } else if (q.kind === "dropdown") {
    input = h("select", { name, id: name, "aria-labelledby": legendId, ...described },
      h("option", { value: "" }, t("survey.choose")),
      q.options.map((option) => h("option", { value: option }, option)));
    read = () => input.value;
  } else if (q.kind === "matrix") {
    const labels = q.labels || Array.from({ length: q.points }, (_, i) => String(i + 1));
    const head = h("tr", {}, h("td", {}), labels.map((label) => h("th", { scope: "col" }, label)));
    const rows = q.items.map((item) => h("tr", { role: "radiogroup", "aria-label": item.text },
      h("th", { scope: "row", class: "item" }, item.text),
      labels.map((label, i) => h("td", {}, h("input", {
        type: "radio", name: `${name}-${item.id}`, value: String(i + 1), "data-item": item.id,
        "aria-label": `${item.text}: ${label}`,
      })))));
    const ends = q.labels ? null
      : h("div", { class: "likert-ends" }, h("span", {}, q.low_label || ""), h("span", {}, q.high_label || ""));
    input = h("div", { class: "matrix-box" }, h("table", { class: "matrix" }, h("thead", {}, head), h("tbody", {}, rows)), ends);
    read = () => {
      const out = {};
      for (const el of input.querySelectorAll("input:checked")) out[el.dataset.item] = Number(el.value);
      return out;
    };
  } else if (q.kind === "rank") {
    const list = h("ol", { class: "rank" });
    const move = (li, by) => {
      const items = [...list.children];
      const at = items.indexOf(li);
      const to = at + by;
      if (to < 0 || to >= items.length) return;
      if (by < 0) list.insertBefore(li, items[to]); else list.insertBefore(li, items[to].nextSibling);
      li.querySelector(by < 0 ? ".up" : ".down")?.focus();
    };
    for (const option of q.options) {
      const li = h("li", { "data-option": option }, h("span", { class: "rank-option" }, option));
      li.append(
        h("button", { type: "button", class: "secondary up", "aria-label": `${t("survey.move_up")}: ${option}`, onclick: () => move(li, -1) }, "↑"),
        h("button", { type: "button", class: "secondary down", "aria-label": `${t("survey.move_down")}: ${option}`, onclick: () => move(li, 1) }, "↓"));
      list.append(li);
    }
    input = list;
    read = () => [...list.children].map((li) => li.dataset.option);
  }
  const parts = [legend, input, error];
  if (q.wrong !== undefined && q.wrong !== null) {
    parts.splice(1, 0, h("p", { class: "wrong", id: `${name}-wrong` }, q.wrong || t("survey.wrong")));
  }
  const element = h("fieldset", { "data-question": q.id, class: q.wrong !== undefined ? "was-wrong" : "" }, ...parts);
  return { q, error, read, element };
}

function isEmpty(value) {
  return value === "" || (Array.isArray(value) && value.length === 0) || (typeof value === "string" && value.trim() === "")
    || (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0);
}

function decimalsOf(x) {
  const text = String(x);
  return text.includes(".") ? text.split(".")[1].length : 0;
}

/** Client-side check mirroring the host's (the host's is the one that counts). */
function check(q, value) {
  if (typeof value === "number" && Number.isNaN(value)) return t("survey.number");
  if (isEmpty(value)) {
    if (!q.required) return null;
    return q.kind === "slider" ? t("survey.slider_unmoved") : t("survey.required");
  }
  if (q.kind === "text" && value.length > q.max_length) return t("survey.max_length", { n: q.max_length });
  if (q.kind === "multiple_choice") {
    if (value.length < q.min_selected) return t("survey.min_selected", { n: q.min_selected });
    if (q.max_selected && value.length > q.max_selected) return t("survey.max_selected", { n: q.max_selected });
  }
  if (q.kind === "number") {
    if (q.decimals === 0 && !Number.isInteger(value)) return t("survey.whole_number");
    if (decimalsOf(value) > q.decimals) return t("survey.decimals", { n: q.decimals });
    if (q.min !== undefined && value < q.min) return t("survey.at_least", { n: q.min });
    if (q.max !== undefined && value > q.max) return t("survey.at_most", { n: q.max });
  }
  if (q.kind === "matrix" && q.required && Object.keys(value).length < q.items.length) return t("survey.rate_every_item");
  return null;
}

function survey(app, scene, connection) {
  const fields = scene.questions.map(questionField);
  const error = errorLine("survey-error");
  const button = h("button", { type: "submit" }, scene.button);
  // Display logic within the page: a question's rule over the answers above it; a
  // hidden question's answer counts as missing and is not sent.
  const shown = new Set();
  const valueOf = (ref) => {
    const [kind, rest] = ref.split(":");
    const [sceneId, question, item] = rest.split(".");
    if (kind !== "answer" || sceneId !== scene.id || !shown.has(question)) return undefined;
    const field = fields.find((f) => f.q.id === question);
    const value = field ? field.read() : undefined;
    if (isEmpty(value)) return undefined;
    return item === undefined ? value : value[item]; // a matrix item's point
  };
  const update = () => {
    shown.clear();
    for (const f of fields) {
      const visible = !f.q.show_if || holds(f.q.show_if, valueOf);
      f.element.hidden = !visible;
      if (visible) shown.add(f.q.id);
    }
  };
  const form = h("form", {
    novalidate: true,
    oninput: update,
    onchange: update,
    onclick: update,
    onsubmit: (e) => {
      e.preventDefault();
      update();
      const answers = {};
      let firstBad = null;
      for (const f of fields) {
        if (!shown.has(f.q.id)) {
          setError(f.error, null);
          continue;
        }
        const value = f.read();
        const problem = check(f.q, value);
        setError(f.error, problem);
        if (problem && !firstBad) firstBad = f;
        if (!isEmpty(value) && !(typeof value === "number" && Number.isNaN(value))) answers[f.q.id] = value;
      }
      if (firstBad) {
        setError(error, t("survey.attention"));
        firstBad.element.querySelector("input, textarea, select, button")?.focus();
        return;
      }
      send(connection, { type: "submit", scene: scene.id, answers, iteration: scene.iteration }, button, error).catch((err) => {
        const reply = err.reply;
        if (!reply || !reply.fields) return;
        for (const f of fields) setError(f.error, reply.fields[f.q.id]);
      });
    },
  }, fields.map((f) => f.element), button, error);
  update();
  const top = scene.try_again ? h("p", { class: "try-again", role: "alert", id: "try-again" }, scene.try_again) : null;
  show(app, h("h1", {}, scene.title || t("survey.heading")), top, form);
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
