// Node module hook: "cohort:matchmaker/host@0.1.0" resolves to fake-host.mjs in tests.
export async function resolve(specifier, context, next) {
  if (specifier.startsWith("cohort:matchmaker/host")) {
    return { url: new URL("./fake-host.mjs", import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
