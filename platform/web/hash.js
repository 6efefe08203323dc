// The default state hash of a game, computed by every copy of it (the players' pages
// and the host's replay, which runs this same file): FNV-1a (32-bit) over the state's
// JSON text, as 8 hex digits. A game may export its own `hash(state)` instead.

export function hashState(state) {
  const text = JSON.stringify(state) ?? "undefined";
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}
