import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel } from '../../../shared/ipc/contract.js';
import { fail, ok } from '../../../shared/ipc/result.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { blockContact, removeContact } from './revokeTickets.js';

const SAM = '5'.repeat(64);

function recordingEngine(refuse = false) {
  const calls: Array<{ channel: Channel; request: unknown }> = [];
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: unknown) {
      calls.push({ channel, request });
      return refuse ? fail('unavailable', 'engine gone') : ok({ struck: 1, pending: 0 });
    },
    on: () => () => undefined,
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  } as unknown as EngineBridge;
  return { bridge, calls };
}

let db: DeaddropDatabase;
let sam: ContactRecord;
beforeEach(async () => {
  db = await openTestDatabase('revoke');
  sam = { identityId: 'me', publicKey: SAM, alias: 'Sam', aliasLower: 'sam', announcedAlias: 'Sam', dropUrls: ['http://127.0.0.1:1/sam'], offeredDropUrls: [], status: 'accepted', createdAt: 1 };
  await db.contacts.add(sam);
});
afterEach(deleteTestDatabases);

describe("a contact's tickets", () => {
  it('are revoked when the user blocks the contact, and the block holds whatever the engine answers', async () => {
    const engine = recordingEngine(true);
    await blockContact(db, engine.bridge, sam);
    expect((await db.contacts.get(['me', SAM]))?.status).toBe('blocked');
    expect(engine.calls).toEqual([{ channel: 'contacts/revokeTickets', request: { identityId: 'me', contactPublicKey: SAM } }]);
  });

  it('are revoked when the user deletes the contact; without an engine the deletion still happens', async () => {
    const engine = recordingEngine();
    await removeContact(db, engine.bridge, sam);
    expect(await db.contacts.get(['me', SAM])).toBeUndefined();
    expect(engine.calls.map((c) => c.channel)).toEqual(['contacts/revokeTickets']);
    await db.contacts.add(sam);
    await removeContact(db, null, sam);
    expect(await db.contacts.get(['me', SAM])).toBeUndefined();
  });
});
