import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Channel, FILE_CHUNK_BYTES, MAX_SEND_FILE_BYTES } from '../../../shared/ipc/contract.js';
import { type Result, fail, ok } from '../../../shared/ipc/result.js';
import { fromBase64Url } from '../../../shared/protocol/encoding.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { cancelFile, refuseFile, retryFile, sendFile, sendMime, sendName, stageFile } from './sendFile.js';
import { transferOf, watchFileProgress } from './transfers.js';
import { applyOutboxStatus } from '../db/outbox.js';

const BOB = 'b'.repeat(64);
const contact: ContactRecord = {
  identityId: 'me',
  publicKey: BOB,
  alias: 'Bob',
  aliasLower: 'bob',
  dropUrls: ['http://127.0.0.1:1/bob'],
  offeredDropUrls: [],
  status: 'accepted',
  createdAt: 1,
};

/** The engine as the UI sees it: records every call; `answer` may override any channel's reply. */
function fakeEngine(answer: (channel: Channel, request: Record<string, unknown>) => Result<unknown> | undefined = () => undefined) {
  const calls: Array<[Channel, Record<string, unknown>]> = [];
  const listeners = new Map<string, Array<(event: unknown) => void>>();
  let received = 0;
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: Record<string, unknown>) {
      calls.push([channel, request]);
      const custom = answer(channel, request);
      if (custom) return custom;
      if (channel === 'files/stageBegin') return ok({ stageId: `stage-${calls.length}` });
      if (channel === 'files/stageChunk') {
        received += fromBase64Url(request.data as string).length;
        return ok({ received });
      }
      if (channel === 'files/send') return ok({ localId: request.localId });
      return ok(null);
    },
    on(event: string, listener: (event: unknown) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () => undefined;
    },
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  } as unknown as EngineBridge;
  return { bridge, calls, emit: (event: string, body: unknown) => listeners.get(event)?.forEach((l) => l(body)) };
}

function bytesOf(length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

/**
 * Resolves once `check` holds (the send runs on after `sendFile` returns); bounded in time, not in
 * rounds, as a loaded machine stretches every timer.
 */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  await vi.waitFor(async () => expect(await check()).toBe(true), { timeout: 10_000, interval: 10 });
}

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('files');
  await db.contacts.put(contact);
});
afterEach(deleteTestDatabases);

describe('stageFile', () => {
  it('hands a file over in order, in chunks of at most FILE_CHUNK_BYTES, as base64url that decodes to the file', async () => {
    const engine = fakeEngine();
    const content = bytesOf(2 * FILE_CHUNK_BYTES + 1000);
    const progress: number[] = [];
    const stageId = await stageFile(engine.bridge, new Blob([content]), (done) => progress.push(done));
    expect(stageId).toBe('stage-1');
    expect(engine.calls.map(([channel]) => channel)).toEqual(['files/stageBegin', 'files/stageChunk', 'files/stageChunk', 'files/stageChunk']);
    expect(engine.calls[0]![1]).toEqual({ size: content.length });
    const chunks = engine.calls.slice(1).map(([, request]) => request);
    expect(chunks.map((c) => c.offset)).toEqual([0, FILE_CHUNK_BYTES, 2 * FILE_CHUNK_BYTES]);
    expect(chunks.every((c) => c.stageId === 'stage-1' && /^[-_A-Za-z0-9]+$/.test(c.data as string))).toBe(true);
    const joined = new Uint8Array(chunks.flatMap((c) => [...fromBase64Url(c.data as string)]));
    expect(joined).toEqual(content);
    expect(progress).toEqual([FILE_CHUNK_BYTES, 2 * FILE_CHUNK_BYTES, content.length]);
  });

  it('an empty file is begun and has no chunks', async () => {
    const engine = fakeEngine();
    expect(await stageFile(engine.bridge, new Blob([]), () => undefined)).toBe('stage-1');
    expect(engine.calls.map(([channel]) => channel)).toEqual(['files/stageBegin']);
  });

  it('stops between chunks when cancelled, and reports the engine refusing a chunk', async () => {
    const engine = fakeEngine();
    let chunks = 0;
    expect(await stageFile(engine.bridge, new Blob([bytesOf(3 * FILE_CHUNK_BYTES)]), () => chunks++, () => chunks >= 1)).toBeNull();
    expect(engine.calls.filter(([c]) => c === 'files/stageChunk')).toHaveLength(1);

    const refusing = fakeEngine((channel) => (channel === 'files/stageChunk' ? fail('bad_input', 'More bytes than the file was announced to have.') : undefined));
    await expect(stageFile(refusing.bridge, new Blob([bytesOf(10)]), () => undefined)).rejects.toThrow('More bytes than the file was announced to have.');
  });
});

describe('sendFile', () => {
  it('refuses a file over the limit before anything is stored or staged', async () => {
    expect(refuseFile({ size: MAX_SEND_FILE_BYTES })).toBeNull();
    expect(refuseFile({ size: 5 * 1024 ** 3 })).toBe('This file (5.0 GB) is too large to send: files can have at most 4.0 GB.');
    expect(refuseFile({ size: MAX_SEND_FILE_BYTES + 1 })).not.toBeNull();
    const engine = fakeEngine();
    const huge = { name: 'huge.iso', size: MAX_SEND_FILE_BYTES + 1, type: '', slice: () => new Blob([]) } as unknown as File;
    await expect(sendFile(engine.bridge, db, 'me', contact, huge, '')).rejects.toThrow('too large');
    expect(engine.calls).toEqual([]);
    expect(await db.messages.count()).toBe(0);
  });

  it('stores the message first, then stages and sends the file under the message’s local id', async () => {
    const engine = fakeEngine();
    const content = bytesOf(FILE_CHUNK_BYTES + 10);
    const record = await sendFile(engine.bridge, db, 'me', contact, new File([content], 'holiday photo.png', { type: 'image/png' }), '  Look!  ');
    expect(await db.messages.get(record.id)).toMatchObject({
      direction: 'out',
      kind: 'share',
      status: null,
      text: 'Look!',
      share: { file: 'holiday photo.png', url: '', size: content.length },
      payloadType: 'box_share_notification',
    });
    expect((await db.conversations.get(['me', BOB]))?.lastMessagePreview).toBe('Shared file: holiday photo.png');
    await until(() => engine.calls.some(([c]) => c === 'files/send'));
    const send = engine.calls.find(([c]) => c === 'files/send')![1];
    expect(send).toEqual({
      stageId: 'stage-1',
      identityId: 'me',
      localId: record.localId,
      recipient: { publicKey: BOB, dropUrls: contact.dropUrls },
      fileName: 'holiday photo.png',
      mime: 'image/png',
      text: 'Look!',
      wantReceipt: true,
    });
    expect(transferOf(record.localId!)).toMatchObject({ direction: 'up', state: 'running', total: content.length });
    // The engine's progress events drive the card from here.
    engine.emit('files/progress', { id: record.localId, direction: 'up', done: 100, total: content.length, state: 'running' });
    expect(transferOf(record.localId!)).toMatchObject({ state: 'running', done: 100 });
  });

  it('without a caption the stored text is the file name, so a re-submission after a restart is never empty', async () => {
    const engine = fakeEngine();
    const record = await sendFile(engine.bridge, db, 'me', contact, new File(['x'], 'notes.txt'), '   ');
    expect(record.text).toBe('notes.txt');
    await until(() => engine.calls.some(([c]) => c === 'files/send'));
    expect(engine.calls.find(([c]) => c === 'files/send')![1]).toMatchObject({ text: '', mime: null });
  });

  it('a refused upload fails the message with the engine’s reason; Try again stages the kept file anew under the same id', async () => {
    let refuse = true;
    const engine = fakeEngine((channel) =>
      channel === 'files/send' && refuse ? fail('bad_input', 'This drop server does not store files: add one that does.') : undefined,
    );
    const record = await sendFile(engine.bridge, db, 'me', contact, new File([bytesOf(100)], 'a.bin'), '');
    await until(async () => (await db.messages.get(record.id))?.status === 'failed');
    expect(await db.messages.get(record.id)).toMatchObject({ status: 'failed', error: 'This drop server does not store files: add one that does.' });
    expect(transferOf(record.localId!)).toMatchObject({ state: 'failed', error: 'This drop server does not store files: add one that does.' });

    refuse = false;
    await retryFile(engine.bridge, db, (await db.messages.get(record.id))!);
    const sends = engine.calls.filter(([c]) => c === 'files/send').map(([, r]) => r);
    expect(sends).toHaveLength(2);
    expect(sends[1]).toMatchObject({ localId: record.localId, stageId: 'stage-4' });
    expect(engine.calls.filter(([c]) => c === 'files/stageBegin')).toHaveLength(2);
  });

  it('Try again on a file the engine still uploads never re-submits it by text; on one whose notice failed, the outbox retries the notice', async () => {
    let answer: 'refuse' | 'exists' = 'refuse';
    const engine = fakeEngine((channel) => {
      if (channel === 'files/send') return answer === 'refuse' ? fail('unavailable', 'Lost the connection to the engine.') : fail('already_exists', 'A message with this id is being sent already.');
      if (channel === 'messages/send') return ok({ localId: 'x', acknowledgeIds: ['ack-1'], parts: 1 });
      return undefined;
    });
    watchFileProgress(engine.bridge, db);
    const record = await sendFile(engine.bridge, db, 'me', contact, new File([bytesOf(100)], 'a.bin'), '');
    const localId = record.localId!;
    await until(async () => (await db.messages.get(record.id))?.status === 'failed');

    answer = 'exists';
    await retryFile(engine.bridge, db, (await db.messages.get(record.id))!);
    expect(engine.calls.some(([c]) => c === 'messages/send')).toBe(false);
    expect((await db.messages.get(record.id))?.status).toBe('sending');
    expect(transferOf(localId)?.state).toBe('running');

    // The upload ends and its notice fails: now Try again hands the notice (never a text) to the outbox.
    const ref = { scheme: 'deaddrop-file-1' as const, url: `http://127.0.0.1:1/blobs/${'a'.repeat(43)}`, key: 'k'.repeat(43), size: 100, cipherSize: 132, hash: 'h'.repeat(43) };
    engine.emit('files/progress', { id: localId, direction: 'up', done: 100, total: 100, state: 'done', ref });
    await until(async () => (await db.messages.get(record.id))?.payload !== '');
    await applyOutboxStatus(db, { localId, status: 'failed', error: 'The recipient’s drop is gone.' });
    await retryFile(engine.bridge, db, (await db.messages.get(record.id))!);
    expect(engine.calls.filter(([c]) => c === 'messages/send').map(([, r]) => r)).toEqual([
      {
        identityId: 'me',
        localId,
        recipient: { publicKey: BOB, dropUrls: contact.dropUrls },
        content: { type: 'box_share_notification', file: 'a.bin', text: '', mime: null, ref, share: null },
        wantReceipt: true,
      },
    ]);
    expect(await db.messages.get(record.id)).toMatchObject({ status: 'queued', ackIds: ['ack-1'] });
  });

  it('cancel while staging stops handing over chunks and tells the engine', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const engine = fakeEngine();
    const slow = engine.bridge.invoke.bind(engine.bridge);
    let chunkAsked = false;
    engine.bridge.invoke = (async (channel: Channel, request: never) => {
      if (channel === 'files/stageChunk') {
        chunkAsked = true;
        await gate;
      }
      return slow(channel, request);
    }) as EngineBridge['invoke'];
    const record = await sendFile(engine.bridge, db, 'me', contact, new File([bytesOf(3 * FILE_CHUNK_BYTES)], 'big.bin'), '');
    await until(() => chunkAsked);
    await cancelFile(engine.bridge, db, (await db.messages.get(record.id))!);
    release();
    await until(() => engine.calls.some(([c]) => c === 'messages/cancel'));
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.calls.filter(([c]) => c === 'files/stageChunk')).toHaveLength(1);
    expect(engine.calls.some(([c]) => c === 'files/send')).toBe(false);
    expect((await db.messages.get(record.id))?.status).toBe('cancelled');
    expect(transferOf(record.localId!)?.state).toBe('cancelled');
  });
});

describe('names and types sent', () => {
  it('sends the name without a path, at most 255 characters with the extension kept', () => {
    expect(sendName('C:\\Users\\me\\report.pdf')).toBe('report.pdf');
    expect(sendName('  ')).toBe('file');
    const long = sendName(`${'a'.repeat(400)}.tar.gz`);
    expect([...long]).toHaveLength(255);
    expect(long.endsWith('.gz')).toBe(true);
  });

  it('announces only a content type the share module takes', () => {
    expect(sendMime('image/PNG')).toBe('image/png');
    expect(sendMime('')).toBeNull();
    expect(sendMime('text/html; charset=utf-8')).toBeNull();
  });
});
