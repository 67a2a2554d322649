/**
 * The first use of an identity's device list (electron/core/devices/deviceStore.ts `entry`): several
 * callers at once (the Devices panel asking while a batch's echo is judged and a message is sent) get
 * one and the same device, the one the file keeps. Made outside the change lock, each made its own
 * and the last write replaced the id and prekey the others had already handed out.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { DeviceStore } from '../../electron/core/devices/deviceStore.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { removeDir, tempDir } from '../engine/helpers/testEngine.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

describe('device store, first use', () => {
  it('concurrent first uses make one device, the one kept', async () => {
    const dataDir = tempDir('deaddrop-device-first-');
    dirs.push(dataDir);
    const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), { writeDelayMs: 0 });
    await stateStore.unlock('secret');
    for (const id of ['id-1', 'id-2']) {
      const pair = generateKeyPair();
      await stateStore.addIdentity({ id, alias: id, publicKey: Buffer.from(pair.publicKey).toString('hex'), dropUrls: [`http://127.0.0.1:9/d/${id}`], dropBits: 12, createdAt: 1 }, pair.privateKey);
    }
    const store = new DeviceStore(dataDir, stateStore, () => Date.UTC(2026, 10, 30));
    // The file exists already (another identity's list), as it does on every device in use.
    await store.view('id-1');
    const [a, b, list, hashes] = await Promise.all([store.view('id-2'), store.view('id-2'), store.list('id-2'), store.knownHashes('id-2')]);
    expect(b.selfId).toBe(a.selfId);
    expect(list.devices.map((d) => d.deviceId)).toEqual([a.selfId]);
    expect(hashes).toEqual(new Set([a.hash]));
    // What a fresh start reads from the file is that same device.
    const again = new DeviceStore(dataDir, stateStore, () => Date.UTC(2026, 10, 30));
    expect((await again.view('id-2')).selfId).toBe(a.selfId);
    expect(JSON.parse(readFileSync(join(dataDir, 'engine-devices.json'), 'utf8')).identities).toHaveProperty('id-2');
  });
});
