/**
 * Device news against hostile senders (electron/core/devices/deviceNews.ts), driven with inbox
 * messages as the batch opener hands them over (review issue 17):
 * - a stranger's `list`s never reach the sessions file (each made a peer entry and rewrote the file);
 * - a contact's fresh made-up echo hashes and asks make us post at most four times per kind per ten
 *   minutes (the rate limit was per contact and hash: 200 echoes and 200 asks made 400 posts);
 * - deleting an identity deletes its device list entry (it kept this device's prekey private half).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { IncomingMessage } from '../../shared/ipc/contract.js';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { encodeDeviceList } from '../../shared/protocol/deviceList.js';
import { BOX_DEVICES, DeviceNews } from '../../electron/core/devices/deviceNews.js';
import { SessionStore } from '../../electron/core/state/sessionStore.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { removeDir, startTestEngine, tempDir } from './helpers/testEngine.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

const NOW = Date.UTC(2026, 10, 30);
const hexKey = () => Buffer.from(generateKeyPair().publicKey).toString('hex');
const silent = { info() {}, warn() {}, error() {}, debug() {} };

async function setUp() {
  const dataDir = tempDir('deaddrop-device-security-');
  dirs.push(dataDir);
  const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), { writeDelayMs: 0 });
  await stateStore.unlock('secret');
  const pair = generateKeyPair();
  await stateStore.addIdentity({ id: 'id-1', alias: 'kim', publicKey: Buffer.from(pair.publicKey).toString('hex'), dropUrls: ['http://127.0.0.1:9/d/x'], dropBits: 12, createdAt: 1 }, pair.privateKey);
  const sessions = await SessionStore.load(dataDir, stateStore);
  const posted: { contactKey: string }[] = [];
  let clock = NOW;
  const news = new DeviceNews({
    dataDir,
    stateStore,
    sessions,
    pool: { seal: async () => new Uint8Array(1) },
    post: async (_dropUrls, _pdu, to) => void posted.push({ contactKey: to.contactKey }),
    emit: () => undefined,
    now: () => clock,
    logger: silent as never,
  });
  return { sessions, news, posted, store: news.store, advance: (ms: number) => void (clock += ms) };
}

/** A list of eight devices (ids from `n`), as base64url of its DEVICES body. */
const listOf = (n: number): string =>
  Buffer.from(
    encodeDeviceList({ epoch: 1, devices: Array.from({ length: 8 }, (_, i) => ({ deviceId: (n * 16 + i).toString(16).padStart(16, '0'), prekey: '33'.repeat(32), addedDay: 1, name: 'n'.repeat(32) })) }),
  ).toString('base64url');

function devicesMessage(senderKey: string, payload: object): IncomingMessage {
  return { type: BOX_DEVICES, identityId: 'id-1', senderKey, payload: JSON.stringify({ device: '0123456789abcdef', ...payload }), content: { type: BOX_DEVICES }, receivedAt: NOW } as unknown as IncomingMessage;
}

function echoMessage(senderKey: string, hash: string): IncomingMessage {
  return { type: 'box_message', identityId: 'id-1', senderKey, payload: '{}', content: { type: 'box_message' }, devlistEcho: hash, receivedAt: NOW } as unknown as IncomingMessage;
}

describe('device news from hostile senders', () => {
  it('a stranger’s device lists are not kept: no peer entry, nothing written for them', async () => {
    const { sessions, news } = await setUp();
    for (let s = 0; s < 20; s++) {
      const stranger = hexKey();
      news.take([0, 1, 2].map((k) => devicesMessage(stranger, { list: listOf(s * 3 + k) })));
    }
    await news.settled();
    expect(sessions.peerKeys('id-1')).toEqual([]);
  });

  it('a contact’s list is still kept', async () => {
    const { sessions, news } = await setUp();
    const contact = hexKey();
    await sessions.setPeer('id-1', contact, { dropUrls: ['http://127.0.0.1:9/d/peer'] });
    news.take([devicesMessage(contact, { list: listOf(1) })]);
    await news.settled();
    expect(sessions.peer('id-1', contact).devlists).toEqual([listOf(1)]);
  });

  it('a contact’s made-up echoes and asks make four posts of each kind per ten minutes, whatever the hashes', async () => {
    const { sessions, news, posted, advance } = await setUp();
    const contact = hexKey();
    await sessions.setPeer('id-1', contact, { dropUrls: ['http://127.0.0.1:9/d/peer'] });
    news.take([devicesMessage(contact, { list: listOf(1) })]);
    await news.settled();
    news.take(Array.from({ length: 200 }, (_, i) => echoMessage(contact, (0x10000000 + i).toString(16))));
    news.take(Array.from({ length: 200 }, (_, i) => devicesMessage(contact, { ask: (0x20000000 + i).toString(16) })));
    await news.settled();
    // Four asks of ours, four answers (views) to theirs.
    expect(posted).toHaveLength(8);
    advance(10 * 60_000);
    news.take([echoMessage(contact, '30000000'), devicesMessage(contact, { ask: '40000000' })]);
    await news.settled();
    expect(posted).toHaveLength(10);
    expect(posted.every((p) => p.contactKey === contact)).toBe(true);
  });

  it('a contact’s made-up views (told unasked) raise at most four alarms per ten minutes', async () => {
    const { sessions, news, advance, store } = await setUp();
    const contact = hexKey();
    await sessions.setPeer('id-1', contact, { dropUrls: ['http://127.0.0.1:9/d/peer'] });
    const own = await news.store.list('id-1');
    // Each view: our list plus a device of the contact's making.
    const madeUp = (n: number) =>
      Buffer.from(encodeDeviceList({ ...own, devices: [...own.devices, { deviceId: (0x7000 + n).toString(16).padStart(16, '0'), prekey: '44'.repeat(32), addedDay: 1, name: 'x' }] })).toString('base64url');
    news.take(Array.from({ length: 100 }, (_, i) => devicesMessage(contact, { view: madeUp(i) })));
    await news.settled();
    expect((await store.view('id-1')).alarms).toHaveLength(4);
    advance(10 * 60_000);
    news.take([devicesMessage(contact, { view: madeUp(200) })]);
    await news.settled();
    expect((await store.view('id-1')).alarms).toHaveLength(5);
  });

  it('identities/delete deletes the identity’s device list entry', async () => {
    const dataDir = tempDir('deaddrop-device-delete-');
    dirs.push(dataDir);
    const t = await startTestEngine({ dataDir, autoPoll: false });
    try {
      const identity = await t.call('identities/create', { alias: 'kim', serverUrl: 'http://127.0.0.1:9', dropBits: 12 });
      await t.call('devices/list', { identityId: identity.id });
      const entries = () => Object.keys(JSON.parse(readFileSync(join(dataDir, 'engine-devices.json'), 'utf8')).identities);
      expect(entries()).toEqual([identity.id]);
      await t.call('identities/delete', { identityId: identity.id });
      expect(entries()).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
