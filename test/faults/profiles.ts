/** The fault profiles the test and the bench run (FaultProxy modes per server, and outages). */
import type { FaultProfile } from './simulator.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export const CLEAN: FaultProfile = { name: 'no faults', modes: [] };

/** One server of three answers 200 to 10 % of POSTs and forgets them. */
export const LOSSY: FaultProfile = { name: 'lossy server (10 %)', modes: [{}, { lossyP: 0.1 }, {}] };

/** Every server: resets, lost answers, 503s, duplicated and reordered POSTs, delays. */
export const FLAKY: FaultProfile = {
  name: 'flaky (5 % each)',
  modes: Array.from({ length: 3 }, () => ({ resetP: 0.05, lostAnswerP: 0.05, errorP: 0.05, duplicateP: 0.05, reorderP: 0.2, reorderMaxMs: 50, delayMs: [0, 20] as const })),
};

/** Every server goes down about once a day, for 10 minutes to 6 hours. */
export const OUTAGES: FaultProfile = { name: 'outages (1/day/server, 10 min-6 h)', modes: [], outages: { perDay: 1, durationMs: [10 * MINUTE_MS, 6 * HOUR_MS] } };

/** All of it at once. */
export const ALL: FaultProfile = {
  name: 'all of the above',
  modes: FLAKY.modes.map((mode, i) => ({ ...mode, ...(i === 1 ? { lossyP: 0.1 } : {}) })),
  outages: OUTAGES.outages,
};
