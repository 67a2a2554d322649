import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { leadingZeroBits, stampPrefix, type Stamp } from '../../shared/spam/stamp.js';
import { stampIsValid } from './stampCheck.js';

const NOW = Date.UTC(2026, 0, 1);

/** A stamp found the way the client's worker does: over `stampPrefix` and the counter. */
function mint(dropId: Uint8Array, body: Uint8Array, bits: number, time = NOW / 1000): Stamp {
  const nonce = new Uint8Array(randomBytes(16));
  const prefix = stampPrefix(dropId, time, createHash('sha256').update(body).digest(), nonce);
  const counter = new Uint8Array(8);
  for (let n = 0; ; n++) {
    new DataView(counter.buffer).setUint32(4, n);
    if (leadingZeroBits(createHash('sha256').update(prefix).update(counter).digest()) >= bits) return { time, nonce, counter };
  }
}

describe('stamp check', () => {
  const dropId = new Uint8Array(randomBytes(32));
  const body = new Uint8Array(randomBytes(2149));

  it('takes a stamp made over the shared layout, and only for its drop, its PDU and its bits', () => {
    for (let i = 0; i < 20; i++) {
      const stamp = mint(dropId, body, 8);
      expect(stampIsValid(dropId, body, stamp, 8, NOW)).toBe(true);
      const bits = leadingZeroBits(createHash('sha256').update(stampPrefix(dropId, stamp.time, createHash('sha256').update(body).digest(), stamp.nonce)).update(stamp.counter).digest());
      expect(stampIsValid(dropId, body, stamp, bits + 1, NOW)).toBe(false);
    }
    const stamp = mint(dropId, body, 12);
    const otherBody = Uint8Array.from(body, (b, i) => (i === 100 ? b ^ 1 : b));
    const otherDrop = Uint8Array.from(dropId, (b, i) => (i === 31 ? b ^ 1 : b));
    // 12 bits: a stamp holds for another drop or PDU with probability 2^-12 at most.
    expect(stampIsValid(dropId, otherBody, stamp, 12, NOW)).toBe(false);
    expect(stampIsValid(otherDrop, body, stamp, 12, NOW)).toBe(false);
    expect(stampIsValid(dropId, body, { ...stamp, nonce: stamp.nonce.map((b, i) => (i === 0 ? b ^ 1 : b)) }, 12, NOW)).toBe(false);
  });

  it('holds within 300 s of the server clock and not beyond', () => {
    const stamp = mint(dropId, body, 4);
    expect(stampIsValid(dropId, body, stamp, 4, NOW + 300_000)).toBe(true);
    expect(stampIsValid(dropId, body, stamp, 4, NOW - 300_000)).toBe(true);
    expect(stampIsValid(dropId, body, stamp, 4, NOW + 301_000)).toBe(false);
    expect(stampIsValid(dropId, body, stamp, 4, NOW - 301_000)).toBe(false);
  });
});
