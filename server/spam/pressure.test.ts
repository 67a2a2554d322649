import { describe, expect, it } from 'vitest';
import { createPressureGauge } from './pressure.js';

const settings = { quotaBytes: 1000, powBits: 18, powAbovePercent: 50, powLoadPercent: 10, ticketlessCeilingPercent: 90, dropTicketlessPerHour: 3 };
const T0 = Date.UTC(2026, 0, 1);

describe('pressure gauge', () => {
  it('asks for no stamp below half the quota without load, the base bits above it, two more above three quarters', () => {
    const gauge = createPressureGauge(settings);
    expect(gauge.requiredBits(500, T0)).toBeNull();
    expect(gauge.requiredBits(501, T0)).toBe(18);
    expect(gauge.requiredBits(750, T0)).toBe(20);
    expect(gauge.refusesTicketless(899)).toBe(false);
    expect(gauge.refusesTicketless(900)).toBe(true);
  });

  it('counts ticketless bytes of the last 10 minutes as load', () => {
    const gauge = createPressureGauge(settings);
    gauge.accepted(101, T0);
    expect(gauge.requiredBits(0, T0)).toBe(18);
    gauge.accepted(100, T0 + 60_000);
    expect(gauge.requiredBits(0, T0 + 60_000)).toBe(20);
    expect(gauge.recentBytes(T0 + 599_999)).toBe(201);
    expect(gauge.recentBytes(T0 + 600_000)).toBe(100);
    expect(gauge.requiredBits(0, T0 + 11 * 60_000)).toBeNull();
  });

  it("gives each drop its hourly share of ticketless POSTs, refilled over the hour", () => {
    const gauge = createPressureGauge(settings);
    for (let i = 0; i < 3; i++) expect(gauge.takeDropToken('a', T0)).toBe(true);
    expect(gauge.takeDropToken('a', T0)).toBe(false);
    expect(gauge.takeDropToken('b', T0)).toBe(true);
    expect(gauge.takeDropToken('a', T0 + 1_200_000)).toBe(true);
    expect(gauge.takeDropToken('a', T0 + 1_200_000)).toBe(false);
  });
});
