import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, SessionsStatus } from '../../../shared/ipc/contract.js';
import { type Result, fail, ok } from '../../../shared/ipc/result.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import type { ContactRecord, ContactStatus } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { SESSION_RESET_LINE, answerReset, recordResetLines, resetLineId } from './sessionResets.js';

const ALICE = 'a'.repeat(64);
const EVE = 'e'.repeat(64);
const STRANGER = 'f'.repeat(64);

function contact(publicKey: string, alias: string, status: ContactStatus): ContactRecord {
  return { identityId: 'me', publicKey, alias, aliasLower: alias.toLowerCase(), dropUrls: ['http://127.0.0.1:1/x'], offeredDropUrls: [], status, createdAt: 1 };
}

function status(contacts: SessionsStatus['contacts']): SessionsStatus {
  return { sending: true, contacts };
}

const lines = (db: DeaddropDatabase) => db.messages.where('[identityId+contactKey+sortAt]').between(['me', ALICE, -Infinity], ['me', ALICE, Infinity]).toArray();

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('resets');
  await db.contacts.bulkPut([contact(ALICE, 'Alice', 'accepted'), contact(EVE, 'Eve', 'blocked'), contact(STRANGER, 'Zed', 'unknown')]);
});
afterEach(deleteTestDatabases);

describe('session reset lines', () => {
  it('writes one line per finished reset of an accepted contact, at its time, whatever the number of asks', async () => {
    const done = status({
      [ALICE]: { protocol: 1, since: 10, reset: { pending: false, at: 5000 } },
      [EVE]: { protocol: 1, since: 10, reset: { pending: false, at: 5000 } },
      [STRANGER]: { protocol: 1, since: 10, reset: { pending: false, at: 5000 } },
    });
    expect(await recordResetLines(db, 'me', done)).toBe(1);
    expect(await recordResetLines(db, 'me', done)).toBe(0);
    expect(await lines(db)).toEqual([
      expect.objectContaining({ id: resetLineId('me', ALICE, 5000), kind: 'event', payloadType: SESSION_RESET_LINE, text: 'Secure session with Alice was reset', sortAt: 5000, status: null, read: true }),
    ]);
    // Blocked senders and strangers get no line.
    expect(await db.messages.count()).toBe(1);
    expect(await db.conversations.get(['me', ALICE])).toMatchObject({ messageCount: 1, lastMessageAt: 5000, unreadCount: 0 });

    // A pending reset is a question, not a line; a later reset is a line of its own.
    expect(await recordResetLines(db, 'me', status({ [ALICE]: { protocol: 1, since: 10, reset: { pending: true, at: 9000 } } }))).toBe(0);
    expect(await recordResetLines(db, 'me', status({ [ALICE]: { protocol: 1, since: 10, reset: { pending: false, at: 9000 } } }))).toBe(1);
    expect((await lines(db)).map((l) => l.sortAt)).toEqual([5000, 9000]);
  });

  it('accepting asks the engine and names the contact in the line, also when the plain line was written first', async () => {
    const calls: Array<[Channel, unknown]> = [];
    let answer: Result<SessionsStatus> = ok(status({ [ALICE]: { protocol: 1, since: 10, reset: { pending: false, at: 7000 } } }));
    const bridge = {
      async invoke(channel: Channel, request: unknown) {
        calls.push([channel, request]);
        return answer;
      },
    } as unknown as EngineBridge;
    // The engine's sessions/changed may be handled before the answer comes back.
    await recordResetLines(db, 'me', status({ [ALICE]: { protocol: 1, since: 10, reset: { pending: false, at: 7000 } } }));
    const outcome = await answerReset(db, bridge, 'me', ALICE, true);
    expect(outcome.ok).toBe(true);
    expect(calls).toEqual([['sessions/confirmReset', { identityId: 'me', contactPublicKey: ALICE, accept: true }]]);
    expect((await lines(db)).map((l) => l.text)).toEqual(['Secure session reset by Alice']);
    expect(await db.conversations.get(['me', ALICE])).toMatchObject({ messageCount: 1 });

    // Rejecting writes no line of its author; an engine error is handed back as words.
    answer = ok(status({ [ALICE]: { protocol: 1, since: 10 } }));
    expect(await answerReset(db, bridge, 'me', ALICE, false)).toMatchObject({ ok: true });
    expect(await lines(db)).toHaveLength(1);
    answer = fail('unavailable', 'The engine is not running.');
    expect(await answerReset(db, bridge, 'me', ALICE, true)).toEqual({ ok: false, error: 'The engine is not running.' });
  });
});
