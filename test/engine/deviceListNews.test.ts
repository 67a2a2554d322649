/**
 * Device lists told to contacts and siblings, the echo of a contact's view in every message, the
 * injected-device alarm and removal (PROTOCOL-V1.md 5c; electron/core/devices/deviceNews.ts). Real
 * engines and a real drop server: Alice on two linked devices, her contact Bob, and a third engine that
 * imports Alice's stolen identity and announces its device to Bob only.
 */
import { describe, expect, it, vi } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { encodeDeviceList } from '../../shared/protocol/deviceList.js';
import { decryptIdentityBackup } from '../../shared/protocol/identityBackup.js';
import { serializeDropMessage } from '../../shared/protocol/message.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import * as v1 from '../../electron/core/v1/session.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import { BOX_DEVICES } from '../../electron/core/devices/deviceNews.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { link } from './helpers/linkDevices.js';

// The ratchet library wrapped (not replaced): what each copy of a message echoed is checked.
vi.mock('../../electron/core/v1/session.js', async (importOriginal) => {
  const actual = await importOriginal<typeof v1>();
  return { ...actual, seal: vi.fn(actual.seal) };
});

const { server, engine, send, until, messagesOf, textAt, dispatcher } = engineKit({ engine: { protocolV1: true } });

/** A v0 box from `from` to `to` with this payload type and payload (what another client could send). */
async function box(from: { publicKey: Uint8Array; privateKey: Uint8Array }, to: string, type: string, payload: string, dd?: { v: number; md?: number; dh?: string }): Promise<Uint8Array> {
  const json = serializeDropMessage({
    version: 1,
    time_stamp: Date.now(),
    sender: Buffer.from(from.publicKey).toString('hex'),
    drop_payload: payload,
    drop_payload_type: type,
    acknowledge_id: '0',
    ...(dd ? { dd } : {}),
  });
  const padded = new Uint8Array(PAYLOAD_LENGTH);
  padded.set(json);
  return nativeBox.sealPdu(from, Buffer.from(to, 'hex'), padded);
}

describe('device lists between devices and contacts', () => {
  let d1: TestEngine;
  let d2: TestEngine;
  let bobEngine: TestEngine;
  let alice: IdentitySummary;
  let bob: IdentitySummary;
  let attackerId: string;
  let theftEcho: string;

  it('a link is announced to the contact, who echoes the list it encrypts to; no alarm', async () => {
    [d1, d2, bobEngine] = [await engine(), await engine(), await engine()];
    alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    bob = await bobEngine.call('identities/create', { alias: 'bob', serverUrl: server().url });
    await send(d1, alice, bob, 'hello');
    await until([bobEngine], () => textAt(bobEngine, 'hello'), 'hello at Bob');
    await send(bobEngine, bob, alice, 'hi');
    await until([d1], () => textAt(d1, 'hi'), 'hi at Alice');

    await link(d1, alice, d2);
    const list = await d1.call('devices/list', { identityId: alice.id });
    expect(list.devices).toHaveLength(2);
    expect((await d2.call('devices/list', { identityId: alice.id })).hash).toBe(list.hash);

    // Bob hears the list (never shown to his UI) and writes to each of Alice's two devices from then on
    // (per-device sessions, electron/core/sessions/devices.ts), echoing the list in every message.
    let probes = 0;
    const atD1 = await until([bobEngine], async () => {
      const text = `after the link ${++probes}`;
      await send(bobEngine, bob, alice, text);
      const got = await until([d1, d2], () => textAt(d1, text), 'at d1');
      return got.devlistEcho === list.hash ? got : null;
    }, 'Bob echoes Alice’s two devices');
    expect(messagesOf(bobEngine).some((m) => m.type === BOX_DEVICES)).toBe(false);
    const atD2 = await until([d1, d2], () => textAt(d2, atD1.text!), 'at d2');
    // The echo is the hash of Alice's list as Bob knows it: hers.
    expect(atD1.devlistEcho).toBe(list.hash);
    expect(atD2.devlistEcho).toBe(list.hash);
    for (const device of [d1, d2]) expect((await device.call('devices/list', { identityId: alice.id })).alarms).toEqual([]);
    // Siblings heard each other: the link's announcement reached d2 (from d1) through Alice's own drops.
    await until([d2], async () => (await d2.call('devices/list', { identityId: alice.id })).devices.find((d) => !d.self)?.lastSeen !== null, 'd2 saw d1');
    // The laptop never announced anything: the desktop sees it from its sibling sync (the text it sent).
    expect((await d1.call('devices/list', { identityId: alice.id })).devices.find((d) => !d.self)?.lastSeen).toBeNull();
    await send(d2, alice, bob, 'from the laptop');
    await until([d1], async () => (await d1.call('devices/list', { identityId: alice.id })).devices.find((d) => !d.self)?.lastSeen !== null, 'd1 saw d2');
  });

  it('a device added with the stolen identity key and announced to Bob only raises the alarm on both honest devices at Bob’s next message', async () => {
    // The thief imports Alice's identity from a stolen backup: a device of its own, that Alice never added.
    // Its engine never reads Alice's drops (a running copy of ours would merge her list and announce
    // itself to her devices as a sibling: then it is in her list, in plain sight in Settings → Devices).
    const d3 = await engine({ autoPoll: false });
    const exported = await d1.call('identities/export', { identityId: alice.id, passphrase: 'stolen backup' });
    const stolen = await d3.call('identities/import', { backup: exported.content, passphrase: 'stolen backup' });
    const thief = await d3.call('devices/list', { identityId: stolen.id });
    attackerId = thief.devices[0]!.deviceId;
    expect(thief.devices).toHaveLength(1);

    // It tells Bob only (never Alice's drops, where her devices would see it): its own list, sealed with her key.
    const key = await decryptIdentityBackup(exported.content, 'stolen backup');
    const pair = { publicKey: new Uint8Array(Buffer.from(key.publicKey, 'hex')), privateKey: new Uint8Array(Buffer.from(key.privateKey, 'hex')) };
    const body = encodeDeviceList({ epoch: thief.epoch, devices: [{ deviceId: attackerId, prekey: '11'.repeat(32), addedDay: 20_000, name: 'Laptop' }] });
    const payload = JSON.stringify({ device: attackerId, list: Buffer.from(body).toString('base64url') });
    await new DropClient({ dispatcher, timeoutMs: 5000 }).post(bob.dropUrls[0]!, await box(pair, bob.publicKey, BOX_DEVICES, payload, { v: 1, md: 1 }));
    // Bob writes to Alice until his messages echo a list she never had (he merged the thief's list), at
    // each of her devices: one such message is enough there. Not necessarily the same message: Bob seals
    // a message once per device of hers, each copy in its own session and echoing his view of her list
    // when that copy is sealed, and his merge of the thief's list may land between two copies (in most
    // runs here, the copy sealed first keeping the old hash); that device asks at his next message.
    const before = (await d1.call('devices/list', { identityId: alice.id })).hash;
    const theftEchoAt = (device: TestEngine): string | undefined =>
      messagesOf(device).find((m) => m.text?.startsWith('after the theft ') && m.devlistEcho !== before)?.devlistEcho;
    let probes = 0;
    const echoes = await until([bobEngine], async () => {
      const text = `after the theft ${++probes}`;
      await send(bobEngine, bob, alice, text);
      await until([d1, d2], () => textAt(d1, text) && textAt(d2, text), text);
      const [atD1, atD2] = [theftEchoAt(d1), theftEchoAt(d2)];
      return atD1 && atD2 ? { atD1, atD2 } : null;
    }, 'Bob echoes a list with the thief’s device at both of Alice’s devices');
    expect(echoes.atD1).toMatch(/^[0-9a-f]{8}$/);
    expect(echoes.atD2).toBe(echoes.atD1);
    theftEcho = echoes.atD1;
    // Every copy of one message of Bob's echoes one list of Alice's: the one it was sealed to.
    const echoedBy = new Map<string, Set<string>>();
    for (const [state, body, options] of vi.mocked(v1.seal).mock.calls) {
      if (Buffer.from(state.ourId, 'base64url').toString('hex') !== bob.publicKey || !body.msgId) continue;
      const id = Buffer.from(body.msgId).toString('hex');
      echoedBy.set(id, (echoedBy.get(id) ?? new Set()).add(options.devlistHash ?? 'none'));
    }
    expect(echoedBy.size).toBeGreaterThan(0);
    expect([...echoedBy.values()].filter((hashes) => hashes.size > 1)).toEqual([]);
    for (const device of [d1, d2]) {
      const alarms = await until([d1, d2, bobEngine], async () => {
        // The UI hears of it (the event follows the stored alarm).
        if (!device.of('devices/changed').some((e) => e.identityId === alice.id && e.alarm)) return null;
        const status = await device.call('devices/list', { identityId: alice.id });
        return status.alarms.length > 0 ? status.alarms : null;
      }, 'the alarm');
      expect(alarms).toEqual([{ contact: bob.publicKey, unknownDevices: [attackerId], at: expect.any(Number) as number }]);
      // The honest list does not take the thief's device.
      expect((await device.call('devices/list', { identityId: alice.id })).devices.map((d) => d.deviceId)).not.toContain(attackerId);
    }
    expect(messagesOf(d1).concat(messagesOf(d2)).some((m) => m.type === BOX_DEVICES)).toBe(false);
  });

  it('removal: the thief’s device (named by the alarm) and the laptop are removed on d1; Bob drops both, the laptop stops sending', async () => {
    const self = (await d1.call('devices/list', { identityId: alice.id })).devices.find((d) => d.self)!.deviceId;
    await expect(d1.call('devices/remove', { identityId: alice.id, deviceId: self })).rejects.toThrow(/bad_input/);
    await expect(d1.call('devices/remove', { identityId: alice.id, deviceId: 'ab'.repeat(8) })).rejects.toThrow(/not_found/);
    // The thief's device was never in our list; the alarm named it, so it can be removed: a tombstone.
    const noThief = await d1.call('devices/remove', { identityId: alice.id, deviceId: attackerId });
    expect(noThief.removed).toContain(attackerId);
    const laptop = noThief.devices.find((d) => !d.self)!.deviceId;
    const after = await d1.call('devices/remove', { identityId: alice.id, deviceId: laptop });
    expect(after.devices.map((d) => d.deviceId)).toEqual([self]);
    expect(after.removed.sort()).toEqual([attackerId, laptop].sort());

    // The laptop reads the new list in Alice's drops: removed, it says so and sends nothing.
    const removed = await until([d2], async () => {
      const status = await d2.call('devices/list', { identityId: alice.id });
      return status.removedAt !== null ? status : null;
    }, 'the laptop learns it was removed');
    expect(removed.hash).toBe(after.hash);
    expect(d2.of('devices/changed').some((e) => e.identityId === alice.id)).toBe(true);
    await expect(d2.call('messages/send', { identityId: alice.id, localId: 'late', recipient: { publicKey: bob.publicKey, dropUrls: bob.dropUrls }, text: 'still here?' })).rejects.toThrow(/removed/);

    // Bob merges the removal into his view (the thief's device and the laptop gone): he echoes Alice's list.
    let probes = 0;
    const last = await until([bobEngine], async () => {
      const text = `after the removal ${++probes}`;
      await send(bobEngine, bob, alice, text);
      const got = await until([d1], () => textAt(d1, text), text);
      expect(got.devlistEcho).not.toBe(undefined);
      return got.devlistEcho === after.hash ? got : null;
    }, 'Bob echoes Alice’s list after the removal');
    expect(theftEcho).not.toBe(after.hash);
    // Alice is on one device again: Bob writes in their session, whose header carries the echo.
    expect(last.protocol).toBe(1);
    expect((await bobEngine.call('sessions/status', { identityId: bob.id })).contacts[alice.publicKey]?.reason).toBeUndefined();
  });
});

describe('device news is hostile input', () => {
  it('malformed box_devices, a view nobody asked for and an unknown echo from a stranger: skipped, no alarm, nothing shown, the engine reads on', async () => {
    const carolEngine = await engine();
    const carol = await carolEngine.call('identities/create', { alias: 'carol', serverUrl: server().url });
    const stranger = generateKeyPair();
    const client = new DropClient({ dispatcher, timeoutMs: 5000 });
    const made = { deviceId: 'ee'.repeat(8), prekey: '22'.repeat(32), addedDay: 20_000, name: 'Made up' };
    const view = Buffer.from(encodeDeviceList({ epoch: 9, devices: [made] })).toString('base64url');
    for (const payload of [
      'not json',
      JSON.stringify({ device: 'short', list: view }),
      JSON.stringify({ device: 'ab'.repeat(8), list: 'AAAA' }),
      JSON.stringify({ device: 'ab'.repeat(8), view: Buffer.alloc(1000).toString('base64url') }),
      // A view naming a device Carol never had, though she asked nothing: no alarm.
      JSON.stringify({ device: 'ab'.repeat(8), view }),
    ]) {
      await client.post(carol.dropUrls[0]!, await box(stranger, carol.publicKey, BOX_DEVICES, payload, { v: 1 }));
    }
    // An echo of a list Carol never had: she would ask, but knows nowhere to write to a stranger.
    await client.post(carol.dropUrls[0]!, await box(stranger, carol.publicKey, 'box_message', JSON.stringify({ msg: 'still read' }), { v: 1, dh: '12345678' }));
    const message = await until([carolEngine], () => textAt(carolEngine, 'still read'), 'the text after them');
    expect(message.devlistEcho).toBe('12345678');
    // Batches are not acknowledged here, so one may come again: only the text is shown, once by its dedupe key.
    const shown = messagesOf(carolEngine);
    expect(new Set(shown.map((m) => m.type))).toEqual(new Set(['box_message']));
    expect(new Set(shown.map((m) => m.dedupeKey)).size).toBe(1);
    const list = await carolEngine.call('devices/list', { identityId: carol.id });
    expect(list.alarms).toEqual([]);
    expect(list.devices).toHaveLength(1);
  });
});
