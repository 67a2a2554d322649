/**
 * The device list's bounds and epochs against someone holding the identity key
 * (shared/protocol/deviceList.ts, electron/core/devices/deviceStore.ts):
 * - a list of eight made-up devices "added" on day 0, sealed with our key in our own drops, once pushed
 *   every honest device out of the union (the earliest added stayed) and retired this device for good;
 *   now a union of more than eight is never merged, our list stays whole and the alarm names them;
 * - this device counts as removed only when a tombstone names it;
 * - epochs wrap (0xffff is followed by 0): an epoch stuck at 0xffff froze the order of renames.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import {
  type DeviceList,
  type DeviceRecord,
  DeviceListFull,
  changedDeviceList,
  deviceEpochNewer,
  judgeContactView,
  mergeDeviceLists,
} from '../../shared/protocol/deviceList.js';
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
  const dataDir = tempDir('deaddrop-device-bounds-');
  dirs.push(dataDir);
  const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), { writeDelayMs: 0 });
  await stateStore.unlock('secret');
  const pair = generateKeyPair();
  const publicKey = Buffer.from(pair.publicKey).toString('hex');
  await stateStore.addIdentity({ id: 'id-1', alias: 'kim', publicKey, dropUrls: ['http://127.0.0.1:9/d/x'], dropBits: 12, createdAt: 1 }, pair.privateKey);
  return { store: new DeviceStore(dataDir, stateStore, () => NOW), publicKey };
}

const device = (n: number, over: Partial<DeviceRecord> = {}): DeviceRecord => ({
  deviceId: n.toString(16).padStart(16, '0'),
  prekey: '11'.repeat(32),
  addedDay: 20_000 + n,
  name: `Device ${n}`,
  ...over,
});
/** Eight devices nobody here added, each "added" on day 0 (the smallest `added_day` there is). */
const thiefDevices = Array.from({ length: 8 }, (_, i) => device(0xa0 + i, { addedDay: 0, name: `x${i}` }));

describe('device list bounds', () => {
  it('a union of more than eight devices is refused, never cut down to the earliest added', () => {
    const ours: DeviceList = { epoch: 4, devices: [device(1), device(2), device(3)] };
    const thief: DeviceList = { epoch: 4, devices: thiefDevices };
    expect(() => mergeDeviceLists(ours, thief)).toThrow(DeviceListFull);
    expect(() => mergeDeviceLists(thief, ours)).toThrow(DeviceListFull);
    // Exactly eight together still merge, and keep every one.
    const five: DeviceList = { epoch: 5, devices: thiefDevices.slice(0, 5) };
    expect(mergeDeviceLists(ours, five).devices).toHaveLength(8);
  });

  it('a list sealed with our key that would crowd our devices out leaves our list whole, this device sending, and raises the alarm', async () => {
    const { store, publicKey } = await withStore();
    const before = await store.view('id-1');
    const mine = await store.list('id-1');
    await store.adopt('id-1', changedDeviceList(mine, [...mine.devices, device(1)]));
    const ours = await store.list('id-1');
    const thief: DeviceList = { epoch: ours.epoch, devices: thiefDevices };
    expect(await store.adopt('id-1', thief)).toEqual({ changed: false, senderBehind: false, selfRemoved: false, alarm: true });
    const after = await store.view('id-1');
    expect(after.devices.map((d) => d.deviceId)).toEqual(ours.devices.map((d) => d.deviceId));
    expect(after.removedAt).toBeNull();
    expect(after.alarms).toEqual([{ contact: publicKey, unknown: thiefDevices.map((d) => d.deviceId), at: NOW }]);
    // The same list again: no second alarm.
    expect((await store.adopt('id-1', thief)).alarm).toBe(false);
    expect(after.selfId).toBe(before.selfId);
  });

  it('this device counts as removed only when a tombstone names it', async () => {
    const { store } = await withStore();
    const { selfId } = await store.view('id-1');
    const mine = await store.list('id-1');
    // A list that merely lacks this device (made elsewhere, before it joined): not a removal.
    expect((await store.adopt('id-1', { epoch: mine.epoch + 5, devices: [device(1), device(2)] })).selfRemoved).toBe(false);
    expect((await store.view('id-1')).removedAt).toBeNull();
    const current = await store.list('id-1');
    expect((await store.adopt('id-1', changedDeviceList(current, current.devices, [selfId]))).selfRemoved).toBe(true);
    expect((await store.view('id-1')).removedAt).toBe(NOW);
  });
});

describe('device list epochs wrap', () => {
  it('0xffff is followed by 0, and a rename made after the wrap wins in both merge orders', () => {
    expect(deviceEpochNewer(0, 0xffff)).toBe(true);
    expect(deviceEpochNewer(0xffff, 0)).toBe(false);
    expect(deviceEpochNewer(0x7fff, 0)).toBe(true);
    expect(deviceEpochNewer(0x8000, 0)).toBe(false);
    const base: DeviceList = { epoch: 0xfffe, devices: [device(1, { name: 'Start' })] };
    const zed = changedDeviceList(base, [device(1, { name: 'Zed', nameEpoch: 0xffff })]);
    expect(zed.epoch).toBe(0xffff);
    const alpha = changedDeviceList(zed, [device(1, { name: 'Alpha', nameEpoch: 0 })]);
    expect(alpha.epoch).toBe(0);
    for (const merged of [mergeDeviceLists(zed, alpha), mergeDeviceLists(alpha, zed)]) {
      expect(merged.epoch).toBe(0);
      expect(merged.devices[0]!.name).toBe('Alpha');
    }
  });

  it('the latest removals stay across the wrap, and a contact at 0xffff is behind a list at 1', async () => {
    let list: DeviceList = { epoch: 0xfff8, devices: [device(1), ...Array.from({ length: 7 }, (_, i) => device(0x10 + i))] };
    const removed: string[] = [];
    // Nine removals, re-adding a device each time so the list never empties: epochs 0xfff9 .. 0x0001.
    for (let i = 0; i < 9; i++) {
      const gone = list.devices[list.devices.length - 1]!.deviceId;
      removed.push(gone);
      list = changedDeviceList(list, [...list.devices.filter((d) => d.deviceId !== gone), device(0x40 + i)], [gone]);
    }
    expect(list.epoch).toBe(1);
    // The first removal (at 0xfff9) is the one forgotten, not the ones after the wrap.
    expect(list.removed!.map((t) => t.deviceId).sort()).toEqual(removed.slice(1).sort());
    const contact: DeviceList = { ...list, epoch: 0xffff };
    expect((await judgeContactView([], list, contact)).verdict).toBe('behind');
  });
});
