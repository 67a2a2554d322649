/**
 * The collector of one poll: chunks are trial-opened while reading goes on (a bounded number at
 * once), taken in order, and a batch that fills up says from which PDU on it dropped ours.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { PDU_LENGTH, PDU_VERSION_0 } from '../../shared/protocol/boxTypes.js';
import { toHex } from '../../shared/protocol/encoding.js';
import { type CryptoPool, createCryptoPool } from '../../electron/core/crypto/cryptoPool.js';
import { BatchCollector, type BatchCollectorInput } from '../../electron/core/inbox/batchOpener.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { craftPdu } from './helpers/craft.js';

const me = { id: 'me', pair: generateNativeKeyPair() };
const sender = generateNativeKeyPair();
let pool: CryptoPool;
beforeAll(async () => {
  pool = await createCryptoPool({ size: 2 });
});
afterAll(() => pool.close());

function noise(): Uint8Array {
  const pdu = new Uint8Array(randomBytes(PDU_LENGTH));
  pdu[0] = PDU_VERSION_0;
  return pdu;
}

/** `total` PDUs, ours (numbered texts) at `ourPositions`, noise elsewhere. */
async function drop(total: number, ourPositions: readonly number[]): Promise<Uint8Array[]> {
  const pdus: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    pdus.push(ourPositions.includes(i) ? await craftPdu({ from: sender, to: toHex(me.pair.publicKey), text: `ours at ${i}` }) : noise());
  }
  return pdus;
}

/** The pool, counting how many trialOpen calls run at once. */
function countingPool(inner: CryptoPool) {
  const counts = { running: 0, most: 0 };
  const counted: CryptoPool = {
    ...inner,
    async trialOpen(identities, pdus) {
      counts.most = Math.max(counts.most, ++counts.running);
      try {
        return await inner.trialOpen(identities, pdus);
      } finally {
        counts.running--;
      }
    },
  };
  return { counted, counts };
}

const input = (over: Partial<BatchCollectorInput>): BatchCollectorInput => ({
  dropUrl: 'http://127.0.0.1:9/drops/x',
  identities: [me],
  seen: new Set(),
  pool,
  now: 1,
  chunkSize: 64,
  chunksInFlight: 2,
  maxKept: 1000,
  ...over,
});

/** Feeds the PDUs the way the drop client does: waiting whenever `add` asks it to. */
async function feed(collector: BatchCollector, pdus: readonly Uint8Array[]): Promise<void> {
  for (const pdu of pdus) {
    const wait = collector.add(pdu);
    if (wait) await wait;
  }
}

describe('batch collector', () => {
  it('opens chunks while reading goes on, never more than chunksInFlight at once, and keeps the order', async () => {
    const positions = [3, 70, 71, 200, 399, 500, 640];
    const pdus = await drop(700, positions);
    const { counted, counts } = countingPool(pool);
    const collector = new BatchCollector(input({ pool: counted }));
    await feed(collector, pdus);
    const batch = await collector.finish();
    expect(batch.messages.map((m) => m.text)).toEqual(positions.map((i) => `ours at ${i}`));
    expect(counts.most).toBe(2);
    expect(collector.firstDropped).toBe(Infinity);
    expect(collector.added).toBe(700);
  });

  it('stops taking ours when full, and says from which PDU on the rest must be read again', async () => {
    const positions = [1, 5, 9, 13, 17, 21, 25, 29];
    const pdus = await drop(40, positions);
    const collector = new BatchCollector(input({ chunkSize: 4, chunksInFlight: 3, maxKept: 3 }));
    await feed(collector, pdus);
    const batch = await collector.finish();
    expect(batch.messages.map((m) => m.text)).toEqual(['ours at 1', 'ours at 5', 'ours at 9']);
    // Everything before it was taken; ours from the fourth on were not.
    expect(collector.firstDropped).toBeGreaterThan(9);
    expect(collector.firstDropped).toBeLessThanOrEqual(13);
  });

  it('fails the poll when a chunk cannot be opened', async () => {
    const failing: CryptoPool = { ...pool, trialOpen: () => Promise.reject(new Error('The crypto workers cannot start.')) };
    const collector = new BatchCollector(input({ pool: failing, chunkSize: 4, chunksInFlight: 1 }));
    await expect(feed(collector, await drop(20, []))).rejects.toThrow('cannot start');
    await expect(collector.finish()).rejects.toThrow('cannot start');
  });
});
