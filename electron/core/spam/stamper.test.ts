import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { fromBase64Url } from '../../../shared/protocol/encoding.js';
import { leadingZeroBits, parseStampHeader, stampPrefix } from '../../../shared/spam/stamp.js';
import { createStamper } from './stamper.js';

const DROP_ID = 'A'.repeat(42) + 'E';
const DROP_URL = `http://127.0.0.1:1/${DROP_ID}`;
const pdu = new Uint8Array(2149).fill(7);

describe('stamper', () => {
  const stamper = createStamper({ workers: 2 });
  afterAll(() => stamper.close());

  it('finds a stamp whose hash over the drop, the PDU and the time has the asked bits', async () => {
    const header = await stamper.stampFor(DROP_URL, pdu, 12);
    const stamp = parseStampHeader(header)!;
    expect(Math.abs(stamp.time - Date.now() / 1000)).toBeLessThan(5);
    const pduHash = createHash('sha256').update(pdu).digest();
    const hash = createHash('sha256').update(stampPrefix(fromBase64Url(DROP_ID), stamp.time, pduHash, stamp.nonce)).update(stamp.counter).digest();
    expect(leadingZeroBits(hash)).toBeGreaterThanOrEqual(12);
  });

  it('reports progress as hashes tried against the expected 2^bits, and stops when aborted', async () => {
    const controller = new AbortController();
    const reports: { hashes: number; expected: number }[] = [];
    const searching = stamper.stampFor(DROP_URL, pdu, 36, (p) => {
      reports.push(p);
      if (reports.length === 3) controller.abort();
    }, controller.signal);
    await expect(searching).rejects.toMatchObject({ name: 'AbortError' });
    expect(reports.length).toBeGreaterThanOrEqual(3);
    expect(reports[0]!.expected).toBe(2 ** 36);
    expect(reports[2]!.hashes).toBeGreaterThan(reports[0]!.hashes);
    // The workers are free again at once.
    expect(parseStampHeader(await stamper.stampFor(DROP_URL, pdu, 4))).not.toBeNull();
  });
});
