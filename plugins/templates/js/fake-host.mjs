// A stand-in for cohort's host interface, for `node test.mjs`: the waitroom of one
// decision (index 0 = waited longest) and the lines logged.
export const state = { waiting: [], lines: [] };
export const waitingCount = () => state.waiting.length;
export const waitingGet = (i) => state.waiting[i];
export const waitingIds = () => state.waiting.map((p) => p.id);
export const log = (line) => state.lines.push(line);
