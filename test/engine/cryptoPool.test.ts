import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { DEFAULT_PASSPHRASE_LIMITS, TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { type CryptoPool, createCryptoPool } from '../../electron/core/crypto/cryptoPool.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
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
      workerEntry: new URL('./fixtures/faultyWorker.ts', import.meta.url),
      workerData: { marker: crashMarker, fault: 'crash' },
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
      workerEntry: new URL('./fixtures/faultyWorker.ts', import.meta.url),
      workerData: { marker: join(dir, 'crashed'), always: true, fault: 'crash' },
    });
    pools.push(pool);
    const { me, sender, pdus } = await batch(8, 4);
    await expect(pool.trialOpen([me], pdus)).rejects.toThrow(/kept failing/);
    const sealed = await pool.seal(sender, me.publicKey, new Uint8Array(PAYLOAD_LENGTH).fill(9));
    expect((await nativeBox.openPdu(me, sealed))!.payload[0]).toBe(9);
  });

  it('replaces a worker that hangs mid-batch (alive, silent) once its task times out, and retries the batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deaddrop-pool-'));
    dirs.push(dir);
    const hungMarker = join(dir, 'hung');
    const pool = await createCryptoPool({
      size: 1,
      taskTimeoutMs: 1000,
      workerEntry: new URL('./fixtures/faultyWorker.ts', import.meta.url),
      workerData: { marker: hungMarker, fault: 'hang' },
    });
    pools.push(pool);
    const { me, pdus } = await batch(40, 4);
    const hits = await pool.trialOpen([me], pdus);
    expect(existsSync(hungMarker)).toBe(true);
    expect(hits.filter(Boolean)).toHaveLength(10);
  });

  it('fails a batch that hangs every worker it is tried in with a clear error, and keeps serving other work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deaddrop-pool-'));
    dirs.push(dir);
    const pool = await createCryptoPool({
      size: 1,
      maxAttempts: 2,
      taskTimeoutMs: 1000,
      workerEntry: new URL('./fixtures/faultyWorker.ts', import.meta.url),
      workerData: { marker: join(dir, 'hung'), always: true, fault: 'hang' },
    });
    pools.push(pool);
    const { me, sender, pdus } = await batch(8, 4);
    await expect(pool.trialOpen([me], pdus)).rejects.toThrow('The crypto worker did not answer a trialOpen task in time, 2 times; gave up on it.');
    const sealed = await pool.seal(sender, me.publicKey, new Uint8Array(PAYLOAD_LENGTH).fill(5));
    expect((await nativeBox.openPdu(me, sealed))!.payload[0]).toBe(5);
  });

  it('derives Argon2id keys in a worker, equal to the in-place derivation', async () => {
    const pool = await createCryptoPool({ size: 2 });
    pools.push(pool);
    const salt = new Uint8Array(16).fill(3);
    const passphrase = () => new TextEncoder().encode('correct horse');
    const [inWorker, again] = await Promise.all([
      pool.argon2id(passphrase(), salt, TEST_PASSPHRASE_LIMITS, 32),
      pool.argon2id(passphrase(), salt, DEFAULT_PASSPHRASE_LIMITS, 32),
    ]);
    expect(inWorker).toEqual(await argon2id(passphrase(), salt, TEST_PASSPHRASE_LIMITS, 32));
    expect(again).toEqual(await argon2id(passphrase(), salt, DEFAULT_PASSPHRASE_LIMITS, 32));
    expect(inWorker).not.toEqual(again);
  });

  it('starts the rest of its workers with the first batch to trial-open', async () => {
    const pool = await createCryptoPool({ size: 2, initialSize: 1 });
    pools.push(pool);
    const { me, sender, pdus } = await batch(200, 10);
    await pool.seal(sender, me.publicKey, new Uint8Array(PAYLOAD_LENGTH));
    expect(pool.started).toBe(1);
    expect((await pool.trialOpen([me], pdus)).filter(Boolean)).toHaveLength(20);
    expect(pool.started).toBe(2);
  });

  it('rejects work after close', async () => {
    const pool = await createCryptoPool({ size: 1 });
    await pool.close();
    const me = generateNativeKeyPair();
    await expect(pool.seal(me, me.publicKey, new Uint8Array(PAYLOAD_LENGTH))).rejects.toThrow(/closed/);
  });
});
