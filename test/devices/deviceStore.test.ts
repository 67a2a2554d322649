/**
 * The engine's device lists at rest (electron/core/devices/deviceStore.ts): what adopting a sibling's
 * list answers (changed, the sender behind, this device removed), removal with tombstones, renames
 * winning over an older name, alarms kept once, concurrent changes all kept, and an identity's entry
 * deleted with it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { type DeviceList, changedDeviceList, mergeDeviceLists } from '../../shared/protocol/deviceList.js';
import { DeviceStore } from '../../electron/core/devices/deviceStore.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { removeDir, tempDir } from '../engine/helpers/testEngine.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

const NOW = Date.UTC(2026, 10, 30);

async function withStore() {
  const dataDir = tempDir('deaddrop-devices-');
  dirs.push(dataDir);
  const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), { writeDelayMs: 0 });
  await stateStore.unlock('secret');
  const pair = generateKeyPair();
  await stateStore.addIdentity({ id: 'id-1', alias: 'kim', publicKey: Buffer.from(pair.publicKey).toString('hex'), dropUrls: ['http://127.0.0.1:9/d/x'], dropBits: 12, createdAt: 1 }, pair.privateKey);
  const store = new DeviceStore(dataDir, stateStore, () => NOW);
  return { dataDir, stateStore, store };
}

const other = (n: number, name = `Device ${n}`) => ({ deviceId: n.toString(16).padStart(16, '0'), prekey: '00'.repeat(32), addedDay: 20_000 + n, name });

describe('device store', () => {
  it('merges a sibling’s list: what changed, whether the sender is behind, whether this device was removed', async () => {
    const { store } = await withStore();
    const first = await store.view('id-1');
    const mine = await store.list('id-1');
    // A sibling added device 1: ours grows, the sender knew everything.
    const withOne = changedDeviceList(mine, [...mine.devices, other(1)]);
    expect(await store.adopt('id-1', withOne)).toEqual({ changed: true, senderBehind: false, selfRemoved: false, alarm: false });
    // The same again: nothing changes.
    expect(await store.adopt('id-1', withOne)).toEqual({ changed: false, senderBehind: false, selfRemoved: false, alarm: false });
    // A sibling that added device 2 without knowing device 1: both end with both; it is behind.
    const withTwo = changedDeviceList(mine, [...mine.devices, other(2)]);
    expect(await store.adopt('id-1', withTwo)).toEqual({ changed: true, senderBehind: true, selfRemoved: false, alarm: false });
    expect((await store.list('id-1')).devices.map((d) => d.deviceId).sort()).toEqual([first.selfId, other(1).deviceId, other(2).deviceId].sort());
    // Earlier lists are kept: a contact echoing one of them is only behind.
    expect((await store.knownHashes('id-1')).has(first.hash)).toBe(true);
    // A sibling removed this device: recorded once, with the time.
    const current = await store.list('id-1');
    const withoutMe = changedDeviceList(current, current.devices, [first.selfId]);
    expect(await store.adopt('id-1', withoutMe)).toEqual({ changed: true, senderBehind: false, selfRemoved: true, alarm: false });
    const after = await store.view('id-1');
    expect(after.removedAt).toBe(NOW);
    expect(after.removed.map((t) => t.deviceId)).toEqual([first.selfId]);
  });

  it('removes another device with a tombstone, never this one, and a device only an alarm named', async () => {
    const { store } = await withStore();
    const mine = await store.list('id-1');
    await store.adopt('id-1', changedDeviceList(mine, [...mine.devices, other(1)]));
    const { selfId } = await store.view('id-1');
    await expect(store.remove('id-1', selfId)).rejects.toThrow(/cannot remove itself/);
    await expect(store.remove('id-1', other(7).deviceId)).rejects.toThrow(/No such device/);
    const removed = await store.remove('id-1', other(1).deviceId);
    expect(removed.devices.map((d) => d.deviceId)).toEqual([selfId]);
    expect(removed.removed).toEqual([{ deviceId: other(1).deviceId, epoch: removed.epoch }]);
    // A stale sibling list still naming it does not bring it back.
    expect((await store.adopt('id-1', changedDeviceList(mine, [...mine.devices, other(1)]))).changed).toBe(false);
    // A device an alarm named can be removed though never in the list.
    expect(await store.raiseAlarm('id-1', 'bb'.repeat(32), [other(9).deviceId])).toBe(true);
    expect(await store.raiseAlarm('id-1', 'bb'.repeat(32), [other(9).deviceId])).toBe(false);
    expect((await store.remove('id-1', other(9).deviceId)).removed.map((t) => t.deviceId)).toContain(other(9).deviceId);
    await store.clearAlarms('id-1');
    expect((await store.view('id-1')).alarms).toEqual([]);
  });

  it('a rename wins over the older name in every merge order', async () => {
    const { store } = await withStore();
    const mine = await store.list('id-1');
    const before: DeviceList = await store.list('id-1');
    await store.adopt('id-1', changedDeviceList(mine, [...mine.devices, other(1, 'Old')]));
    const renamed = await store.rename('id-1', other(1).deviceId, 'New');
    const withRename = await store.list('id-1');
    // A sibling that moved on (added device 2) without the rename: the name stays "New" both ways.
    const stale = changedDeviceList(changedDeviceList(before, [...before.devices, other(1, 'Old')]), [...before.devices, other(1, 'Old'), other(2)]);
    for (const merged of [mergeDeviceLists(withRename, stale), mergeDeviceLists(stale, withRename)]) {
      expect(merged.devices.find((d) => d.deviceId === other(1).deviceId)!.name).toBe('New');
    }
    expect(renamed.devices.find((d) => d.deviceId === other(1).deviceId)!.name).toBe('New');
  });

  it('concurrent changes are all kept, a fresh store reads them from the file, and the file holds no device name in the clear', async () => {
    const { dataDir, stateStore, store } = await withStore();
    const twin = store;
    const mine = await store.list('id-1');
    await store.adopt('id-1', changedDeviceList(mine, [...mine.devices, other(1, 'Secret laptop')]));
    // At once, from both: an alarm, a last-seen time and a removal; none may write over another.
    await Promise.all([twin.raiseAlarm('id-1', 'cc'.repeat(32), [other(5).deviceId]), store.seen('id-1', other(1).deviceId, NOW + 60_000), twin.remove('id-1', other(1).deviceId)]);
    const view = await store.view('id-1');
    expect(view.alarms).toHaveLength(1);
    expect(view.lastSeen).toEqual({ [other(1).deviceId]: NOW + 60_000 });
    expect(view.removed.map((t) => t.deviceId)).toEqual([other(1).deviceId]);
    expect(await new DeviceStore(dataDir, stateStore, () => NOW).view('id-1')).toEqual(view);
    // Deleting the identity here deletes its entry, with this device's prekey private half.
    await store.forget('id-1');
    expect(JSON.parse(readFileSync(join(dataDir, 'engine-devices.json'), 'utf8')).identities).toEqual({});
    expect(readFileSync(join(dataDir, 'engine-devices.json'), 'utf8')).not.toContain('Secret laptop');
  });
});
