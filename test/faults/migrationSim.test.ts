/**
 * Drop migration under the simulator (PROTOCOL-V1.md 2d "Migration test"): the hub, with a single drop,
 * moves to a new drop on day 3 and tells her contacts with one update; contacts leave the day before
 * for 0 to 40 days and, coming back, first post what they wrote while away (to the drop they knew),
 * then read. Every contact back before the old drop retires (30 days after the move) must lose
 * nothing; one back later loses what it posted before hearing of the move. In version 0 and in version 1
 * (sessions: a contact who missed the update learns the new drop from the next Session PDU, whose
 * header carries the hub's drops epoch).
 */
import { describe, expect, it } from 'vitest';
import { CLEAN } from './profiles.js';
import { formatContacts } from './report.js';
import { DAY_MS, HOUR_MS, runSimulation } from './simulator.js';

const MOVE_DAY = 3;
const ABSENCES = [0, 10, 20, 25, 29, 35, 40];

describe('migration with contacts away for 0-40 days', () => {
  it.each([
    { protocol: 'version 0', v1: false },
    { protocol: 'version 1', v1: true },
  ])('$protocol: loses nothing of contacts back before the old drop retires', { timeout: 200_000 }, async ({ v1 }) => {
    const { report, messages } = await runSimulation({
      seed: 1515,
      protocolV1: v1,
      contacts: ABSENCES.length,
      days: MOVE_DAY + 43,
      sendDays: MOVE_DAY + 43,
      stepMs: 2 * HOUR_MS,
      messagesPerDay: 0.5,
      session: { onlineMs: [2 * HOUR_MS, 8 * HOUR_MS], offlineMs: [4 * HOUR_MS, 20 * HOUR_MS] },
      plans: ABSENCES.map((days) => ({ awayAt: (MOVE_DAY - 1) * DAY_MS, awayMs: Math.max(1, days) * DAY_MS, writesOnReturn: true })),
      faults: CLEAN,
      migrateAt: MOVE_DAY * DAY_MS,
      hubDrops: 1,
    });
    const absences = new Map(ABSENCES.map((days, i) => [`c${i + 1}`, `${days} d`]));
    console.log(formatContacts(report, absences));
    expect(report.duplicatesShown).toBe(0);
    // Version 1 really runs in sessions: after the first exchanges nearly everything is a v1 PDU.
    const shown = messages.filter((m) => m.shownAt !== null);
    const inV1 = shown.filter((m) => m.protocol === 1).length;
    console.log(`shown ${shown.length}, of them in version 1: ${inV1}`);
    if (v1) expect(inV1 / shown.length).toBeGreaterThan(0.7);
    else expect(inV1).toBe(0);
    for (const [i, days] of ABSENCES.entries()) {
      const line = report.perContact.find((c) => c.contact === `c${i + 1}`)!;
      // Away from the day before the move: back before the retire date (move + 30 days), nothing is
      // lost; back later, exactly what it posted before reading (to the retired drop) is.
      expect(line.lost, `c${i + 1} away ${days} d`).toBe(days - 1 < 30 ? 0 : 1);
    }
    // The update reached every contact back while re-posting (30 days) still ran.
    for (const [i, days] of ABSENCES.entries()) if (days - 1 < 28) expect(report.perContact.find((c) => c.contact === `c${i + 1}`)!.updateShownAt, `c${i + 1}`).not.toBeNull();
  });
});
