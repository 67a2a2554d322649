/**
 * A contact a sibling blocked or deleted loses the tickets this device handed it as well
 * (syncApply.ts `revoke`, engineSync.ts asks the engine for contacts/revokeTickets as a local Block or
 * Delete does): every device hands out ticket batches of its own, and a revocation strikes only the
 * batches of the device that sends it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventMap, IncomingMessage } from '../../../shared/ipc/contract.js';
import type { SyncItem } from '../../../shared/modules/sync.js';
import type { DeaddropDatabase } from '../db/database.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { type SyncIdentity, takeSiblingSync } from './syncApply.js';

const ME = 'e'.repeat(64);
const BOB = 'b'.repeat(64);
const CAROL = 'c'.repeat(64);
const OWN_DROP = 'http://127.0.0.1:1/mine';
const SIBLING = '2222222222222222';
const identities = new Map<string, SyncIdentity>([['me', { publicKey: ME, dropUrls: [OWN_DROP], selfDevice: '1111111111111111' }]]);

let counter = 0;
function sync(items: SyncItem[]): IncomingMessage {
  const n = ++counter;
  return {
    dedupeKey: `${ME}:revoke-${n}`, identityId: 'me', senderKey: ME, type: 'box_sync', payload: '', content: { type: 'box_sync', device: SIBLING, items }, text: null, share: null, part: null,
    acknowledgeId: `revoke-ack-${n}`, meta: null, sentAt: 1000, receivedAt: 2000, dropUrl: OWN_DROP,
  };
}
const batch = (messages: IncomingMessage[]): EventMap['inbox/batch'] => ({ batchId: `b${++counter}`, messages, receipts: [] });
const put = (contact: string, clock: number, status: 'accepted' | 'blocked'): SyncItem => ({ kind: 'contact', contact, clock, op: 'put', alias: 'X', status, dropUrls: [] });

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('sync-revoke');
  await db.contacts.put({ identityId: 'me', publicKey: BOB, alias: 'Bob', aliasLower: 'bob', dropUrls: [], offeredDropUrls: [], status: 'accepted', createdAt: 1 });
});
afterEach(deleteTestDatabases);

describe('a sibling’s Block or Delete revokes here too', () => {
  it('names the contacts a newer block or deletion applied to, once; an older one, or an unblocked contact, none', async () => {
    const blocked = await takeSiblingSync(db, batch([sync([put(BOB, 5, 'blocked')])]), identities, 5000);
    expect(blocked.revoke).toEqual([{ identityId: 'me', publicKey: BOB }]);
    expect(await db.contacts.get(['me', BOB])).toMatchObject({ status: 'blocked' });

    // A deletion of a contact this device never had (added and deleted on the sibling) still revokes:
    // the sibling may have written to it from here before.
    const deleted = await takeSiblingSync(db, batch([sync([{ kind: 'contact', contact: CAROL, clock: 6, op: 'del' }])]), identities, 5000);
    expect(deleted.revoke).toEqual([{ identityId: 'me', publicKey: CAROL }]);

    // Older than what this device holds: not applied, nothing revoked; an unblock revokes nothing.
    const stale = await takeSiblingSync(db, batch([sync([{ kind: 'contact', contact: BOB, clock: 4, op: 'del' }])]), identities, 5000);
    expect(stale.revoke).toEqual([]);
    const unblocked = await takeSiblingSync(db, batch([sync([put(BOB, 7, 'accepted')])]), identities, 5000);
    expect(unblocked.revoke).toEqual([]);

    // The same sync message again (a re-post): applied once, revoked once.
    const message = sync([put(BOB, 8, 'blocked')]);
    expect((await takeSiblingSync(db, batch([message]), identities, 5000)).revoke).toHaveLength(1);
    expect((await takeSiblingSync(db, batch([message]), identities, 5000)).revoke).toEqual([]);
  });
});
