/**
 * Per-device version-1 sessions (issue 17, PROTOCOL-V1.md 5c): Alice on a desktop and a laptop, Bob on
 * two devices, every device with its own ratchet session with each device of the other side. Real
 * engines, a real drop server, real links. The ratchet library is wrapped (not replaced) so the test
 * can count what each device sealed to which device, and check that no (session, epoch, n) is sealed
 * twice.
 */
import { describe, expect, it, vi } from 'vitest';
import type { IdentitySummary, IncomingMessage } from '../../shared/ipc/contract.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { serializeDropMessage } from '../../shared/protocol/message.js';
import { decryptIdentityBackup } from '../../shared/protocol/identityBackup.js';
import { formatDropUrl, generateDropId } from '../../shared/protocol/dropId.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import * as v1 from '../../electron/core/v1/session.js';
import { MessageType } from '../../electron/core/v1/body.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import { engineKit } from './helpers/engineKit.js';
import { FAST_TIMING, type TestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

vi.mock('../../electron/core/v1/session.js', async (importOriginal) => {
  const actual = await importOriginal<typeof v1>();
  return { ...actual, seal: vi.fn(actual.seal), initiate: vi.fn(actual.initiate), openInitWithDh: vi.fn(actual.openInitWithDh) };
});

const kit = engineKit({
  // PINGs soon after a message (the default waits 30-120 s), so each session's PING is seen.
  engine: { protocolV1: true, timing: { ...FAST_TIMING, pingDelayMs: { min: 200, max: 400 } } },
  readBeforeSend: true,
  untilTimeoutMs: 30_000,
});
const { server, engine, send, receive, messagesOf, dispatcher } = kit;

/** One seal of the ratchet library: who sealed (identity, device), in which session, to which device. */
interface Sealed {
  ourId: string;
  ourDevice: string;
  theirId: string;
  sessionId: string;
  theirDevice: string | undefined;
  epoch: number;
  n: number;
  init: boolean;
  /** What went in it: a PING, device news (a MODULE body carrying box_devices), or anything else. */
  kind: 'ping' | 'deviceNews' | 'other';
}

function seals(): Sealed[] {
  const mock = vi.mocked(v1.seal).mock;
  return mock.calls.flatMap(([state, body], i) => {
    const result = mock.results[i];
    if (result?.type !== 'return' || 'error' in result.value) return [];
    return [
      {
        ourId: Buffer.from(state.ourId, 'base64url').toString('hex'),
        ourDevice: Buffer.from(state.deviceId, 'base64url').toString('hex'),
        theirId: Buffer.from(state.theirId, 'base64url').toString('hex'),
        sessionId: state.id,
        theirDevice: state.theirDevice,
        epoch: result.value.ref.epoch,
        n: result.value.ref.n,
        init: state.role === 'initiator' && !state.confirmed,
        kind: body.type === MessageType.PING ? 'ping' : body.content && Buffer.from(body.content).includes('box_devices') ? 'deviceNews' : 'other',
      },
    ];
  });
}

/** Polls every engine (answering receipts to each of `others`) until `check` holds. */
const until = <T>(all: TestEngine[], check: () => T | null | undefined | Promise<T | null | undefined>, what: string, others: IdentitySummary[] = []): Promise<T> =>
  kit.until(all, check, what, { senders: others });

const selfOf = async (e: TestEngine, identity: IdentitySummary): Promise<string> => (await e.call('devices/list', { identityId: identity.id })).devices.find((d) => d.self)!.deviceId;

describe('per-device version-1 sessions', { timeout: 180_000 }, () => {
  let d1: TestEngine;
  let d2: TestEngine;
  let b1: TestEngine;
  let b2: TestEngine;
  let alice: IdentitySummary;
  let bob: IdentitySummary;
  const ids: Record<string, string> = {};

  it('linked devices on both sides: every message reaches every device of the other side as a v1 Session PDU', async () => {
    [d1, d2, b1, b2] = [await engine(), await engine(), await engine(), await engine()];
    alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    bob = await b1.call('identities/create', { alias: 'bob', serverUrl: server().url });

    // A session on one device each first (as before device lists).
    await send(d1, alice, bob, 'hello');
    await receive(b1, alice, 'hello');
    await send(b1, bob, alice, 'hi (Init)');
    expect(await receive(d1, bob, 'hi (Init)')).toMatchObject({ protocol: 1 });
    await send(d1, alice, bob, 'in the session');
    expect(await receive(b1, alice, 'in the session')).toMatchObject({ protocol: 1 });

    // Alice links her laptop; Bob's desktop hears her list (and that her client keeps per-device sessions).
    await link(d1, alice, d2);
    await until([b1], async () => (await b1.call('sessions/status', { identityId: bob.id })).contacts[alice.publicKey]?.protocol === 1 && messagesOf(b1).length >= 2 ? true : null, 'Bob reads Alice’s list');
    // Bob links his second device; Alice's devices hear his list.
    await link(b1, bob, b2);
    ids.d1 = await selfOf(d1, alice);
    ids.d2 = await selfOf(d2, alice);
    ids.b1 = await selfOf(b1, bob);
    ids.b2 = await selfOf(b2, bob);
    expect(new Set(Object.values(ids)).size).toBe(4);
    const everyone: [TestEngine, IdentitySummary, IdentitySummary, TestEngine[]][] = [
      [d1, alice, bob, [b1, b2]],
      [b2, bob, alice, [d1, d2]],
      [d2, alice, bob, [b1, b2]],
      [b1, bob, alice, [d1, d2]],
    ];
    const reachesAll = async (from: TestEngine, sender: IdentitySummary, to: IdentitySummary, readers: TestEngine[], text: string): Promise<IncomingMessage[]> => {
      await send(from, sender, to, text);
      const got: IncomingMessage[] = [];
      for (const reader of readers) got.push(await until(readers, () => messagesOf(reader).find((m) => m.text === text), `"${text}" everywhere`, [sender]));
      return got;
    };
    // First each device writes once. The desktop knows Bob's list (his link announced it): version 1
    // to both of his devices. Bob's new device joined after Alice's announcement and knows nothing of
    // her list: it writes version 0 (reaching both of hers), which names no list of hers, and her
    // devices answer with it. Whatever the protocol, every device of the other side reads it.
    for (const [from, sender, to, readers] of everyone) await reachesAll(from, sender, to, readers, `first from ${ids[from === d1 ? 'd1' : from === d2 ? 'd2' : from === b1 ? 'b1' : 'b2']}`);
    expect(messagesOf(b1).find((m) => m.text === `first from ${ids.d1}`)).toMatchObject({ protocol: 1 });
    expect(messagesOf(b2).find((m) => m.text === `first from ${ids.d1}`)).toMatchObject({ protocol: 1 });

    // From then on every device writes to every device of the other side in its own session.
    for (const round of [1, 2]) {
      for (const [from, sender, to, readers] of everyone) {
        const got = await reachesAll(from, sender, to, readers, `round ${round} from ${from === d1 ? 'the desktop' : from === d2 ? 'the laptop' : from === b1 ? 'Bob’s desktop' : 'Bob’s new device'}`);
        for (const message of got) expect(message).toMatchObject({ protocol: 1, senderKey: sender.publicKey });
      }
    }
    for (const [device, identity] of [[d1, alice], [d2, alice], [b1, bob], [b2, bob]] as const) {
      const status = (await device.call('sessions/status', { identityId: identity.id })).contacts;
      const peer = identity === alice ? bob : alice;
      expect(status[peer.publicKey]).toMatchObject({ protocol: 1 });
      expect(status[peer.publicKey]?.reason).toBeUndefined();
    }
    // The last round went to both of Bob's devices in sessions addressed to each (no Init, they answered).
    // (PINGs and device news go in the same sessions, at times of their own: only messages count here.)
    const last = seals().filter((s) => s.ourId === alice.publicKey && s.ourDevice === ids.d1 && s.kind === 'other').slice(-2);
    expect(last.map((s) => s.theirDevice).sort()).toEqual([ids.b1, ids.b2].sort());
    expect(last.every((s) => !s.init)).toBe(true);
    // No device writes in another device's session: one writer per session and side.
    const sessionsBy = new Map<string, Set<string>>();
    for (const s of seals()) sessionsBy.set(`${s.ourId}/${s.sessionId}`, (sessionsBy.get(`${s.ourId}/${s.sessionId}`) ?? new Set()).add(s.ourDevice));
    for (const writers of sessionsBy.values()) expect(writers.size).toBe(1);
    // Each of Alice's devices sealed to each of Bob's devices in a session of its own, and Bob's to hers.
    for (const [ourId, ours, theirs] of [[alice.publicKey, [ids.d1, ids.d2], [ids.b1, ids.b2]], [bob.publicKey, [ids.b1, ids.b2], [ids.d1, ids.d2]]] as const) {
      for (const our of ours) {
        for (const their of theirs) {
          const pair = seals().filter((s) => s.ourId === ourId && s.ourDevice === our && s.theirDevice === their && !s.init);
          expect(pair.length, `${our} → ${their}`).toBeGreaterThan(0);
          expect(new Set(pair.map((s) => s.sessionId)).size).toBe(1);
        }
      }
    }
  });

  it('a sibling skips an Init addressed to the other device silently: no qpk_stale answer, no reset', () => {
    // Siblings did meet Init PDUs keyed with the other device's prekey (none of their keys opens them)…
    const notOurs = vi.mocked(v1.openInitWithDh).mock.results.filter((r) => r.type === 'return' && r.value !== null && 'staleQpk' in r.value);
    expect(notOurs.length).toBeGreaterThan(0);
    // …and answered none of them (a qpk_stale answer would start a session every device of the peer opens).
    const stale = vi.mocked(v1.initiate).mock.calls.filter(([params]) => ((params.flags ?? 0) & v1.INIT_FLAG_QPK_STALE) !== 0);
    expect(stale).toEqual([]);
    const resets = vi.mocked(v1.initiate).mock.calls.filter(([params]) => ((params.flags ?? 0) & v1.INIT_FLAG_RESET) !== 0);
    expect(resets).toEqual([]);
    // Every Init after the links named the device it was for (its prekey from the peer's list).
    const addressed = vi.mocked(v1.initiate).mock.calls.filter(([params]) => params.theirDevice !== undefined);
    expect(addressed.length).toBeGreaterThanOrEqual(4);
    for (const [params] of addressed) expect(params.deviceId).toBeDefined();
    // No reset waits for anyone's answer either.
    for (const [e, identity] of [[d1, alice], [d2, alice], [b1, bob], [b2, bob]] as const) {
      void identity;
      expect(messagesOf(e).some((m) => m.unconfirmedSession)).toBe(false);
    }
  });

  it('PINGs go in the session that owes one, to that device', () => {
    const mock = vi.mocked(v1.seal).mock;
    const pings = mock.calls.filter(([, body]) => body.type === MessageType.PING).map(([state]) => state);
    expect(pings.length).toBeGreaterThan(0);
    // Every PING after the links is in a session with one device of the peer, and each (device, session) pair is one.
    const perDevice = pings.filter((state) => state.theirDevice !== undefined);
    expect(perDevice.length).toBeGreaterThan(0);
    for (const state of perDevice) {
      const writers = seals().filter((s) => s.sessionId === state.id && s.ourId === Buffer.from(state.ourId, 'base64url').toString('hex'));
      expect(new Set(writers.map((s) => s.theirDevice))).toEqual(new Set([state.theirDevice]));
    }
  });

  it('no (session, epoch, n) is sealed twice', () => {
    // Both sides of a session share its id: (side, session, epoch, n).
    const keys = seals().map((s) => `${s.ourId}/${s.sessionId}/${s.epoch}/${s.n}`);
    expect(keys.length).toBeGreaterThan(10);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('after Bob removes a device, Alice seals nothing more to it and it opens nothing new', async () => {
    await b1.call('devices/remove', { identityId: bob.id, deviceId: ids.b2! });
    await until([b2], async () => ((await b2.call('devices/list', { identityId: bob.id })).removedAt !== null ? true : null), 'b2 learns it was removed');
    // Alice's devices merge the removal (Bob's announcement reaches both).
    for (const device of [d1, d2]) {
      await until([device], async () => {
        // The echo of Bob's list in Alice's messages names the list without b2 once merged: send and look.
        const peer = (await device.call('sessions/status', { identityId: alice.id })).contacts[bob.publicKey];
        return peer ? true : null;
      }, 'Alice knows Bob');
    }
    const listAfter = (await b1.call('devices/list', { identityId: bob.id })).hash;
    let probes = 0;
    await until([b1], async () => {
      const text = `after the removal ${++probes}`;
      await send(d1, alice, bob, text);
      const got = await until([b1], () => messagesOf(b1).find((m) => m.text === text), text, [alice]);
      return got.devlistEcho === listAfter ? got : null;
    }, 'the desktop echoes Bob’s list without b2');
    const toB2Before = seals().filter((s) => s.theirDevice === ids.b2).length;
    expect(toB2Before).toBeGreaterThan(0);
    await send(d1, alice, bob, 'after removal from the desktop');
    await send(d2, alice, bob, 'after removal from the laptop');
    expect((await receive(b1, alice, 'after removal from the desktop')).protocol).toBe(1);
    expect((await receive(b1, alice, 'after removal from the laptop')).protocol).toBe(1);
    // The laptop too learnt of the removal before writing (it reads Bob's announcement in Alice's drops).
    expect(seals().filter((s) => s.theirDevice === ids.b2).length).toBe(toB2Before);
    // The removed device still reads Bob's drops: nothing new opens there.
    await until([b2], () => (b2.of('inbox/batch').length > 0 ? true : null), 'b2 polled');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await receiveAndAck(b2, 0, 'batches');
    expect(messagesOf(b2).some((m) => m.text?.startsWith('after removal from'))).toBe(false);
  });

  it('a version-0 box sealed with Bob’s key but without `pd` (a thief’s) does not downgrade Alice to version 0 with him', async () => {
    const exported = await b1.call('identities/export', { identityId: bob.id, passphrase: 'stolen backup' });
    const key = await decryptIdentityBackup(exported.content, 'stolen backup');
    const pair = { publicKey: new Uint8Array(Buffer.from(key.publicKey, 'hex')), privateKey: new Uint8Array(Buffer.from(key.privateKey, 'hex')) };
    // As the injection thief's announcement: version 1, several devices, no per-device sessions.
    const json = serializeDropMessage({ version: 1, time_stamp: Date.now(), sender: bob.publicKey, drop_payload: JSON.stringify({ msg: 'from the thief' }), drop_payload_type: 'box_message', acknowledge_id: '0', dd: { v: 1, md: 1 } });
    const payload = new Uint8Array(PAYLOAD_LENGTH);
    payload.set(json);
    await new DropClient({ dispatcher, timeoutMs: 5000 }).post(alice.dropUrls[0]!, await nativeBox.sealPdu(pair, Buffer.from(alice.publicKey, 'hex'), payload));
    for (const device of [d1, d2]) await until([device], () => messagesOf(device).find((m) => m.text === 'from the thief'), 'the thief’s box read');
    // Both of Alice's devices still write to Bob in their sessions (version 0 would open with the stolen key).
    await send(d1, alice, bob, 'after the thief from the desktop');
    await send(d2, alice, bob, 'after the thief from the laptop');
    expect((await receive(b1, alice, 'after the thief from the desktop')).protocol).toBe(1);
    expect((await receive(b1, alice, 'after the thief from the laptop')).protocol).toBe(1);
  });

  it('a contact whose client does not keep per-device sessions still gets version 0', async () => {
    const carol = generateKeyPair();
    const carolHex = Buffer.from(carol.publicKey).toString('hex');
    const carolDrop = formatDropUrl(server().url, generateDropId());
    const client = new DropClient({ dispatcher, timeoutMs: 5000 });
    // Carol's client speaks version 1 on one device (dd.v, no pd).
    const json = serializeDropMessage({ version: 1, time_stamp: Date.now(), sender: carolHex, drop_payload: JSON.stringify({ msg: 'hi alice' }), drop_payload_type: 'box_message', acknowledge_id: '0', dd: { v: 1 } });
    const payload = new Uint8Array(PAYLOAD_LENGTH);
    payload.set(json);
    await client.post(alice.dropUrls[0]!, await nativeBox.sealPdu(carol, Buffer.from(alice.publicKey, 'hex'), payload));
    await until([d1], () => messagesOf(d1).find((m) => m.text === 'hi alice'), 'Carol’s message at the desktop');
    const status = await until([d1], async () => (await d1.call('sessions/status', { identityId: alice.id })).contacts[carolHex], 'Carol speaks v1');
    expect(status).toMatchObject({ protocol: 0, reason: 'ownDevices' });
    await d1.call('messages/send', { identityId: alice.id, localId: 'to-carol', recipient: { publicKey: carolHex, dropUrls: [carolDrop] }, text: 'hello carol' });
    await waitFor(() => d1.of('outbox/status').find((s) => s.localId === 'to-carol' && s.status === 'posted'), 'to Carol posted');
    const fetched = await client.fetch(carolDrop, null);
    if (fetched.status !== 'messages') throw new Error('nothing in Carol’s drop');
    // Carol opens it as a version-0 box with her identity key alone (no session exists with her).
    const opened = await nativeBox.trialOpen([carol], fetched.items.map((item) => item.body));
    expect(opened.filter((hit) => hit !== null).length).toBe(fetched.items.length);
    expect(seals().filter((s) => s.theirId === carolHex)).toEqual([]);
  });
});
