/**
 * Linking a second device (PROTOCOL-V1.md 5c), through the engines' `devices/*` channels against a
 * real drop server: the new device gets the identity, its cursors and the UI's records, and then both
 * devices read the identity's drop with their own cursors. A wrong code, a second device answering the
 * same QR code, a server that alters one PDU and one that drops one (the link times out) each stop the
 * link on both devices with nothing added; a server that repeats and reorders PDUs does not hurt.
 */
import { createServer, type IncomingMessage as HttpRequest, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupUiPart } from '../../shared/backup/backupPayload.js';
import type { DeviceLinkStatus, IdentitySummary } from '../../shared/ipc/contract.js';
import { parseLinkString } from '../../shared/protocol/deviceLink.js';
import { parseDropUrl } from '../../shared/protocol/dropId.js';
import { type SpawnedDropServer, spawnDropServer } from '../../server/index.js';
import { repoRoot } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';

let server: SpawnedDropServer;
const engines: TestEngine[] = [];
async function engine(): Promise<TestEngine> {
  const started = await startTestEngine();
  engines.push(started);
  return started;
}

beforeAll(async () => {
  server = await spawnDropServer({
    command: process.execPath,
    args: ['--import', 'tsx', 'server/cli.ts', '--port', '0', '--db', 'sqlite::memory:', '--log-level', 'error'],
    cwd: repoRoot,
    startTimeoutMs: 20_000,
  });
});
afterAll(async () => {
  for (const e of engines) {
    await e.close();
    removeDir(e.dataDir);
  }
  await server?.stop();
});

const WORDS = 'the a to and you I it is for on that this we be at have can meet tomorrow later see thanks sure what when where how about train time lunch call back home work soon ok yes no maybe great sounds good let me know why not'.split(' ');

/** A chat line of 3 to 24 random common words (compresses like chat text, unlike random bytes or repeats). */
function chatLine(n: number): string {
  const length = 3 + Math.floor(Math.random() * 22);
  return `${Array.from({ length }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(' ')} ${n}`;
}

/** The UI's records of an identity with one contact and `count` messages with them, as a backup holds them. */
export function uiPart(identityId: string, contact: IdentitySummary, count: number): BackupUiPart {
  const messages = Array.from({ length: count }, (_, n) => {
    const incoming = n % 2 === 0;
    return {
      id: incoming ? `in:${identityId}:${contact.publicKey}:${n}` : `out:${identityId}:${n}`,
      contactKey: contact.publicKey,
      direction: incoming ? ('in' as const) : ('out' as const),
      kind: 'text' as const,
      text: chatLine(n),
      payloadType: 'box_message',
      payload: '',
      share: null,
      sortAt: 1_700_000_000_000 + n * 60_000,
      createdAt: 1_700_000_000_000 + n * 60_000,
      status: incoming ? null : ('delivered' as const),
      localId: incoming ? null : `local-${n}`,
      error: null,
      ackIds: [],
      ackedIds: [],
      parts: null,
      read: true,
    };
  });
  return {
    contacts: [{ publicKey: contact.publicKey, alias: contact.alias, dropUrls: contact.dropUrls, offeredDropUrls: [], status: 'accepted', createdAt: 1_700_000_000_000 }],
    conversations: [
      {
        contactKey: contact.publicKey,
        lastMessageAt: messages.at(-1)?.sortAt ?? 1_700_000_000_000,
        lastMessagePreview: messages.at(-1)?.text.slice(0, 80) ?? '',
        lastMessageDirection: 'in',
        unreadCount: 0,
        messageCount: count,
      },
    ],
    messages,
    textParts: [],
    seen: [],
    posts: [],
    postCopies: [],
    shares: [],
  };
}

async function upload(e: TestEngine, linkId: string, ui: BackupUiPart): Promise<void> {
  const bytes = Buffer.from(JSON.stringify(ui));
  for (let offset = 0; offset < bytes.length; offset += 256 * 1024) {
    await e.call('devices/linkUpload', { linkId, offset, data: bytes.subarray(offset, offset + 256 * 1024).toString('base64url') });
  }
}

async function download(e: TestEngine, linkId: string): Promise<BackupUiPart> {
  const chunks: Buffer[] = [];
  for (let offset = 0, size = 1; offset < size; ) {
    const answer = await e.call('devices/linkDownload', { linkId, offset });
    size = answer.size;
    const chunk = Buffer.from(answer.data, 'base64url');
    chunks.push(chunk);
    offset += chunk.length;
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as BackupUiPart;
}

async function state(e: TestEngine, linkId: string, wanted: DeviceLinkStatus['state'], timeoutMs = 20_000): Promise<DeviceLinkStatus> {
  return waitFor(async () => {
    const status = await e.call('devices/linkStatus', { linkId });
    if (status.state === 'failed' && wanted !== 'failed') throw new Error(`the link failed: ${status.error}`);
    return status.state === wanted ? status : null;
  }, `link ${linkId} ${wanted}`, timeoutMs);
}

async function send(from: TestEngine, fromId: IdentitySummary, to: IdentitySummary, localId: string, text: string): Promise<void> {
  await from.call('messages/send', { identityId: fromId.id, localId, recipient: { publicKey: to.publicKey, dropUrls: to.dropUrls }, text });
  await waitFor(() => from.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `${localId} posted`);
}

/** Runs a whole link from `d1` (with `identity`) to `d2`, the users comparing the codes; resolves with D2's received status. */
async function link(d1: TestEngine, identity: IdentitySummary, d2: TestEngine, ui: BackupUiPart): Promise<{ received: DeviceLinkStatus; offerId: string; joinId: string }> {
  const { status, linkString } = await d1.call('devices/linkBegin', { identityId: identity.id, includeHistory: true });
  await upload(d1, status.linkId, ui);
  const joined = await d2.call('devices/linkJoin', { linkString, deviceName: 'Laptop' });
  expect(joined.code).toMatch(/^[0-9]{6}$/);
  const compare = await state(d1, status.linkId, 'compare');
  expect(compare.code).toBe(joined.code);
  expect(compare.deviceName).toBe('Laptop');
  await d1.call('devices/linkConfirm', { linkId: status.linkId, matches: true });
  const received = await state(d2, joined.linkId, 'received');
  await state(d1, status.linkId, 'done');
  return { received, offerId: status.linkId, joinId: joined.linkId };
}

describe('linking a device', () => {
  it('brings the identity, its records and cursors; then both devices read the same drop', async () => {
    const [d1, d2, bob] = [await engine(), await engine(), await engine()];
    const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
    await send(bob, bobId, alice, 'before', 'read before the link');
    await receiveAndAck(d1, 1, 'the message before the link');
    await d1.engine.settled();

    const ui = uiPart(alice.id, bobId, 40);
    const started = Date.now();
    const { status, linkString } = await d1.call('devices/linkBegin', { identityId: alice.id, includeHistory: true });
    await upload(d1, status.linkId, ui);
    // D1 keeps working during the link: a message arriving now is read by D1, and D2 (which starts from
    // the cursor noted when the link began) reads it too.
    await send(bob, bobId, alice, 'during', 'sent during the link');
    await receiveAndAck(d1, 2, 'the message during the link on D1');
    const joined = await d2.call('devices/linkJoin', { linkString, deviceName: 'Laptop' });
    expect((await state(d1, status.linkId, 'compare')).code).toBe(joined.code);
    await d1.call('devices/linkConfirm', { linkId: status.linkId, matches: true });
    const received = await state(d2, joined.linkId, 'received');
    await state(d1, status.linkId, 'done');
    const joinId = joined.linkId;
    expect(received.preview).toMatchObject({ alias: 'alice', publicKey: alice.publicKey, identityId: alice.id, contacts: 1, messages: 40 });
    expect(received.chunks?.done).toBe(received.chunks?.total);
    expect(await download(d2, joinId)).toEqual(ui);
    const restored = await d2.call('devices/linkCommit', { linkId: joinId });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(restored).toMatchObject({ id: alice.id, alias: 'alice', publicKey: alice.publicKey, dropUrls: alice.dropUrls });
    expect((await d2.call('devices/linkStatus', { linkId: joinId })).state).toBe('done');

    // Both devices hold the same list: D1 and the new one, each knowing which one it is.
    const [list1, list2] = [await d1.call('devices/list', { identityId: alice.id }), await d2.call('devices/list', { identityId: alice.id })];
    expect(list1.devices).toHaveLength(2);
    expect(list2.hash).toBe(list1.hash);
    expect(list2.epoch).toBe(2);
    expect(list2.devices.find((device) => device.self)?.name).toBe('Laptop');
    expect(list1.devices.find((device) => device.self)?.name).not.toBe('Laptop');
    const renamed = await d2.call('devices/rename', { identityId: alice.id, deviceId: list2.devices.find((device) => device.self)!.deviceId, name: 'Work\u202elaptop' });
    expect(renamed.epoch).toBe(3);
    expect(renamed.devices.find((device) => device.self)?.name).toBe('Worklaptop');

    // D2 resumes from the cursor noted when the link began: the message read before it does not come again.
    await send(bob, bobId, alice, 'after', 'for both devices');
    const onD2 = await receiveAndAck(d2, 2, 'the messages during and after the link on D2');
    const onD1 = await receiveAndAck(d1, 3, 'the message after the link on D1');
    expect(onD2.map((m) => m.text).sort()).toEqual(['for both devices', 'sent during the link']);
    expect(onD1.map((m) => m.text).sort()).toEqual(['for both devices', 'read before the link', 'sent during the link']);
  });

  it('stops on both devices when the user says the codes differ, sending nothing', async () => {
    const [d1, d2] = [await engine(), await engine()];
    const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const { status, linkString } = await d1.call('devices/linkBegin', { identityId: alice.id, includeHistory: false });
    await upload(d1, status.linkId, { ...uiPart(alice.id, alice, 0), contacts: [], conversations: [] });
    const joined = await d2.call('devices/linkJoin', { linkString, deviceName: 'Laptop' });
    await state(d1, status.linkId, 'compare');
    const answer = await d1.call('devices/linkConfirm', { linkId: status.linkId, matches: false });
    expect(answer.state).toBe('failed');
    const failed = await state(d2, joined.linkId, 'failed');
    expect(failed.error).toMatch(/codes did not match/);
    expect(failed.chunks).toBeNull();
    expect(await d2.call('identities/list', {})).toEqual([]);
  });

  it('refuses a second device that saw the QR code: its code differs and the link stops', async () => {
    const [d1, thief, d2] = [await engine(), await engine(), await engine()];
    const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const { status, linkString } = await d1.call('devices/linkBegin', { identityId: alice.id, includeHistory: false });
    const stolen = await thief.call('devices/linkJoin', { linkString, deviceName: 'Thief' });
    const compare = await state(d1, status.linkId, 'compare');
    const honest = await d2.call('devices/linkJoin', { linkString, deviceName: 'Laptop' });
    // The user compares with the device in front of them: the thief's code is the one D1 shows.
    expect(compare.code).toBe(stolen.code);
    expect(honest.code).not.toBe(compare.code);
    const failed = await state(d1, status.linkId, 'failed');
    expect(failed.error).toMatch(/second device/);
    await state(thief, stolen.linkId, 'failed');
    await expect(d1.call('devices/linkConfirm', { linkId: status.linkId, matches: true })).rejects.toThrow(/bad_input/);
    expect(await thief.call('identities/list', {})).toEqual([]);
  });

  it('takes seconds, and a few dozen PDUs per thousand messages of history (figures for the README)', async () => {
    const [d1, bob] = [await engine(), await engine()];
    const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
    const figures: string[] = [];
    for (const count of [0, 1_000, 10_000]) {
      const d2 = await engine();
      const ui = uiPart(alice.id, bobId, count);
      const started = Date.now();
      const { received, joinId } = await link(d1, alice, d2, ui);
      const linked = Date.now() - started;
      // Every PDU on the link's drop: the hello, the chunks, the end frame, the receipt.
      const pdus = received.chunks!.total + 3;
      figures.push(`${count} messages: ${Buffer.byteLength(JSON.stringify(ui))} B of records, ${pdus} PDUs = ${pdus * 2149} B on the drop, ${linked} ms`);
      expect(linked).toBeLessThan(30_000);
      expect(pdus).toBeLessThan(10 + count / 5);
      await d2.call('devices/linkCancel', { linkId: joinId });
    }
    console.info(`device link figures (1 s reads):\n${figures.join('\n')}`);
  }, 120_000);

  it('gives up after 10 minutes on both devices', async () => {
    let skew = 0;
    const clock = { now: () => Date.now() + skew };
    const [d1, d2] = [await startTestEngine({ clock }), await startTestEngine({ clock })];
    engines.push(d1, d2);
    const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const { status, linkString } = await d1.call('devices/linkBegin', { identityId: alice.id, includeHistory: false });
    expect(status.expiresAt - Date.now()).toBeGreaterThan(9 * 60_000);
    const joined = await d2.call('devices/linkJoin', { linkString, deviceName: 'Laptop' });
    await state(d1, status.linkId, 'compare');
    skew = 10 * 60_000 + 1000;
    expect((await state(d1, status.linkId, 'failed')).error).toMatch(/timed out after 10 minutes/);
    expect((await state(d2, joined.linkId, 'failed')).error).toMatch(/stopped the link|timed out/);
  });

  it('rejects a link string that is no link', async () => {
    const d2 = await engine();
    await expect(d2.call('devices/linkJoin', { linkString: 'QABELCONTACT\nx', deviceName: 'Laptop' })).rejects.toThrow(/bad_input: This is not a device link/);
  });
});

/**
 * A drop server in front of the real one that mistreats POSTs to one drop: flips a byte of one of
 * them, drops one (answering 200 as if stored), or repeats every one and holds the first back until
 * the next arrived.
 */
async function hostileServer(mode: 'flip' | 'repeatAndReorder' | 'drop'): Promise<{ url: string; dropId: { value: string | null }; close(): Promise<void> }> {
  const dropId: { value: string | null } = { value: null };
  let posts = 0;
  let held: (() => Promise<void>) | null = null;
  const forward = async (req: HttpRequest, body: Buffer) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
    return fetch(`${server.url}${req.url}`, { method: req.method, headers, body: req.method === 'POST' ? body : undefined });
  };
  const proxy: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      void (async () => {
        let body = Buffer.concat(parts);
        const toLink = req.method === 'POST' && dropId.value !== null && (req.url ?? '').endsWith(dropId.value);
        if (toLink) posts++;
        if (toLink && mode === 'drop' && posts === 3) {
          res.writeHead(200).end();
          return;
        }
        if (toLink && mode === 'flip' && posts === 4) {
          body = Buffer.from(body);
          body[1000]! ^= 1;
        }
        if (toLink && mode === 'repeatAndReorder' && posts > 1) {
          if (posts === 2) {
            // The first chunk waits until the next PDU was stored, then goes in twice.
            held = async () => void (await forward(req, body), await forward(req, body));
            res.writeHead(200).end();
            return;
          }
          await forward(req, body);
          if (held) {
            const release = held;
            held = null;
            await release();
          }
        }
        const answer = await forward(req, body);
        const headers: Record<string, string> = {};
        answer.headers.forEach((value, name) => {
          if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection') headers[name] = value;
        });
        res.writeHead(answer.status, headers).end(Buffer.from(await answer.arrayBuffer()));
      })().catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, dropId, close: () => new Promise<void>((resolve) => proxy.close(() => resolve())) };
}

describe('a hostile drop server', () => {
  it('that alters one chunk makes the link fail on both devices, with a clear error and nothing added', async () => {
    const hostile = await hostileServer('flip');
    try {
      const [d1, d2, bob] = [await engine(), await engine(), await engine()];
      const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: hostile.url });
      const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
      const { status, linkString } = await d1.call('devices/linkBegin', { identityId: alice.id, includeHistory: true });
      hostile.dropId.value = parseDropUrl(parseLinkString(linkString).dropUrl).dropId;
      await upload(d1, status.linkId, uiPart(alice.id, bobId, 300));
      const joined = await d2.call('devices/linkJoin', { linkString, deviceName: 'Laptop' });
      await state(d1, status.linkId, 'compare');
      await d1.call('devices/linkConfirm', { linkId: status.linkId, matches: true });
      const failed = await state(d2, joined.linkId, 'failed');
      expect(failed.error).toMatch(/altered or forged/);
      await state(d1, status.linkId, 'failed');
      expect(await d2.call('identities/list', {})).toEqual([]);
    } finally {
      await hostile.close();
    }
  });

  it('that drops a chunk only makes the link time out, with nothing added', async () => {
    const hostile = await hostileServer('drop');
    let skew = 0;
    const clock = { now: () => Date.now() + skew };
    try {
      const [d1, d2, bob] = [await startTestEngine({ clock }), await startTestEngine({ clock }), await engine()];
      engines.push(d1, d2);
      const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: hostile.url });
      const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
      const { status, linkString } = await d1.call('devices/linkBegin', { identityId: alice.id, includeHistory: true });
      hostile.dropId.value = parseDropUrl(parseLinkString(linkString).dropUrl).dropId;
      await upload(d1, status.linkId, uiPart(alice.id, bobId, 300));
      const joined = await d2.call('devices/linkJoin', { linkString, deviceName: 'Laptop' });
      await state(d1, status.linkId, 'compare');
      await d1.call('devices/linkConfirm', { linkId: status.linkId, matches: true });
      await state(d1, status.linkId, 'sent');
      const stuck = await waitFor(async () => {
        const now = await d2.call('devices/linkStatus', { linkId: joined.linkId });
        return now.chunks && now.chunks.done === now.chunks.total - 1 ? now : null;
      }, 'every chunk but the dropped one');
      expect(stuck.state).toBe('receiving');
      skew = 10 * 60_000 + 1000;
      expect((await state(d2, joined.linkId, 'failed')).error).toMatch(/timed out/);
      await state(d1, status.linkId, 'failed');
      expect(await d2.call('identities/list', {})).toEqual([]);
    } finally {
      await hostile.close();
    }
  });

  it('that repeats and reorders PDUs does not hurt the link', async () => {
    const hostile = await hostileServer('repeatAndReorder');
    try {
      const [d1, d2, bob] = [await engine(), await engine(), await engine()];
      const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: hostile.url });
      const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
      const { status, linkString } = await d1.call('devices/linkBegin', { identityId: alice.id, includeHistory: true });
      hostile.dropId.value = parseDropUrl(parseLinkString(linkString).dropUrl).dropId;
      const ui = uiPart(alice.id, bobId, 300);
      await upload(d1, status.linkId, ui);
      const joined = await d2.call('devices/linkJoin', { linkString, deviceName: 'Laptop' });
      await state(d1, status.linkId, 'compare');
      await d1.call('devices/linkConfirm', { linkId: status.linkId, matches: true });
      const received = await state(d2, joined.linkId, 'received');
      expect(received.chunks!.total).toBeGreaterThan(1);
      expect(await download(d2, joined.linkId)).toEqual(ui);
    } finally {
      await hostile.close();
    }
  });
});
