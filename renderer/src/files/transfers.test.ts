import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionState, EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { queueFileMessage, queueTextMessage } from '../db/outbox.js';
import type { ContactRecord } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { applyFileProgress, setTransfer, transferOf, watchFileProgress } from './transfers.js';

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
    for (let i = 0; i < 50 && (await db.messages.get(message.id))?.status !== 'failed'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await db.messages.get(message.id)).toMatchObject({ status: 'failed', error: 'The upload stopped when the connection to the engine was lost: try again once it is back.' });
  });

  it('once a file’s notice is posted, its acknowledge ids are learnt (once), so a receipt can mark it delivered', async () => {
    const calls: Array<[string, unknown]> = [];
    const listeners: Record<string, (event: unknown) => void> = {};
    const bridge = {
      kind: 'websocket',
      async invoke(channel: string, request: { localId: string }) {
        calls.push([channel, request]);
        return { ok: true, value: { localId: request.localId, acknowledgeIds: [`${request.localId}-ack`], parts: 1 } };
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
    const file = await queueFileMessage(db, 'me', contact, { name: 'a.bin', size: 10 }, '');
    const text = await queueTextMessage(db, 'me', contact, 'hello');
    const settled = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
    };
    listeners['outbox/status']!({ localId: text.localId, status: 'posted' });
    listeners['outbox/status']!({ localId: file.localId, status: 'sending' });
    await settled();
    expect(calls).toEqual([]);
    listeners['outbox/status']!({ localId: file.localId, status: 'posted' });
    await settled();
    listeners['outbox/status']!({ localId: file.localId, status: 'posted' });
    await settled();
    expect(calls).toEqual([
      ['messages/send', { identityId: 'me', localId: file.localId, recipient: { publicKey: contact.publicKey, dropUrls: contact.dropUrls }, text: 'a.bin', wantReceipt: true }],
    ]);
    expect((await db.messages.get(file.id))?.ackIds).toEqual([`${file.localId}-ack`]);
  });
});
