// The participant-facing texts of this experiment (its language and overrides), served
// by the host at /x/<experiment>/texts.js; `t(key, {name: value})` fills placeholders.

let texts = {};

export async function loadTexts(experiment) {
  try {
    texts = (await import(`/x/${encodeURIComponent(experiment)}/texts.js`)).default;
  } catch (e) {
    console.error("texts not loaded", e);
  }
}

export function t(key, vars = {}) {
  let text = texts[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}
