import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionState, EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { queueFileMessage } from '../db/outbox.js';
import type { ContactRecord } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { applyFileProgress, rememberUploadMime, setTransfer, transferOf, watchFileProgress } from './transfers.js';

const contact: ContactRecord = {
  identityId: 'me',
  publicKey: 'b'.repeat(64),
  alias: 'Bob',
  aliasLower: 'bob',
  dropUrls: ['http://127.0.0.1:1/bob'],
  offeredDropUrls: [],
  status: 'accepted',
  createdAt: 1,
};

let db: DeaddropDatabase;
beforeEach(async () => (db = await openTestDatabase('transfers')));
afterEach(deleteTestDatabases);

describe('transfers', () => {
  it('after a cancel, events the engine sent before it are ignored until a new attempt starts', () => {
    setTransfer('t1', { direction: 'down', state: 'cancelled', done: 0, total: 10, error: null });
    applyFileProgress({ id: 't1', direction: 'down', done: 10, total: 10, state: 'done' });
    expect(transferOf('t1')?.state).toBe('cancelled');
    setTransfer('t1', { direction: 'down', state: 'running', done: 0, total: 10, error: null });
    applyFileProgress({ id: 't1', direction: 'down', done: 10, total: 10, state: 'done' });
    expect(transferOf('t1')?.state).toBe('done');
    applyFileProgress({ id: 't1', direction: 'down', done: 5, total: 10, state: 'running' });
    expect(transferOf('t1')?.state).toBe('done');
  });

  it('losing the engine stops running transfers, and fails an upload’s message so the outbox never sends it as a text', async () => {
    let connection: (state: ConnectionState) => void = () => undefined;
    const bridge = {
      kind: 'websocket',
      invoke: async () => ({ ok: true, value: null }),
      on: () => () => undefined,
      connectionState: () => 'open',
      onConnectionChange(listener: (state: ConnectionState) => void) {
        connection = listener;
        return () => undefined;
      },
    } as unknown as EngineBridge;
    watchFileProgress(bridge, db);
    const message = await queueFileMessage(db, 'me', contact, { name: 'a.bin', size: 10 }, '');
    await db.messages.update(message.id, { status: 'sending' });
    setTransfer(message.localId!, { direction: 'up', state: 'running', done: 3, total: 10, error: null });
    setTransfer('down-1', { direction: 'down', state: 'running', done: 3, total: 10, error: null });
    setTransfer('down-2', { direction: 'down', state: 'done', done: 10, total: 10, error: null });
    connection('connecting');
    expect(transferOf('down-1')?.state).toBe('running');
    connection('closed');
    expect(transferOf('down-1')).toMatchObject({ state: 'failed', error: 'The connection to the engine was lost.' });
    expect(transferOf('down-2')?.state).toBe('done');
    expect(transferOf(message.localId!)?.state).toBe('failed');
    // The record is written after the event, asynchronously: polled, bounded in time.
    await expect
      .poll(() => db.messages.get(message.id), { timeout: 10_000, interval: 10 })
      .toMatchObject({ status: 'failed', error: 'The upload stopped when the connection to the engine was lost: try again once it is back.' });
  });

  it('keeps the notice of a finished upload in its record, and sends nothing by itself', async () => {
    const calls: Array<[string, unknown]> = [];
    const listeners: Record<string, (event: unknown) => void> = {};
    const bridge = {
      kind: 'websocket',
      async invoke(channel: string, request: unknown) {
        calls.push([channel, request]);
        return { ok: true, value: null };
      },
      on(event: string, listener: (event: unknown) => void) {
        listeners[event] = listener;
        return () => undefined;
      },
      connectionState: () => 'open',
      onConnectionChange: () => () => undefined,
    } as unknown as EngineBridge;
    await db.contacts.put(contact);
    watchFileProgress(bridge, db);
    const file = await queueFileMessage(db, 'me', contact, { name: 'a.png', size: 10 }, 'look');
    const ref = { scheme: 'deaddrop-file-1' as const, url: `http://127.0.0.1:1/blobs/${'a'.repeat(43)}`, key: 'k'.repeat(43), size: 10, cipherSize: 42, hash: 'h'.repeat(43) };
    rememberUploadMime(file.localId!, 'image/png');
    listeners['files/progress']!({ id: file.localId, direction: 'up', done: 10, total: 10, state: 'done', ref });
    await vi.waitFor(async () => expect((await db.messages.get(file.id))?.payload).not.toBe(''), { timeout: 10_000, interval: 10 });
    expect(JSON.parse((await db.messages.get(file.id))!.payload)).toEqual({ file: 'a.png', text: 'look', mime: 'image/png', ref });
    expect(calls).toEqual([]);
  });
});
