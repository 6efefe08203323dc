// The participant-facing texts of this experiment (its language and overrides), served
// by the host at /x/<experiment>/texts.js; `t(key, {name: value})` fills placeholders.

let texts = {};
let checks = {};

/** Loads the experiment's texts, and which checks its page runs (`screening`). */
export async function loadTexts(experiment) {
  try {
    const module = await import(`/x/${encodeURIComponent(experiment)}/texts.js`);
    texts = module.default;
    checks = module.checks ?? {};
  } catch (e) {
    console.error("texts not loaded", e);
  }
}

/** Texts in other words for this participant's condition (`welcome.texts`). */
export function addTexts(more) {
  if (more && typeof more === "object") texts = { ...texts, ...more };
}

export function pageChecks() {
  return checks;
}

export function t(key, vars = {}) {
  let text = texts[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}
