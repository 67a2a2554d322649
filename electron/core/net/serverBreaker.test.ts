import { describe, expect, it } from 'vitest';
import { ServerBreakers } from './serverBreaker.js';

describe('ServerBreakers', () => {
  it('opens after repeated timeouts, probes once when the time is up, and closes on an answer', () => {
    let now = 0;
    const breakers = new ServerBreakers({ timeoutsToOpen: 3, openMs: 1000, maxOpenMs: 3000 }, () => now);
    for (let i = 0; i < 2; i++) {
      expect(breakers.admit('h')).toEqual({ ok: true, probe: false });
      breakers.record('h', 'timeout', false);
    }
    expect(breakers.admit('h')).toEqual({ ok: true, probe: false });
    breakers.record('h', 'timeout', false);
    expect(breakers.admit('h')).toEqual({ ok: false, retryInMs: 1000 });
    expect(breakers.blockedFor('h')).toBe(1000);
    expect(breakers.admit('other')).toEqual({ ok: true, probe: false });
    expect(breakers.blockedFor('other')).toBe(0);
    expect(breakers.openServers()).toEqual(['h']);
    now = 1000;
    expect(breakers.blockedFor('h')).toBe(0);
    expect(breakers.admit('h')).toEqual({ ok: true, probe: true });
    expect(breakers.admit('h').ok).toBe(false);
    expect(breakers.blockedFor('h')).toBe(1000);
    // The probe stalls too: open again, for twice as long, up to the maximum.
    breakers.record('h', 'timeout', true);
    expect(breakers.admit('h')).toEqual({ ok: false, retryInMs: 2000 });
    now = 3000;
    expect(breakers.admit('h').ok).toBe(true);
    breakers.record('h', 'timeout', true);
    expect(breakers.admit('h')).toEqual({ ok: false, retryInMs: 3000 });
    now = 6000;
    expect(breakers.admit('h')).toEqual({ ok: true, probe: true });
    breakers.record('h', 'answered', true);
    expect(breakers.admit('h')).toEqual({ ok: true, probe: false });
    expect(breakers.openServers()).toEqual([]);
  });

  it('counts only timeouts in a row, and ignores late answers while open', () => {
    let now = 0;
    const breakers = new ServerBreakers({ timeoutsToOpen: 2, openMs: 1000, maxOpenMs: 1000 }, () => now);
    breakers.record('h', 'timeout', false);
    breakers.record('h', 'answered', false);
    breakers.record('h', 'timeout', false);
    expect(breakers.admit('h').ok).toBe(true);
    breakers.record('h', 'timeout', false);
    expect(breakers.admit('h').ok).toBe(false);
    breakers.record('h', 'answered', false);
    expect(breakers.admit('h').ok).toBe(false);
    now = 1000;
    expect(breakers.admit('h')).toEqual({ ok: true, probe: true });
  });
});
