/**
 * Device news inside version-1 sessions (PROTOCOL-V1.md 5c "sent inside existing sessions, so it is
 * authenticated by the current ratchet, not only by the static key"; electron/core/devices/deviceNews.ts
 * `sendInSession`). Real engines and a real drop server: Alice and Bob hold a version-1 session; a
 * rename on Alice's device tells Bob her list inside it (a MODULE body carrying the `box_devices`), and
 * Bob's drop gets no version-0 `box_devices` from her. Bob then links a second device: his list reaches
 * Alice inside his session, and her next news goes inside each session with each of Bob's devices.
 * The version-0 box from a contact we hold a session with is still taken: deviceListNews.test.ts (the
 * thief's box and the alarm).
 */
import { describe, expect, it, vi } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { decryptIdentityBackup } from '../../shared/protocol/identityBackup.js';
import { decodeDropEnvelope, serializeDropMessage } from '../../shared/protocol/message.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { decodeDeviceList, encodeDeviceList } from '../../shared/protocol/deviceList.js';
import { deviceListHashSync } from '../../electron/core/devices/deviceStore.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import * as v1 from '../../electron/core/v1/session.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import { BOX_DEVICES } from '../../electron/core/devices/deviceNews.js';
import { INTRO_BODY_TYPE, MODULE_BODY_TYPE, unwrapIntro } from '../../electron/core/sessions/content.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

vi.mock('../../electron/core/v1/session.js', async (importOriginal) => {
  const actual = await importOriginal<typeof v1>();
  return { ...actual, seal: vi.fn(actual.seal) };
});

const { server, engine, send, until, messagesOf, textAt, dispatcher } = engineKit({ engine: { protocolV1: true } });

/** The device list bodies sealed in sessions so far: who sealed, to which identity and device of theirs. */
function devicesSeals(): { ourId: string; theirId: string; theirDevice: string | undefined }[] {
  const mock = vi.mocked(v1.seal).mock;
  return mock.calls.flatMap(([state, body], i) => {
    const result = mock.results[i];
    if (result?.type !== 'return' || 'error' in result.value) return [];
    const inner = body.type === INTRO_BODY_TYPE ? unwrapIntro(body as Parameters<typeof unwrapIntro>[0])?.inner : body;
    if (!inner || inner.type !== MODULE_BODY_TYPE) return [];
    const content = inner.content ?? new Uint8Array(0);
    if (Buffer.from(content.subarray(1, 1 + content[0]!)).toString('latin1') !== BOX_DEVICES) return [];
    return [{ ourId: Buffer.from(state.ourId, 'base64url').toString('hex'), theirId: Buffer.from(state.theirId, 'base64url').toString('hex'), theirDevice: state.theirDevice }];
  });
}

/** The version-0 `box_devices` sealed by `senderHex` in `dropUrl` after cursor `since` (opened with the drop owner's key). */
async function v0DeviceBoxes(client: DropClient, dropUrl: string, since: string | null, owner: { publicKey: Uint8Array; privateKey: Uint8Array }, senderHex: string): Promise<{ v0: number; other: number }> {
  const fetched = await client.fetch(dropUrl, since);
  if (fetched.status !== 'messages') return { v0: 0, other: 0 };
  const hits = await nativeBox.trialOpen([owner], fetched.items.map((item) => item.body));
  let v0 = 0;
  let other = 0;
  for (const hit of hits) {
    if (!hit) {
      other++; // not a version-0 box for the owner: a version-1 PDU
      continue;
    }
    const { message } = decodeDropEnvelope(hit.opened.payload, hit.opened.senderPublicKey);
    if (message.sender === senderHex && message.drop_payload_type === BOX_DEVICES) v0++;
  }
  return { v0, other };
}

/** `from` writes to `to` until a message of its arrives inside a version-1 session. */
async function inSession(from: TestEngine, sender: IdentitySummary, to: TestEngine, recipient: IdentitySummary): Promise<void> {
  let probes = 0;
  await until([from], async () => {
    const text = `${sender.alias} to ${recipient.alias} ${++probes}`;
    await send(from, sender, recipient, text);
    return (await until([to], () => textAt(to, text), `${text} arrived`)).protocol === 1;
  }, `${sender.alias} writes in a session`);
}

async function cursor(client: DropClient, dropUrl: string): Promise<string | null> {
  const fetched = await client.fetch(dropUrl, null);
  return fetched.status === 'messages' ? fetched.latest : null;
}

async function pairOf(e: TestEngine, identity: IdentitySummary): Promise<{ publicKey: Uint8Array; privateKey: Uint8Array }> {
  const exported = await e.call('identities/export', { identityId: identity.id, passphrase: 'test backup' });
  const key = await decryptIdentityBackup(exported.content, 'test backup');
  return { publicKey: new Uint8Array(Buffer.from(key.publicKey, 'hex')), privateKey: new Uint8Array(Buffer.from(key.privateKey, 'hex')) };
}

describe('device news inside version-1 sessions', () => {
  let a1: TestEngine;
  let b1: TestEngine;
  let b2: TestEngine;
  let alice: IdentitySummary;
  let bob: IdentitySummary;
  const client = new DropClient({ dispatcher, timeoutMs: 5000 });
  let renamedHash = '';
  let bobSince: string | null = null;

  it('a rename reaches a contact with a session inside it, and no version-0 box_devices goes to their drop', async () => {
    [a1, b1] = [await engine(), await engine()];
    alice = await a1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    bob = await b1.call('identities/create', { alias: 'bob', serverUrl: server().url });
    // The first message goes as version 0 (Alice has no prekey of Bob's yet); a few replies open the session.
    await send(a1, alice, bob, 'hello');
    await until([b1], () => textAt(b1, 'hello'), 'hello at Bob');
    await inSession(b1, bob, a1, alice);
    await inSession(a1, alice, b1, bob);
    const bobPair = await pairOf(b1, bob);
    const since = await cursor(client, bob.dropUrls[0]!);
    const sealedBefore = devicesSeals().length;

    const self = (await a1.call('devices/list', { identityId: alice.id })).devices[0]!;
    const renamed = await a1.call('devices/rename', { identityId: alice.id, deviceId: self.deviceId, name: 'Desk' });
    const sealed = devicesSeals().slice(sealedBefore).filter((s) => s.ourId === alice.publicKey);
    expect(sealed).toHaveLength(1);
    expect(sealed[0]).toMatchObject({ ourId: alice.publicKey, theirId: bob.publicKey });
    const counted = await v0DeviceBoxes(client, bob.dropUrls[0]!, since, bobPair, alice.publicKey);
    expect(counted.v0).toBe(0);
    expect(counted.other).toBeGreaterThanOrEqual(1); // the session PDU (Bob cannot open it as a v0 box)

    // Bob took it (never shown to his UI): his next message echoes Alice's renamed list.
    let probes = 0;
    await until([b1], async () => {
      const text = `after the rename ${++probes}`;
      await send(b1, bob, alice, text);
      const got = await until([a1], () => textAt(a1, text), 'at Alice');
      return got.devlistEcho === renamed.hash ? got : null;
    }, 'Bob echoes Alice’s renamed list');
    expect(messagesOf(b1).some((m) => m.type === BOX_DEVICES)).toBe(false);
    expect((await a1.call('devices/list', { identityId: alice.id })).alarms).toEqual([]);
  });

  it('with a contact on two devices, news goes inside the session with each of them', async () => {
    b2 = await engine();
    const bobPair = await pairOf(b1, bob);
    const aliceSince = await cursor(client, alice.dropUrls[0]!);
    const sealedBefore = devicesSeals().length;
    await link(b1, bob, b2);
    // Bob's link is announced to Alice inside his session with her device: no version-0 box in her drop.
    expect(devicesSeals().slice(sealedBefore).filter((s) => s.ourId === bob.publicKey && s.theirId === alice.publicKey).length).toBeGreaterThanOrEqual(1);
    expect((await v0DeviceBoxes(client, alice.dropUrls[0]!, aliceSince, await pairOf(a1, alice), bob.publicKey)).v0).toBe(0);
    const bobList = await b1.call('devices/list', { identityId: bob.id });
    expect(bobList.devices).toHaveLength(2);
    // Alice writes until she writes to both of Bob's devices (she took his list from the session).
    let probes = 0;
    await until([a1], async () => {
      const text = `to both ${++probes}`;
      await send(a1, alice, bob, text);
      const got = await until([b1, b2], () => textAt(b2, text), 'at b2');
      return got.devlistEcho === bobList.hash ? got : null;
    }, 'Alice writes to both of Bob’s devices');

    const since = await cursor(client, bob.dropUrls[0]!);
    const before = devicesSeals().length;
    const self = (await a1.call('devices/list', { identityId: alice.id })).devices[0]!;
    await a1.call('devices/rename', { identityId: alice.id, deviceId: self.deviceId, name: 'Desk 2' });
    const sealed = devicesSeals().slice(before).filter((s) => s.ourId === alice.publicKey);
    expect(sealed.map((s) => s.theirDevice).sort()).toEqual(bobList.devices.map((d) => d.deviceId).sort());
    const counted = await v0DeviceBoxes(client, bob.dropUrls[0]!, since, bobPair, alice.publicKey);
    expect(counted.v0).toBe(0);
    expect(counted.other).toBeGreaterThanOrEqual(2);
    for (const device of [b1, b2]) expect((await device.call('devices/list', { identityId: bob.id })).alarms).toEqual([]);
    renamedHash = (await a1.call('devices/list', { identityId: alice.id })).hash;
    bobSince = since;
  });

  it('a contact’s list change is relayed to our siblings (news inside sessions reaches only the devices the contact knows), from our own key only', async () => {
    const bobPair = await pairOf(b1, bob);
    // Each of Bob's devices merged Alice's renamed list and told its sibling in Bob's own drop.
    const relays = await waitFor(async () => {
      const found = (await ownBoxes(client, bob.dropUrls[0]!, bobSince, bobPair)).filter((p) => p.peer === alice.publicKey);
      return found.length > 0 ? found : null;
    }, 'a relay in Bob’s drop');
    for (const relay of relays) expect(deviceListHashSync(new Uint8Array(Buffer.from(relay.peerList!, 'base64url')))).toBe(renamedHash);

    // A relay is taken from our own key: Alice's list with one more device, sealed with Bob's key to his
    // drop (merged: exactly that list). A stranger's relay, with another device, first: never taken.
    const relayed = decodeDeviceList(new Uint8Array(Buffer.from(relays[0]!.peerList!, 'base64url')));
    const plus = (deviceId: string, epochs: number) => encodeDeviceList({ ...relayed, epoch: relayed.epoch + epochs, devices: [...relayed.devices, { deviceId, prekey: '22'.repeat(32), addedDay: 20_000, name: 'Relayed' }] });
    const madeUp = plus('77'.repeat(8), 1);
    const madeUpHash = deviceListHashSync(madeUp);
    const stranger = generateKeyPair();
    const strangerList = plus('66'.repeat(8), 2);
    // First a stranger's (sealed with another key, to Bob): not ours, not taken.
    await client.post(bob.dropUrls[0]!, await relayBox(stranger, bob.publicKey, alice.publicKey, strangerList));
    await client.post(bob.dropUrls[0]!, await relayBox(bobPair, bob.publicKey, alice.publicKey, madeUp));
    let probes = 0;
    const got = await until([b1], async () => {
      const text = `after the relay ${++probes}`;
      await send(b1, bob, alice, text);
      const arrived = await until([a1], () => textAt(a1, text), 'at Alice');
      return arrived.devlistEcho === madeUpHash ? arrived : null;
    }, 'Bob echoes the relayed list');
    expect(got.devlistEcho).toBe(madeUpHash);
    expect(got.devlistEcho).not.toBe(deviceListHashSync(strangerList));
  });
});

/** A sibling's relay of `peerHex`'s list, as deviceNews sends one: a version-0 `box_devices` with `peer` and `peerList`. */
async function relayBox(from: { publicKey: Uint8Array; privateKey: Uint8Array }, toHex: string, peerHex: string, list: Uint8Array): Promise<Uint8Array> {
  const json = serializeDropMessage({
    version: 1,
    time_stamp: Date.now(),
    sender: Buffer.from(from.publicKey).toString('hex'),
    drop_payload: JSON.stringify({ device: 'ab'.repeat(8), peer: peerHex, peerList: Buffer.from(list).toString('base64url') }),
    drop_payload_type: BOX_DEVICES,
    acknowledge_id: '0',
    dd: { v: 1, pd: 1 },
  });
  const padded = new Uint8Array(PAYLOAD_LENGTH);
  padded.set(json);
  return nativeBox.sealPdu(from, Buffer.from(toHex, 'hex'), padded);
}

/** The `box_devices` payloads the owner sealed to itself in `dropUrl` after `since`. */
async function ownBoxes(client: DropClient, dropUrl: string, since: string | null, owner: { publicKey: Uint8Array; privateKey: Uint8Array }): Promise<{ peer?: string; peerList?: string }[]> {
  const fetched = await client.fetch(dropUrl, since);
  if (fetched.status !== 'messages') return [];
  const hits = await nativeBox.trialOpen([owner], fetched.items.map((item) => item.body));
  const ownHex = Buffer.from(owner.publicKey).toString('hex');
  return hits.flatMap((hit) => {
    if (!hit) return [];
    const { message } = decodeDropEnvelope(hit.opened.payload, hit.opened.senderPublicKey);
    return message.sender === ownHex && message.drop_payload_type === BOX_DEVICES ? [JSON.parse(message.drop_payload) as { peer?: string; peerList?: string }] : [];
  });
}
