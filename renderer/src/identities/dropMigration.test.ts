import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, IdentitySummary, IncomingMessage, RequestOf } from '../../../shared/ipc/contract.js';
import { type Result, fail, ok } from '../../../shared/ipc/result.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { applyReceipts } from '../db/incomingReceipts.js';
import type { ContactRecord, ContactStatus } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import {
  RESEND_GAP_MS, announceMove, confirmUpdateDelivered, confirmedMoves, isUnconfirmed, reportConfirmedMoves, resendToStragglers, sendAddressUpdate, stillRetiring, unconfirmedContacts,
} from './dropMigration.js';

const ALICE = 'a'.repeat(64);
const BOB = 'b'.repeat(64);
const CAROL = 'c'.repeat(64);
const EVE = 'e'.repeat(64);
const OLD = 'https://old.example.org/dropold';
const NEW = 'https://new.example.org/dropnew';

function contact(publicKey: string, alias: string, status: ContactStatus, dropUrls = [`https://x.example.org/${alias}`]): ContactRecord {
  return { identityId: 'me', publicKey, alias, aliasLower: alias.toLowerCase(), dropUrls, offeredDropUrls: [], status, createdAt: 1 };
}

const before: IdentitySummary = { id: 'me', alias: 'Me', publicKey: 'd'.repeat(64), dropUrls: [OLD], dropBits: 256, createdAt: 1 };
const after: IdentitySummary = { ...before, dropUrls: [NEW], retiringDrops: [{ url: OLD, retireAt: 40 * 86_400_000, movedAt: 1000, dailyFrom: null }] };

/** The engine as the UI sees it: answers `messages/send` with one receipt id per call, or as told. */
function engine(answer?: (request: RequestOf<'messages/send'>) => Result<unknown>) {
  const sends: RequestOf<'messages/send'>[] = [];
  const bridge = {
    async invoke(channel: Channel, request: unknown) {
      if (channel !== 'messages/send') return ok(null);
      const send = request as RequestOf<'messages/send'>;
      sends.push(send);
      return answer ? answer(send) : ok({ localId: send.localId, acknowledgeIds: [`ack-${send.localId}`], parts: 1 });
    },
  } as unknown as EngineBridge;
  return { bridge, sends };
}

function message(senderKey: string, dropUrl: string, n: number): IncomingMessage {
  return {
    dedupeKey: `${senderKey}:${n}`, identityId: 'me', senderKey, type: 'box_message', payload: '{}', content: { type: 'box_message', msg: 'hi', part: null },
    text: 'hi', share: null, part: null, acknowledgeId: `m${n}`, meta: null, sentAt: 1, receivedAt: 2, dropUrl,
  };
}

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('migration');
  await db.contacts.bulkPut([
    contact(ALICE, 'Alice', 'accepted'),
    contact(BOB, 'Bob', 'verified'),
    contact(CAROL, 'Carol', 'accepted', []),
    contact(EVE, 'Eve', 'blocked'),
  ]);
});
afterEach(deleteTestDatabases);

describe('moving to a new drop', () => {
  it('tells every accepted and verified contact with an address, asking for a receipt, counting as it goes', async () => {
    const { bridge, sends } = engine();
    const progress: string[] = [];
    const outcome = await announceMove(db, bridge, before, after, (told, total) => progress.push(`${told}/${total}`), 5000);
    expect(outcome).toEqual({ told: 2, failed: 0, total: 2, error: null });
    expect(progress).toEqual(['0/2', '1/2', '2/2']);
    expect(sends.map((s) => [s.recipient.publicKey, s.content, s.wantReceipt])).toEqual(
      expect.arrayContaining([
        [ALICE, { type: 'box_contact_update' }, true],
        [BOB, { type: 'box_contact_update' }, true],
      ]),
    );
    expect(sends).toHaveLength(2);
    const alice = (await db.contacts.get(['me', ALICE]))!;
    expect(alice.ownUpdate).toEqual({ sent: 5000, confirmed: null, localId: sends.find((s) => s.recipient.publicKey === ALICE)!.localId, ackIds: [expect.stringMatching(/^ack-/)] });
    expect((await unconfirmedContacts(db, 'me')).map((c) => c.alias)).toEqual(['Alice', 'Bob']);
    // Each conversation told says what changed.
    const lines = await db.messages.where('[identityId+contactKey+sortAt]').between(['me', ALICE, -Infinity], ['me', ALICE, Infinity]).toArray();
    expect(lines.map((l) => [l.kind, l.text])).toEqual([['event', 'You now also receive at new.example.org\nYou no longer receive at old.example.org']]);
  });

  it('a receipt, or the engine saying delivered, confirms; a receipt for an older update or from someone else does not', async () => {
    const { bridge, sends } = engine();
    await announceMove(db, bridge, before, after, undefined, 5000);
    const aliceAck = (await db.contacts.get(['me', ALICE]))!.ownUpdate!.ackIds[0]!;
    // Bob sends a receipt carrying Alice's id: it confirms nobody.
    await db.transaction('rw', [db.messages, db.contacts, db.pendingReceipts], () => applyReceipts(db, [{ identityId: 'me', senderKey: BOB, acknowledgeId: aliceAck, receivedAt: 6000 }]));
    expect((await unconfirmedContacts(db, 'me')).map((c) => c.alias)).toEqual(['Alice', 'Bob']);
    await db.transaction('rw', [db.messages, db.contacts, db.pendingReceipts], () => applyReceipts(db, [{ identityId: 'me', senderKey: ALICE, acknowledgeId: aliceAck, receivedAt: 6000 }]));
    expect((await db.contacts.get(['me', ALICE]))!.ownUpdate).toMatchObject({ sent: 5000, confirmed: 5000 });
    // The confirming receipt is used up, not left waiting for a message.
    expect(await db.pendingReceipts.where('[identityId+acknowledgeId]').equals(['me', aliceAck]).count()).toBe(0);

    // Version 1 acknowledges without a receipt: the engine's `outbox/delivered` names the local id.
    expect(await confirmUpdateDelivered(db, sends.find((s) => s.recipient.publicKey === BOB)!.localId)).toBe(true);
    expect(await confirmUpdateDelivered(db, 'not-an-update')).toBe(false);
    expect(await unconfirmedContacts(db, 'me')).toEqual([]);

    // Sent again: unconfirmed until the new one is acknowledged, even though an older one was.
    await sendAddressUpdate(db, bridge, 'me', (await db.contacts.get(['me', ALICE]))!, 9000);
    expect(isUnconfirmed((await db.contacts.get(['me', ALICE]))!)).toBe(true);
    await db.transaction('rw', [db.messages, db.contacts, db.pendingReceipts], () => applyReceipts(db, [{ identityId: 'me', senderKey: ALICE, acknowledgeId: aliceAck, receivedAt: 9500 }]));
    expect((await db.contacts.get(['me', ALICE]))!.ownUpdate).toMatchObject({ sent: 9000, confirmed: 5000 });
  });

  it('a receipt that overtook the engine’s answer confirms at once; a refused send leaves the record alone', async () => {
    const { bridge } = engine((r) => ok({ localId: r.localId, acknowledgeIds: ['early'], parts: 1 }));
    await db.pendingReceipts.put({ identityId: 'me', acknowledgeId: 'early', senderKey: ALICE, receivedAt: Date.now() });
    expect(await sendAddressUpdate(db, bridge, 'me', (await db.contacts.get(['me', ALICE]))!, 7000)).toEqual({ ok: true });
    expect((await db.contacts.get(['me', ALICE]))!.ownUpdate).toMatchObject({ sent: 7000, confirmed: 7000 });

    const refusing = engine(() => fail('invalid_request', 'No.'));
    expect(await sendAddressUpdate(db, refusing.bridge, 'me', (await db.contacts.get(['me', BOB]))!, 7000)).toEqual({ ok: false, error: 'No.' });
    expect((await db.contacts.get(['me', BOB]))!.ownUpdate).toBeUndefined();
    const outcome = await announceMove(db, refusing.bridge, before, after, undefined, 8000);
    expect(outcome).toMatchObject({ told: 0, failed: 2, total: 2, error: 'No.' });
  });

  it('a contact writing to a retiring drop is sent the update again, once per batch and not again within the gap', async () => {
    const { bridge, sends } = engine();
    const now = 10 * 86_400_000;
    const batch = {
      batchId: 'b1',
      receipts: [],
      messages: [message(ALICE, OLD, 1), message(ALICE, OLD, 2), message(BOB, NEW, 3), message(EVE, OLD, 4), message('f'.repeat(64), OLD, 5)],
    };
    expect(await resendToStragglers(db, bridge, [after], batch, now)).toBe(1);
    expect(sends.map((s) => [s.recipient.publicKey, s.wantReceipt])).toEqual([[ALICE, true]]);
    expect((await db.contacts.get(['me', ALICE]))!.ownUpdate).toMatchObject({ sent: now, confirmed: null });
    // The old drop's backlog keeps coming: one update waits for its answer.
    expect(await resendToStragglers(db, bridge, [after], { ...batch, batchId: 'b2' }, now + 60_000)).toBe(0);
    expect(await resendToStragglers(db, bridge, [after], { ...batch, batchId: 'b3' }, now + RESEND_GAP_MS + 1)).toBe(1);
    // Once the drop has retired, or for an identity that moved nothing, nothing is sent.
    expect(await resendToStragglers(db, bridge, [after], { ...batch, batchId: 'b4' }, 41 * 86_400_000)).toBe(0);
    expect(await resendToStragglers(db, bridge, [before], { ...batch, batchId: 'b5' }, now + 2 * RESEND_GAP_MS)).toBe(0);
    expect(sends).toHaveLength(2);
  });

  it('once every contact confirmed the move, the engine is told once; not before the contacts were told', async () => {
    const { bridge, sends } = engine();
    const told: RequestOf<'identities/moveConfirmed'>[] = [];
    const confirmedAfter: IdentitySummary = { ...after, retiringDrops: [{ url: OLD, retireAt: 40 * 86_400_000, movedAt: 1000, dailyFrom: 9000 }] };
    const watching = {
      async invoke(channel: Channel, request: unknown) {
        if (channel !== 'identities/moveConfirmed') return bridge.invoke(channel as 'messages/send', request as RequestOf<'messages/send'>);
        told.push(request as RequestOf<'identities/moveConfirmed'>);
        return ok(confirmedAfter);
      },
    } as unknown as EngineBridge;
    const moving: IdentitySummary = { ...after, retiringDrops: [{ url: OLD, retireAt: 40 * 86_400_000, movedAt: 1000, dailyFrom: 1000 + 7 * 86_400_000 }] };

    // Moved, nobody told yet: the list of unconfirmed contacts is empty, but the move is not confirmed.
    expect(await unconfirmedContacts(db, 'me')).toEqual([]);
    expect(await reportConfirmedMoves(db, watching, moving, 2000)).toBeNull();
    await announceMove(db, watching, before, moving, undefined, 5000);
    expect(await confirmedMoves(db, moving, 6000)).toEqual([]);
    expect(await confirmUpdateDelivered(db, sends.find((s) => s.recipient.publicKey === ALICE)!.localId)).toBe(true);
    // Bob still has to confirm.
    expect(await reportConfirmedMoves(db, watching, moving, 7000)).toBeNull();
    expect(told).toEqual([]);
    // A contact added after the move got the new card: nobody waits for them.
    await db.contacts.put({ ...contact('9'.repeat(64), 'Dan', 'accepted'), createdAt: 6500 });
    expect(await confirmUpdateDelivered(db, sends.find((s) => s.recipient.publicKey === BOB)!.localId)).toBe(true);
    expect(await unconfirmedContacts(db, 'me')).toEqual([]);
    expect(await confirmedMoves(db, moving, 8000)).toEqual([OLD]);
    expect(await reportConfirmedMoves(db, watching, moving, 8000)).toEqual(confirmedAfter);
    expect(told).toEqual([{ identityId: 'me', fromDropUrl: OLD }]);
    // Once only, even when asked again with the summary from before the answer.
    expect(await reportConfirmedMoves(db, watching, moving, 8100)).toBeNull();
    expect(told).toHaveLength(1);
    // The engine's answer says the old drop is read daily: nothing left to confirm; nor for a drop removed, not moved, or retired.
    expect(await confirmedMoves(db, confirmedAfter, 9500)).toEqual([]);
    expect(await confirmedMoves(db, { ...moving, retiringDrops: [{ url: OLD, retireAt: 40 * 86_400_000, movedAt: null, dailyFrom: null }] }, 8000)).toEqual([]);
    expect(await confirmedMoves(db, moving, 41 * 86_400_000)).toEqual([]);
  });

  it('a retiring drop past its retirement is no longer listed', () => {
    const removed = { url: NEW, retireAt: 14 * 86_400_000, movedAt: null, dailyFrom: null };
    const both: IdentitySummary = { ...after, retiringDrops: [after.retiringDrops![0]!, removed] };
    expect(stillRetiring(both, 10 * 86_400_000)).toEqual(both.retiringDrops);
    expect(stillRetiring(both, 14 * 86_400_000)).toEqual([after.retiringDrops![0]]);
    expect(stillRetiring(both, 40 * 86_400_000)).toEqual([]);
    expect(stillRetiring(before)).toEqual([]);
  });
});
