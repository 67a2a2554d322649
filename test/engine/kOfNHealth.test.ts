import { describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH, ServerHealthBook, distinctServers } from '../../electron/core/outbox/health.js';
import type { ServerHealth } from '../../electron/core/state/stateSchema.js';

const A = 'http://a.example:8080/AAAA';
const B = 'http://b.example/BBBB';
const C = 'https://c.example/CCCC';

function book() {
  let now = 1_000_000;
  const entries: Record<string, ServerHealth> = {};
  const health = new ServerHealthBook(
    {
      serverHealth: () => structuredClone(entries),
      setServerHealth: async (origin, entry) => void (entries[origin] = entry),
    },
    () => now,
  );
  return { health, entries, advance: (ms: number) => (now += ms) };
}

describe('server health scores', () => {
  it('keeps the recipient order while nothing is known', () => {
    expect(book().health.rank([A, B, C])).toEqual([A, B, C]);
  });

  it('ranks a failing server last, and a recovered one back once its failures have decayed', () => {
    const { health, advance } = book();
    for (let i = 0; i < 3; i++) health.record(A, false, 5000);
    health.record(B, true, 40);
    health.record(C, true, 40);
    expect(health.rank([A, B, C])).toEqual([B, C, A]);
    expect(health.score('http://a.example:8080')).toBeLessThan(0.3);
    // Four half-lives later the failures count for a sixteenth of what they did.
    advance(4 * DEFAULT_HEALTH.halfLifeMs);
    expect(Math.abs(health.score('http://a.example:8080') - DEFAULT_HEALTH.neutral)).toBeLessThan(0.03);
    // The next message is the try (no probe): A answers again and climbs back above neutral.
    health.record(A, true, 20);
    health.record(A, true, 20);
    advance(1000);
    expect(health.rank([B, C, A])[0]).toBe(A);
  });

  it('goes back to the recipient order once all evidence has faded', () => {
    const { health, advance } = book();
    health.record(A, false, 0);
    health.record(B, true, 900);
    health.record(C, true, 30);
    expect(health.rank([A, B, C])).toEqual([C, B, A]);
    advance(12 * DEFAULT_HEALTH.halfLifeMs);
    expect(health.rank([A, B, C])).toEqual([A, B, C]);
  });

  it('prefers the faster of two servers that both answer', () => {
    const { health } = book();
    for (let i = 0; i < 5; i++) {
      health.record(A, true, 4000);
      health.record(B, true, 50);
    }
    expect(health.rank([A, B])).toEqual([B, A]);
  });

  it('keeps the state small and within bounds', () => {
    const { health, entries } = book();
    health.record(A, true, 1e9);
    health.record(A, false, 0);
    const entry = entries['http://a.example:8080']!;
    expect(entry.score).toBeGreaterThanOrEqual(0);
    expect(entry.score).toBeLessThanOrEqual(1);
  });
});

describe('distinct servers', () => {
  it('keeps one drop per origin (scheme, host, port), in order', () => {
    const same = 'http://a.example:8080/other';
    const otherPort = 'http://a.example:9090/AAAA';
    expect(distinctServers([A, same, otherPort, B, 'not a url', 'not a url'])).toEqual([A, otherPort, B, 'not a url']);
  });
});
