import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Body, ACKV_NONE, MessageType, bodyCapacity, decodeBody, encodeBody } from '../../electron/core/v1/body.js';
import { SESSION_BODY_LENGTH } from '../../electron/core/v1/session.js';

const bodyArb = fc.record({
  type: fc.integer({ min: 1, max: 255 }),
  msgId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  tsMs: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
  wantReceipt: fc.boolean(),
  finalPart: fc.boolean(),
  ackv: fc.option(
    fc.record({
      epochHash: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      highest: fc.integer({ min: 0, max: 0xffff }),
      bitmap: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    }),
    { nil: undefined },
  ),
  content: fc.uint8Array({ maxLength: bodyCapacity(SESSION_BODY_LENGTH) }),
});

describe('v1 common body', () => {
  it('has the registry of PROTOCOL-V1.md', () => {
    expect(MessageType).toMatchObject({ TEXT: 0x01, TEXT_PART: 0x02, RECEIPT: 0x03, SHARE: 0x0a, RESET: 0x0b, PING: 0x0c, KEM_CHUNK: 0x0e });
  });

  it('round-trips every body at the Session body size', () => {
    fc.assert(
      fc.property(bodyArb, (body: Body) => {
        const bytes = encodeBody(body, SESSION_BODY_LENGTH);
        expect(bytes.length).toBe(SESSION_BODY_LENGTH);
        expect(decodeBody(bytes)).toEqual(body);
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it('lays out type, msg_id, ts_ms u48, flags, ackv, length, content', () => {
    const body: Body = {
      type: MessageType.TEXT,
      msgId: new Uint8Array(16).fill(0xaa),
      tsMs: 0x0102_0304_0506,
      wantReceipt: true,
      finalPart: true,
      ackv: { epochHash: Uint8Array.of(1, 2, 3, 4), highest: ACKV_NONE, bitmap: new Uint8Array(16).fill(0x55) },
      content: Uint8Array.of(9, 8, 7),
    };
    const bytes = encodeBody(body, 100);
    expect(bytes[0]).toBe(1);
    expect([...bytes.subarray(17, 23)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(bytes[23]).toBe(0x07);
    expect([...bytes.subarray(24, 28)]).toEqual([1, 2, 3, 4]);
    expect([...bytes.subarray(28, 30)]).toEqual([0xff, 0xff]);
    expect([...bytes.subarray(46, 51)]).toEqual([0, 3, 9, 8, 7]);
    expect(bytes.subarray(51).every((b) => b === 0)).toBe(true);
  });

  it('refuses what does not fit and malformed fields of our own caller', () => {
    const base: Body = { type: 1, msgId: new Uint8Array(16), tsMs: 0, wantReceipt: false, finalPart: false, content: new Uint8Array(0) };
    expect(() => encodeBody({ ...base, content: new Uint8Array(bodyCapacity(SESSION_BODY_LENGTH) + 23) }, SESSION_BODY_LENGTH)).toThrow(RangeError);
    expect(() => encodeBody({ ...base, type: 0 }, 100)).toThrow(RangeError);
    expect(() => encodeBody({ ...base, msgId: new Uint8Array(15) }, 100)).toThrow(RangeError);
  });

  it('returns null for unknown flags, non-zero padding, type 0 and overlong lengths', () => {
    const good = encodeBody({ type: 1, msgId: new Uint8Array(16), tsMs: 5, wantReceipt: false, finalPart: false, content: Uint8Array.of(1) }, 64);
    expect(decodeBody(good)).not.toBeNull();
    const badFlags = good.slice();
    badFlags[23] = 0x80;
    expect(decodeBody(badFlags)).toBeNull();
    const badPad = good.slice();
    badPad[63] = 1;
    expect(decodeBody(badPad)).toBeNull();
    const zeroType = good.slice();
    zeroType[0] = 0;
    expect(decodeBody(zeroType)).toBeNull();
    const long = good.slice();
    long[24] = 0xff;
    expect(decodeBody(long)).toBeNull();
    expect(decodeBody(new Uint8Array(5))).toBeNull();
  });

  it('never throws on hostile bytes (fuzzed)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2100 }), (bytes) => {
        const body = decodeBody(bytes);
        if (body) expect(encodeBody(body, bytes.length)).toEqual(bytes); // what decodes is canonical
      }),
      { seed: 12, numRuns: 2000 },
    );
  });
});
