/**
 * A full backup's UI part through the same check the engine applies to a file (parseBackupPayload) and
 * back into a fresh database: what a contact carries beyond its address survives, and a backup written
 * before those fields existed still restores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKUP_PAYLOAD_SCHEMA, BACKUP_PAYLOAD_VERSION, type BackupUiPart, parseBackupPayload } from '../../../shared/backup/backupPayload.js';
import { gatherBackupRecords, restoreBackupRecords } from './backupRecords.js';
import type { DeaddropDatabase } from './database.js';
import type { ContactRecord, MessageRecord } from './records.js';
import { deleteTestDatabases, openTestDatabase } from './testDatabase.js';

const ID = 'alice-id';
const BOB = 'b'.repeat(64);
const CAROL = 'c'.repeat(64);
const DAN = 'd'.repeat(64);

function contact(publicKey: string, alias: string, extra: Partial<ContactRecord> = {}): ContactRecord {
  return {
    identityId: ID, publicKey, alias, aliasLower: alias.toLowerCase(), dropUrls: [`https://drop.example.org/${alias}`], offeredDropUrls: [], status: 'accepted', createdAt: 5, ...extra,
  };
}

/** The UI part as the engine reads it out of a file: through the file's JSON and its checks. */
function throughFile(ui: BackupUiPart, includesHistory = false): BackupUiPart {
  const payload = {
    schema: BACKUP_PAYLOAD_SCHEMA,
    version: BACKUP_PAYLOAD_VERSION,
    createdAt: 10,
    identity: { id: ID, alias: 'Alice', publicKey: 'a'.repeat(64), privateKey: 'e'.repeat(64), dropUrls: ['https://drop.example.org/alice'], dropBits: 256, createdAt: 1 },
    cursors: {},
    includesHistory,
    ui,
  };
  return parseBackupPayload(JSON.parse(JSON.stringify(payload))).ui;
}

let db: DeaddropDatabase;
let restored: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('backup');
  restored = await openTestDatabase('restored');
});
afterEach(deleteTestDatabases);

describe('backup records', () => {
  it('keep a contact’s version-1 card part and the progress of our address update', async () => {
    const bob = contact(BOB, 'Bob', {
      v1: { qrPrekey: '1'.repeat(64), qrPrekeyExpiresDay: 20_500, caps: 3 },
      ownUpdate: { sent: 7000, confirmed: null, localId: 'update-1', ackIds: ['ack-1', 'ack-2'] },
      updateRevision: 6000,
    });
    const carol = contact(CAROL, 'Carol', { ownUpdate: { sent: 8000, confirmed: 8000, localId: 'update-2', ackIds: ['ack-3'] } });
    const dan = contact(DAN, 'Dan');
    await db.contacts.bulkPut([bob, carol, dan]);

    const ui = throughFile(await gatherBackupRecords(db, ID, false));
    await restoreBackupRecords(restored, ID, ui);
    expect(await restored.contacts.get([ID, BOB])).toEqual(bob);
    expect(await restored.contacts.get([ID, CAROL])).toEqual(carol);
    const back = (await restored.contacts.get([ID, DAN]))!;
    expect(back).toEqual(dan);
    expect('v1' in back || 'ownUpdate' in back).toBe(false);
  });

  it('a backup written before these fields restores its contacts without them; a damaged one is refused', async () => {
    await db.contacts.put(contact(BOB, 'Bob', { v1: { qrPrekey: '1'.repeat(64), qrPrekeyExpiresDay: 20_500, caps: 3 }, ownUpdate: { sent: 7000, confirmed: 7000, localId: 'u', ackIds: [] } }));
    const ui = await gatherBackupRecords(db, ID, false);
    const older = { ...ui, contacts: ui.contacts.map(({ v1: _v1, ownUpdate: _update, ...rest }) => rest) };
    await restoreBackupRecords(restored, ID, throughFile(older));
    expect(await restored.contacts.get([ID, BOB])).toEqual(contact(BOB, 'Bob'));

    const badPrekey = { ...ui, contacts: ui.contacts.map((c) => ({ ...c, v1: { ...c.v1!, qrPrekey: 'not hex' } })) };
    expect(() => throughFile(badPrekey)).toThrow(/damaged/);
    const badUpdate = { ...ui, contacts: ui.contacts.map((c) => ({ ...c, ownUpdate: { ...c.ownUpdate!, localId: '' } })) };
    expect(() => throughFile(badUpdate)).toThrow(/damaged/);
  });

  it('keep an outgoing message’s copies and re-posting and an incoming one’s unaccepted reset', async () => {
    const base = {
      identityId: ID, contactKey: BOB, kind: 'text' as const, payloadType: 'box_message', payload: '', share: null, error: null, ackIds: [] as string[], ackedIds: [] as string[], parts: null, read: true,
    };
    const sent: MessageRecord = {
      ...base, id: 'out:1', direction: 'out', text: 'Out', sortAt: 10, createdAt: 10, status: 'posted', localId: 'l1',
      copies: { posted: 1, wanted: 2 }, repost: { kind: 'scheduled', nextAt: 20, until: 30 },
    };
    const ended: MessageRecord = { ...base, id: 'out:2', direction: 'out', text: 'Out 2', sortAt: 11, createdAt: 11, status: 'posted', localId: 'l2', repost: { kind: 'ended', why: 'timeLimit' } };
    const received: MessageRecord = { ...base, id: `in:${ID}:1`, direction: 'in', text: 'In', sortAt: 12, createdAt: 12, status: null, localId: null, unconfirmedSession: true };
    const plain: MessageRecord = { ...base, id: `in:${ID}:2`, direction: 'in', text: 'In 2', sortAt: 13, createdAt: 13, status: null, localId: null };
    await db.contacts.put(contact(BOB, 'Bob'));
    await db.conversations.put({ identityId: ID, contactKey: BOB, lastMessageAt: 13, lastMessagePreview: 'In 2', lastMessageDirection: 'in', unreadCount: 0, messageCount: 4 });
    await db.messages.bulkPut([sent, ended, received, plain]);

    const ui = throughFile(await gatherBackupRecords(db, ID, true), true);
    await restoreBackupRecords(restored, ID, ui);
    expect(await restored.messages.bulkGet(['out:1', 'out:2', `in:${ID}:1`, `in:${ID}:2`])).toEqual([sent, ended, received, plain]);
    const bad = { ...ui, messages: ui.messages.map((m) => ({ ...m, repost: { kind: 'scheduled', nextAt: 'soon' } })) } as unknown as BackupUiPart;
    expect(() => throughFile(bad, true)).toThrow(/damaged/);
  });
});
