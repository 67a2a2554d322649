/**
 * Issue 17's proof (PROTOCOL-V1.md 5d) at a size for the test suite: three fixed seeds of the device
 * simulator (simulator.ts: Alice on three linked devices, Bob, Carol, Dave on two, real engines and
 * clean drop servers (behind faulty proxies a run is not reproducible and not yet always consistent:
 * see the README), the renderer's own sync code as each UI, random online schedules, crashes, one of
 * Alice's devices away 40 days, an attacker's device announced to her contacts and removed once an
 * alarm names it). Every invariant of invariants.ts must hold in every run, except the findings named
 * in KNOWN_FINDINGS (invariants.ts), which must be exactly what they say; the report is printed. The larger run with
 * the numbers of 5d is `npm run bench:devices`.
 */
import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, type DeviceSimOptions, runDeviceSim } from './simulator.js';
import { checkRun, formatReport, isKnownFinding } from './invariants.js';

const TEST_RUN: Omit<DeviceSimOptions, 'seed'> = {
  days: 45,
  quietDays: 2,
  stepMs: 12 * HOUR_MS,
  messagesPerDay: 0.7,
  session: { onlineMs: [6 * HOUR_MS, 30 * HOUR_MS], offlineMs: [6 * HOUR_MS, 48 * HOUR_MS] },
  awayAt: 2 * DAY_MS,
  awayMs: 40 * DAY_MS,
  crashesPerDay: 0.15,
  attackAt: 4 * DAY_MS,
};

describe('three devices of one identity, three contacts (one on two devices), 45 simulated days', () => {
  it.each([20261130, 17, 4242])('seed %i: conversations identical, lists converge, removal holds, no chain position twice, the injected device detected', { timeout: 900_000 }, async (seed) => {
    const record = await runDeviceSim({ ...TEST_RUN, seed });
    const report = checkRun(record);
    console.log(formatReport(report));
    // The run proves something: texts were written, devices crashed, a3 came back and asked, Alice's
    // devices ran after the attack (each must detect it: a violation otherwise), sessions sealed PDUs.
    expect(report.figures.written).toBeGreaterThan(50);
    expect(report.figures.crashes).toBeGreaterThan(0);
    expect(report.figures.history.catchUps).toBeGreaterThan(0);
    expect(report.figures.history.writtenWhileAway).toBeGreaterThan(10);
    expect(report.figures.detections.length).toBeGreaterThan(0);
    expect(report.figures.sessionPdus).toBeGreaterThan(0);
    expect(report.violations.filter((v) => !isKnownFinding(v)), formatReport(report)).toEqual([]);
  });
});
