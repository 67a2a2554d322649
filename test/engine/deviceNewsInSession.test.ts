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
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Agent } from 'undici';
import type { IdentitySummary, IncomingMessage } from '../../shared/ipc/contract.js';
import { decryptIdentityBackup } from '../../shared/protocol/identityBackup.js';
import { decodeDropEnvelope } from '../../shared/protocol/message.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import * as v1 from '../../electron/core/v1/session.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import { BOX_DEVICES } from '../../electron/core/devices/deviceNews.js';
import { INTRO_BODY_TYPE, MODULE_BODY_TYPE, unwrapIntro } from '../../electron/core/sessions/content.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

vi.mock('../../electron/core/v1/session.js', async (importOriginal) => {
  const actual = await importOriginal<typeof v1>();
  return { ...actual, seal: vi.fn(actual.seal) };
});

let server: ServerProcess;
const engines: TestEngine[] = [];
const dispatcher = new Agent();

beforeAll(async () => {
  server = await startServerProcess();
});

afterAll(async () => {
  for (const engine of engines) await engine.close().catch(() => undefined);
  await server?.stop();
  await dispatcher.close();
  for (const engine of engines) removeDir(engine.dataDir);
});

async function engine(): Promise<TestEngine> {
  const started = await startTestEngine({ protocolV1: true });
  engines.push(started);
  return started;
}

let sends = 0;
async function send(from: TestEngine, identity: IdentitySummary, to: IdentitySummary, body: string): Promise<void> {
  const localId = `m-${++sends}`;
  await from.call('messages/send', { identityId: identity.id, localId, recipient: { publicKey: to.publicKey, dropUrls: to.dropUrls }, text: body });
  await waitFor(() => from.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `${localId} posted`);
}

async function until<T>(readers: TestEngine[], condition: () => T | null | undefined | false | Promise<T | null | undefined | false>, what: string): Promise<T> {
  return waitFor(async () => {
    for (const reader of readers) await receiveAndAck(reader, 0, 'batches');
    return condition();
  }, what, 20_000);
}

const messagesOf = (e: TestEngine): IncomingMessage[] => e.of('inbox/batch').flatMap((b) => b.messages);
const textAt = (e: TestEngine, text: string): IncomingMessage | undefined => messagesOf(e).find((m) => m.text === text);

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

  it('a rename reaches a contact with a session inside it, and no version-0 box_devices goes to their drop', async () => {
    [a1, b1] = [await engine(), await engine()];
    alice = await a1.call('identities/create', { alias: 'alice', serverUrl: server.url });
    bob = await b1.call('identities/create', { alias: 'bob', serverUrl: server.url });
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
    const sealed = devicesSeals().slice(sealedBefore);
    expect(sealed).toHaveLength(1);
    expect(sealed[0]).toMatchObject({ ourId: alice.publicKey, theirId: bob.publicKey });
    const counted = await v0DeviceBoxes(client, bob.dropUrls[0]!, since, bobPair, alice.publicKey);
    expect(counted).toEqual({ v0: 0, other: 1 });

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
    const sealed = devicesSeals().slice(before);
    expect(sealed.map((s) => s.theirDevice).sort()).toEqual(bobList.devices.map((d) => d.deviceId).sort());
    expect(await v0DeviceBoxes(client, bob.dropUrls[0]!, since, bobPair, alice.publicKey)).toEqual({ v0: 0, other: 2 });
    for (const device of [b1, b2]) expect((await device.call('devices/list', { identityId: bob.id })).alarms).toEqual([]);
  });
});
