/**
 * A device that joins an identity through a sibling is never merged silently (issue 17,
 * electron/core/devices/joinNotices.ts): real engines and a real drop server. Alice on three devices
 * linked from the desktop: the laptop hears of the tablet it never knew (added by the desktop); then a
 * thief holding Alice's key announces a device of its own into her drops as a sibling: both honest
 * devices note it (`devices/changed` `joined`, `devices/list` `joined`) until the user confirms or
 * removes it; the same announcement again raises nothing new.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { type DeviceList, encodeDeviceList } from '../../shared/protocol/deviceList.js';
import { decryptIdentityBackup } from '../../shared/protocol/identityBackup.js';
import { serializeDropMessage } from '../../shared/protocol/message.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import { BOX_DEVICES } from '../../electron/core/devices/deviceNews.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

const { server, engine, until, dispatcher } = engineKit({
  engine: { protocolV1: true, autoPoll: false },
  // No polling of its own: each read fetches once, acknowledges, and waits for what that set off.
  read: async (reader) => {
    await reader.engine.fetchOnce();
    await receiveAndAck(reader, 0, 'batches');
    await reader.engine.settled();
  },
});

/** A v0 `box_devices` sealed with the identity's own key into its own drop: what a sibling (or a thief) sends. */
async function announce(pair: { publicKey: Uint8Array; privateKey: Uint8Array }, identity: IdentitySummary, device: string, list: DeviceList): Promise<void> {
  const json = serializeDropMessage({
    version: 1,
    time_stamp: Date.now(),
    sender: identity.publicKey,
    drop_payload: JSON.stringify({ device, list: Buffer.from(encodeDeviceList(list)).toString('base64url') }),
    drop_payload_type: BOX_DEVICES,
    acknowledge_id: '0',
    dd: { v: 1 },
  });
  const padded = new Uint8Array(PAYLOAD_LENGTH);
  padded.set(json);
  const pdu = await nativeBox.sealPdu(pair, Buffer.from(identity.publicKey, 'hex'), padded);
  await new DropClient({ dispatcher, timeoutMs: 5000 }).post(identity.dropUrls[0]!, pdu);
}

describe('a device joining through a sibling', () => {
  let d1: TestEngine;
  let d2: TestEngine;
  let d3: TestEngine;
  let alice: IdentitySummary;
  const THIEF = 'abcdefabcdefabcd';

  beforeAll(async () => {
    [d1, d2, d3] = [await engine(), await engine(), await engine()];
    alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    const self = (await d1.call('devices/list', { identityId: alice.id })).devices[0]!;
    await d1.call('devices/rename', { identityId: alice.id, deviceId: self.deviceId, name: 'Desktop' });
  });

  it('a link made on another device is noted on the siblings that did not make it, with who added it; the linking and the joining device note nothing', async () => {
    await link(d1, alice, d2);
    expect((await d1.call('devices/list', { identityId: alice.id })).joined).toBeUndefined();
    expect((await d2.call('devices/list', { identityId: alice.id })).joined).toBeUndefined();

    await link(d1, alice, d3);
    const tablet = (await d3.call('devices/list', { identityId: alice.id })).devices.find((d) => d.self)!;
    // The notice is written just after the merged list (devices/changed follows both): wait for it.
    const atLaptop = await until([d2], async () => {
      const status = await d2.call('devices/list', { identityId: alice.id });
      return status.devices.length === 3 && status.joined !== undefined && status;
    }, 'the laptop hears of the tablet');
    expect(atLaptop.joined).toEqual([{ deviceId: tablet.deviceId, name: 'Laptop', addedBy: 'Desktop', at: expect.any(Number) }]);
    await waitFor(() => d2.of('devices/changed').some((e) => e.joined), 'the event');
    expect(d2.of('devices/changed').filter((e) => e.joined)).toEqual([{ identityId: alice.id, alarm: false, joined: [{ deviceId: tablet.deviceId, name: 'Laptop', addedBy: 'Desktop' }] }]);
    expect((await d1.call('devices/list', { identityId: alice.id })).joined).toBeUndefined();
    expect((await d3.call('devices/list', { identityId: alice.id })).joined).toBeUndefined();

    // The user confirms it on the laptop: no longer new.
    const confirmed = await d2.call('devices/confirmJoined', { identityId: alice.id, deviceId: tablet.deviceId });
    expect(confirmed.joined).toBeUndefined();
    expect(confirmed.devices).toHaveLength(3);
  });

  it('a thief holding the key announces its device into our drops as a sibling: every honest device notes it until confirmed or removed; the same list again notes nothing new', async () => {
    const exported = await d1.call('identities/export', { identityId: alice.id, passphrase: 'stolen backup' });
    const key = await decryptIdentityBackup(exported.content, 'stolen backup');
    const pair = { publicKey: new Uint8Array(Buffer.from(key.publicKey, 'hex')), privateKey: new Uint8Array(Buffer.from(key.privateKey, 'hex')) };
    const current = await d1.call('devices/list', { identityId: alice.id });
    const list: DeviceList = {
      epoch: current.epoch + 1,
      devices: [
        ...current.devices.map(({ deviceId, name, addedDay }) => ({ deviceId, name, addedDay, prekey: '22'.repeat(32) })),
        { deviceId: THIEF, prekey: '11'.repeat(32), addedDay: 20_000, name: 'Evil\u202e laptop' },
      ],
    };
    await announce(pair, alice, THIEF, list);
    const honest = [d1, d2, d3];
    await until(honest, async () => {
      for (const e of honest) if (!(await e.call('devices/list', { identityId: alice.id })).joined?.some((n) => n.deviceId === THIEF)) return false;
      return true;
    }, 'every honest device notes the thief’s device');
    for (const e of honest) {
      const joined = (await e.call('devices/list', { identityId: alice.id })).joined!;
      expect(joined).toHaveLength(1);
      // The list codec cleans names: the bidi override is gone; added by itself (it announced itself).
      expect(joined[0]).toMatchObject({ deviceId: THIEF, name: 'Evil laptop', addedBy: 'Evil laptop' });
    }
    await waitFor(() => d2.of('devices/changed').some((e) => e.joined?.some((n) => n.deviceId === THIEF)), 'the event');
    const events = d2.of('devices/changed').filter((e) => e.joined?.some((n) => n.deviceId === THIEF));
    expect(events).toHaveLength(1);

    // The same announcement again (a replay, a re-post): nothing new on any device.
    await announce(pair, alice, THIEF, list);
    await until(honest, () => true, 'the replay read');
    expect(d2.of('devices/changed').filter((e) => e.joined?.some((n) => n.deviceId === THIEF))).toHaveLength(1);

    // Removing it on the desktop takes the notice away there, and the tombstone from every list.
    const removed = await d1.call('devices/remove', { identityId: alice.id, deviceId: THIEF });
    expect(removed.joined).toBeUndefined();
    expect(removed.removed).toContain(THIEF);
    await until([d2], async () => !(await d2.call('devices/list', { identityId: alice.id })).devices.some((d) => d.deviceId === THIEF), 'the laptop drops it');
    // Gone from the list: no notice for it is shown any more.
    expect((await d2.call('devices/list', { identityId: alice.id })).joined).toBeUndefined();
  });
});
