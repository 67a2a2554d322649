/**
 * The device store keeps each identity's entry opened (electron/core/devices/deviceStore.ts `Opened`):
 * asked for on every incoming echo, every send and every accepted message, it was decrypted, parsed
 * and hashed each time. Opened once, replaced on every write, dropped while locked; and the engine's
 * synchronous list hash (`deviceListHashSync`, the echo the outbox writes) is the protocol's hash.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { type DeviceList, changedDeviceList, deviceListHash, encodeDeviceList } from '../../shared/protocol/deviceList.js';
import { DeviceStore, deviceListHashSync } from '../../electron/core/devices/deviceStore.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { removeDir, tempDir } from '../engine/helpers/testEngine.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
  vi.restoreAllMocks();
});

const NOW = Date.UTC(2026, 10, 30);
const other = (n: number) => ({ deviceId: n.toString(16).padStart(16, '0'), prekey: '00'.repeat(32), addedDay: 20_000 + n, name: `Device ${n}` });

async function withStore() {
  const dataDir = tempDir('deaddrop-device-cache-');
  dirs.push(dataDir);
  const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), { writeDelayMs: 0 });
  await stateStore.unlock('secret');
  const pair = generateKeyPair();
  await stateStore.addIdentity({ id: 'id-1', alias: 'kim', publicKey: Buffer.from(pair.publicKey).toString('hex'), dropUrls: ['http://127.0.0.1:9/d/x'], dropBits: 12, createdAt: 1 }, pair.privateKey);
  return { dataDir, stateStore, store: new DeviceStore(dataDir, stateStore, () => NOW) };
}

describe('device store, opened entries', () => {
  it('opens an entry once for any number of reads, and every change is seen at once', async () => {
    const { stateStore, store } = await withStore();
    const mine = await store.list('id-1');
    await store.adopt('id-1', changedDeviceList(mine, [...mine.devices, other(1)]));
    const opens = vi.spyOn(stateStore, 'openSession');
    const first = await store.view('id-1');
    for (let i = 0; i < 50; i++) {
      await store.view('id-1');
      await store.list('id-1');
      await store.knownHashes('id-1');
    }
    expect(opens).not.toHaveBeenCalled();
    expect(first.hash).toBe(await deviceListHash(await store.list('id-1')));
    // A change replaces what is kept: the next read has it, with its hash, still without opening.
    const renamed = await store.rename('id-1', other(1).deviceId, 'Laptop');
    expect(renamed.devices.find((d) => d.deviceId === other(1).deviceId)!.name).toBe('Laptop');
    expect(renamed.hash).toBe(await deviceListHash(await store.list('id-1')));
    expect(renamed.hash).not.toBe(first.hash);
    expect((await store.knownHashes('id-1')).has(first.hash)).toBe(true);
    expect((await store.knownHashes('id-1')).has(renamed.hash)).toBe(true);
    expect(opens).not.toHaveBeenCalled();
    // What callers get is shared: it cannot be changed behind the store's back.
    expect(() => (renamed.devices as unknown as unknown[]).push(other(2))).toThrow(TypeError);
  });

  it('keeps nothing while locked, and opens again after unlocking', async () => {
    const { stateStore, store } = await withStore();
    const before = await store.view('id-1');
    await stateStore.lock();
    await expect(store.view('id-1')).rejects.toThrow();
    await stateStore.unlock('secret');
    const opens = vi.spyOn(stateStore, 'openSession');
    expect((await store.view('id-1')).selfId).toBe(before.selfId);
    expect(opens).toHaveBeenCalledTimes(1);
  });

  it('the synchronous hash is the protocol’s hash, of a list or of its encoding', async () => {
    const record = fc.record({
      deviceId: fc.integer({ min: 0, max: 40 }).map((n) => n.toString(16).padStart(16, '0')),
      prekey: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
      addedDay: fc.integer({ min: 0, max: 0xffff }),
      name: fc.string({ maxLength: 32 }),
    });
    const list = fc.record({ epoch: fc.integer({ min: 0, max: 0xffff }), devices: fc.uniqueArray(record, { minLength: 1, maxLength: 8, selector: (d) => d.deviceId }) });
    await fc.assert(
      fc.asyncProperty(list, async (l: DeviceList) => {
        const hash = await deviceListHash(l);
        expect(deviceListHashSync(l)).toBe(hash);
        expect(deviceListHashSync(encodeDeviceList(l))).toBe(hash);
      }),
      { seed: 0xdd09, numRuns: 200 },
    );
  });
});
