import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { type CryptoPool, createCryptoPool } from '../../electron/core/crypto/cryptoPool.js';
import { generateNativeKeyPair } from '../../electron/core/keystore/nativeKeyPair.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';

const pools: CryptoPool[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function batch(count: number, everyNth: number) {
  const me = generateNativeKeyPair();
  const other = generateNativeKeyPair();
  const sender = generateNativeKeyPair();
  const pdus: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const payload = new Uint8Array(PAYLOAD_LENGTH);
    payload[0] = i & 0xff;
    pdus.push(await nativeBox.sealPdu(sender, i % everyNth === 0 ? me.publicKey : other.publicKey, payload));
  }
  return { me, sender, pdus };
}

describe('crypto worker pool', () => {
  it('seals in a worker and trial-opens a batch in order across workers', async () => {
    const pool = await createCryptoPool({ size: 2 });
    pools.push(pool);
    const { me, sender, pdus } = await batch(300, 10);
    const sealed = await pool.seal(sender, me.publicKey, new Uint8Array(PAYLOAD_LENGTH).fill(7));
    expect((await nativeBox.openPdu(me, sealed))!.payload[5]).toBe(7);
    const hits = await pool.trialOpen([generateNativeKeyPair(), me], pdus);
    const found = hits.flatMap((hit, i) => (hit ? [i] : []));
    expect(found).toEqual(Array.from({ length: 30 }, (_, k) => k * 10));
    expect(hits[20]!.identityIndex).toBe(1);
    expect(hits[20]!.opened.payload[0]).toBe(20);
  });

  it('replaces a worker that dies mid-batch and retries the batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deaddrop-pool-'));
    dirs.push(dir);
    const crashMarker = join(dir, 'crashed');
    const pool = await createCryptoPool({
      size: 1,
      workerEntry: new URL('./fixtures/crashOnceWorker.ts', import.meta.url),
      workerData: { crashMarker },
    });
    pools.push(pool);
    const { me, pdus } = await batch(40, 4);
    const hits = await pool.trialOpen([me], pdus);
    expect(existsSync(crashMarker)).toBe(true);
    expect(hits.filter(Boolean)).toHaveLength(10);
  });

  it('gives up on a batch that kills every worker it is tried in, and keeps serving other work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deaddrop-pool-'));
    dirs.push(dir);
    const pool = await createCryptoPool({
      size: 1,
      maxAttempts: 2,
      workerEntry: new URL('./fixtures/crashOnceWorker.ts', import.meta.url),
      workerData: { crashMarker: join(dir, 'crashed'), crashAlways: true },
    });
    pools.push(pool);
    const { me, sender, pdus } = await batch(8, 4);
    await expect(pool.trialOpen([me], pdus)).rejects.toThrow(/kept failing/);
    const sealed = await pool.seal(sender, me.publicKey, new Uint8Array(PAYLOAD_LENGTH).fill(9));
    expect((await nativeBox.openPdu(me, sealed))!.payload[0]).toBe(9);
  });

  it('rejects work after close', async () => {
    const pool = await createCryptoPool({ size: 1 });
    await pool.close();
    const me = generateNativeKeyPair();
    await expect(pool.seal(me, me.publicKey, new Uint8Array(PAYLOAD_LENGTH))).rejects.toThrow(/closed/);
  });
});
