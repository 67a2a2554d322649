/**
 * Identity rotation after a lost or stolen device (electron/core/devices/rotation.ts, KEY_ROTATE 0x0D):
 * real engines and a real drop server. Alice rotates; Bob (version 1, a session with her) gets the
 * rotation inside the session, Carol (version 0) as a box sealed by Alice's old key; both acknowledge;
 * the old key is still read. Forged rotations are dropped by the engine. A sibling device gets the new
 * key, the removed device does not.
 */
import { describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { BOX_KEY_ROTATE, type KeyRotateContent, keyRotatePayload } from '../../shared/modules/keyRotate.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { decryptIdentityBackup } from '../../shared/protocol/identityBackup.js';
import { serializeDropMessage } from '../../shared/protocol/message.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import { openHandover, parseHandover, rotationProof, sealHandover } from '../../electron/core/devices/rotation.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

const kit = engineKit({ engine: { protocolV1: true } });
const { server, engine, send, messagesOf, dispatcher } = kit;

type Pair = { publicKey: Uint8Array; privateKey: Uint8Array };
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Reads and acknowledges (answering receipts to `sender`'s drops) until `condition` holds. */
const until = <T>(reader: TestEngine, condition: () => T | null | undefined | false, what: string, sender?: IdentitySummary): Promise<T> =>
  kit.until([reader], condition, what, { senders: sender ? [sender] : [] });

async function identityOf(e: TestEngine, id: string): Promise<IdentitySummary> {
  return (await e.call('identities/list', {})).find((identity) => identity.id === id)!;
}

/** A v0 box as any client holding `from` could post it. */
async function box(from: Pair, to: string, type: string, payload: string): Promise<Uint8Array> {
  const json = serializeDropMessage({ version: 1, time_stamp: Date.now(), sender: hex(from.publicKey), drop_payload: payload, drop_payload_type: type, acknowledge_id: '0' });
  const padded = new Uint8Array(PAYLOAD_LENGTH);
  padded.set(json);
  return nativeBox.sealPdu(from, Buffer.from(to, 'hex'), padded);
}

describe('identity rotation reaches contacts', () => {
  let d1: TestEngine;
  let bobEngine: TestEngine;
  let carolEngine: TestEngine;
  let alice: IdentitySummary;
  let bob: IdentitySummary;
  let carol: IdentitySummary;
  let stolen: Pair;
  let newKey: string;

  it('a version-1 contact gets it inside the session (0x0D), a version-0 contact as a box of the old key; both acknowledge', async () => {
    [d1, bobEngine, carolEngine] = [await engine(), await engine(), await engine({ protocolV1: false })];
    alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    bob = await bobEngine.call('identities/create', { alias: 'bob', serverUrl: server().url });
    carol = await carolEngine.call('identities/create', { alias: 'carol', serverUrl: server().url });
    // A session with Bob: Alice's v0 says she speaks v1, Bob answers with an Init, Alice writes in it.
    await send(d1, alice, bob, 'hello bob');
    await until(bobEngine, () => messagesOf(bobEngine).find((m) => m.text === 'hello bob'), 'hello at Bob');
    await send(bobEngine, bob, alice, 'hi (Init)');
    await until(d1, () => messagesOf(d1).find((m) => m.text === 'hi (Init)'), 'Init at Alice', bob);
    await send(d1, alice, bob, 'in the session');
    expect(await until(bobEngine, () => messagesOf(bobEngine).find((m) => m.text === 'in the session'), 'session at Bob', alice)).toMatchObject({ protocol: 1 });
    await send(d1, alice, carol, 'hello carol');
    await until(carolEngine, () => messagesOf(carolEngine).find((m) => m.text === 'hello carol'), 'hello at Carol');
    // What a thief of the laptop holds: the identity key as it is now.
    const exported = await d1.call('identities/export', { identityId: alice.id, passphrase: 'stolen laptop' });
    const backup = await decryptIdentityBackup(exported.content, 'stolen laptop');
    stolen = { publicKey: new Uint8Array(Buffer.from(backup.publicKey, 'hex')), privateKey: new Uint8Array(Buffer.from(backup.privateKey, 'hex')) };

    const rotated = await d1.call('devices/rotateKey', { identityId: alice.id, contacts: [bob, carol].map((c) => ({ publicKey: c.publicKey, dropUrls: c.dropUrls })) });
    expect(rotated).toMatchObject({ contacts: 2, siblings: 0 });
    newKey = rotated.publicKey;
    expect(newKey).not.toBe(alice.publicKey);
    expect((await identityOf(d1, alice.id)).publicKey).toBe(newKey);
    expect(d1.of('identities/changed').some((list) => list.some((i) => i.publicKey === newKey))).toBe(true);

    const atBob = await until(bobEngine, () => messagesOf(bobEngine).find((m) => m.type === BOX_KEY_ROTATE), 'rotation at Bob', alice);
    const atCarol = await until(carolEngine, () => messagesOf(carolEngine).find((m) => m.type === BOX_KEY_ROTATE), 'rotation at Carol', alice);
    // Bob's came in the session, Carol's as a version-0 box: both authenticated by Alice's old key.
    expect(atBob).toMatchObject({ protocol: 1, senderKey: alice.publicKey });
    expect(atCarol).toMatchObject({ protocol: 0, senderKey: alice.publicKey });
    for (const message of [atBob, atCarol]) {
      const content = message.content as KeyRotateContent;
      expect(content).toMatchObject({ type: BOX_KEY_ROTATE, key: newKey, drops: alice.dropUrls });
      expect(message.acknowledgeId).not.toBe('0');
    }
    // Their receipts go to the old key (they answer the message's sender): read during the grace.
    await until(d1, () => d1.of('outbox/delivered').filter((d) => d.localId.startsWith('rotate:')).length === 2 || null, 'both rotations acknowledged');
  });

  it('the new key is written to; the old key is still read (a version-0 box and the old session)', async () => {
    const renewed = { publicKey: newKey, dropUrls: alice.dropUrls };
    await send(bobEngine, bob, renewed, 'to the new key');
    const fresh = await until(d1, () => messagesOf(d1).find((m) => m.text === 'to the new key'), 'new key read', bob);
    expect(fresh).toMatchObject({ identityId: alice.id, senderKey: bob.publicKey });
    await send(carolEngine, carol, alice, 'to the old key');
    expect(await until(d1, () => messagesOf(d1).find((m) => m.text === 'to the old key'), 'old key read', carol)).toMatchObject({ identityId: alice.id, senderKey: carol.publicKey });
    // Bob's engine still holds the session with the old key: it stays readable (bound to its first key).
    await send(bobEngine, bob, alice, 'in the old session');
    expect(await until(d1, () => messagesOf(d1).find((m) => m.text === 'in the old session'), 'old session read', bob)).toMatchObject({ protocol: 1, identityId: alice.id });
  });

  it('forged, misdirected and malformed rotations never reach the UI; one from the old key with a valid proof does (the thief can do that)', async () => {
    const client = new DropClient({ dispatcher, timeoutMs: 5000 });
    const at = Date.now();
    const thiefKey = generateKeyPair();
    const drops = ['http://127.0.0.1:1/thief'];
    const rotation = (fields: Partial<Omit<KeyRotateContent, 'type'>>) =>
      keyRotatePayload({ key: hex(thiefKey.publicKey), drops, at, proof: rotationProof(thiefKey, alice.publicKey, bob.publicKey, at, drops)!, ...fields });
    const forged = [
      rotation({ proof: 'ab'.repeat(32) }),
      // A proof made for Carol does not hold for Bob.
      rotation({ proof: rotationProof(thiefKey, alice.publicKey, carol.publicKey, at, drops)! }),
      // Other drops than the proof covers.
      rotation({ drops: ['http://127.0.0.1:2/elsewhere'] }),
      // A key the sender does not hold (Carol's): the proof cannot be made for it.
      rotation({ key: carol.publicKey }),
      JSON.stringify({ key: hex(thiefKey.publicKey), at, proof: 'ab'.repeat(32) }),
    ];
    for (const payload of forged) await client.post(bob.dropUrls[0]!, await box(stolen, bob.publicKey, BOX_KEY_ROTATE, payload));
    await client.post(bob.dropUrls[0]!, await box(stolen, bob.publicKey, BOX_KEY_ROTATE, rotation({})));
    await client.post(bob.dropUrls[0]!, await box(stolen, bob.publicKey, 'box_message', JSON.stringify({ msg: 'marker' })));
    await until(bobEngine, () => messagesOf(bobEngine).find((m) => m.text === 'marker'), 'marker at Bob');
    // A batch comes again until acknowledged: one entry per dedupe key.
    const rotations = [...new Map(messagesOf(bobEngine).filter((m) => m.type === BOX_KEY_ROTATE).map((m) => [m.dedupeKey, m])).values()];
    // Alice's own, and the thief's valid one: the UI keeps the first and shows a notice on this one.
    expect(rotations.map((m) => (m.content as KeyRotateContent).key)).toEqual([newKey, hex(thiefKey.publicKey)]);
  });
});

describe('the old key after a rotation', () => {
  it('is still read after a restart, and no longer once its 7 days of grace are over', async () => {
    let ahead = 0;
    const clock = { now: () => Date.now() + ahead };
    let erinEngine = await engine({ clock });
    const erin = await erinEngine.call('identities/create', { alias: 'erin', serverUrl: server().url });
    const { publicKey: renewed } = await erinEngine.call('devices/rotateKey', { identityId: erin.id, contacts: [] });
    await erinEngine.close();
    erinEngine = await engine({ clock, dataDir: erinEngine.dataDir });
    expect((await identityOf(erinEngine, erin.id)).publicKey).toBe(renewed);

    const client = new DropClient({ dispatcher, timeoutMs: 5000 });
    const stranger = generateKeyPair();
    const post = async (to: string, text: string) => client.post(erin.dropUrls[0]!, await box(stranger, to, 'box_message', JSON.stringify({ msg: text })));
    await post(erin.publicKey, 'old key, day 0');
    await until(erinEngine, () => messagesOf(erinEngine).find((m) => m.text === 'old key, day 0'), 'the old key is read after a restart');
    ahead = 8 * 24 * 3600_000;
    await post(erin.publicKey, 'old key, day 8');
    await post(renewed, 'new key, day 8');
    await until(erinEngine, () => messagesOf(erinEngine).find((m) => m.text === 'new key, day 8'), 'the new key is read');
    expect(messagesOf(erinEngine).some((m) => m.text === 'old key, day 8')).toBe(false);
  });
});

describe('identity rotation reaches sibling devices, not the removed one', () => {
  it('the laptop gets the new key sealed to its device prekey; the removed device reads the same drops and keeps the old key', async () => {
    const [d1, d2, d3] = [await engine(), await engine(), await engine()];
    const dave = await d1.call('identities/create', { alias: 'dave', serverUrl: server().url });
    await link(d1, dave, d2);
    await link(d1, dave, d3);
    const thiefDevice = (await d3.call('devices/list', { identityId: dave.id })).devices.find((d) => d.self)!.deviceId;
    const removed = await d1.call('devices/remove', { identityId: dave.id, deviceId: thiefDevice });
    expect(removed.devices).toHaveLength(2);
    await waitFor(async () => (await d2.call('devices/list', { identityId: dave.id })).hash === removed.hash || null, 'the laptop merged the removal', 20_000);

    const rotated = await d1.call('devices/rotateKey', { identityId: dave.id, contacts: [] });
    expect(rotated).toMatchObject({ contacts: 0, siblings: 1 });
    await waitFor(async () => (await identityOf(d2, dave.id)).publicKey === rotated.publicKey || null, 'the laptop has the new key', 20_000);

    // After the handover: a message to the new key (only its holders read it), then one to the old key.
    const client = new DropClient({ dispatcher, timeoutMs: 5000 });
    const stranger = generateKeyPair();
    await client.post(dave.dropUrls[0]!, await box(stranger, rotated.publicKey, 'box_message', JSON.stringify({ msg: 'for the new key' })));
    await client.post(dave.dropUrls[0]!, await box(stranger, dave.publicKey, 'box_message', JSON.stringify({ msg: 'for the old key' })));
    await until(d2, () => messagesOf(d2).find((m) => m.text === 'for the new key'), 'the laptop reads the new key');
    await until(d3, () => messagesOf(d3).find((m) => m.text === 'for the old key'), 'the removed device read past the handover');
    expect((await identityOf(d3, dave.id)).publicKey).toBe(dave.publicKey);
    expect(messagesOf(d3).some((m) => m.text === 'for the new key')).toBe(false);
    // The handover never reaches a UI.
    for (const device of [d1, d2, d3]) expect(messagesOf(device).some((m) => m.type === 'box_key_handover')).toBe(false);
  });

  it('a handover opens only on the device it names, from the device that sealed it', () => {
    const keys = () => {
      const pair = generateKeyPair();
      return { prekey: hex(pair.publicKey), prekeyPrivate: hex(pair.privateKey) };
    };
    const desktop = { selfId: '11'.repeat(8), ...keys() };
    const laptop = { selfId: '22'.repeat(8), ...keys() };
    const thief = { selfId: '33'.repeat(8), ...keys() };
    const fresh = generateKeyPair();
    const sealed = sealHandover(desktop, laptop.selfId, laptop.prekey, fresh, 1_700_000_000_000)!;
    const handover = parseHandover(JSON.stringify({ device: desktop.selfId, ...sealed }))!;
    const opened = openHandover(laptop, desktop.prekey, handover);
    expect(opened && hex(opened.pair.privateKey)).toBe(hex(fresh.privateKey));
    expect(opened?.at).toBe(1_700_000_000_000);
    // The thief reads the same drops: under its own prekey (even naming itself the laptop) nothing opens.
    expect(openHandover({ ...thief, selfId: laptop.selfId }, desktop.prekey, handover)).toBeNull();
    expect(openHandover(thief, desktop.prekey, { ...handover, to: thief.selfId })).toBeNull();
    // Nor can it hand the laptop a key of its own: the laptop checks the sender's prekey from its list.
    const forged = parseHandover(JSON.stringify({ device: desktop.selfId, ...sealHandover(thief, laptop.selfId, laptop.prekey, generateKeyPair(), 1)! }))!;
    expect(openHandover(laptop, desktop.prekey, forged)).toBeNull();
    // Tampering with any field fails the tag.
    const box = Buffer.from(handover.box, 'base64url');
    box[3]! ^= 1;
    expect(openHandover(laptop, desktop.prekey, { ...handover, box: box.toString('base64url') })).toBeNull();
    expect(openHandover(laptop, desktop.prekey, { ...handover, key: hex(generateKeyPair().publicKey) })).toBeNull();
    expect(parseHandover('{"device":"x"}')).toBeNull();
    expect(parseHandover('not json')).toBeNull();
  });
});
