/**
 * Moving to a new drop, the UI's part (PROTOCOL-V1.md 2c "Migration"). The engine opens the new drop,
 * reads it at once and keeps reading the old one until it retires (`identities/moveDrop`,
 * `IdentitySummary.retiringDrops`); the UI tells every accepted and verified contact with a
 * `box_contact_update` that asks for a receipt, and remembers per contact which update it sent and
 * which one the contact confirmed (`ContactRecord.ownUpdate`), for the list of contacts who have not
 * confirmed the new address. A contact who writes to a retiring drop has not heard of the move: they
 * are sent the update again (at most once per RESEND_GAP_MS).
 */
import type { EventMap, IdentitySummary, Receipt, RetiringDrop } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { isAccepted } from '../db/senderBounds.js';
import { eventRecord, ownChangeLines, storeEventLines } from '../modules/contactUpdate.js';

/** A contact writing to a retiring drop again soon after an update went to them waits for that one. */
export const RESEND_GAP_MS = 10 * 60_000;

/** The contact was sent an update asking for a receipt and has not acknowledged it (or a later one). */
export function isUnconfirmed(contact: Pick<ContactRecord, 'ownUpdate'>): boolean {
  const update = contact.ownUpdate;
  return update !== undefined && (update.confirmed ?? -1) < update.sent;
}

/** Accepted and verified contacts of an identity who have not confirmed our newest address, by name. */
export async function unconfirmedContacts(db: DeaddropDatabase, identityId: string): Promise<ContactRecord[]> {
  const contacts = await db.contacts
    .where('[identityId+status]')
    .anyOf([
      [identityId, 'accepted'],
      [identityId, 'verified'],
    ])
    .toArray();
  return contacts.filter(isUnconfirmed).sort((a, b) => a.alias.localeCompare(b.alias));
}

/**
 * Sends one contact our drop list as it is now (the engine fills it in), asking for a receipt, and
 * records it as the contact's newest update. A receipt that overtook the engine's answer (waiting in
 * `pendingReceipts`) confirms it at once.
 */
export async function sendAddressUpdate(
  db: DeaddropDatabase,
  bridge: EngineBridge,
  identityId: string,
  contact: ContactRecord,
  now = Date.now(),
): Promise<{ ok: true } | { ok: false; error: string }> {
  if (contact.dropUrls.length === 0) return { ok: false, error: 'This contact has no drop address to send to.' };
  const localId = crypto.randomUUID();
  const result = await bridge.invoke('messages/send', {
    identityId,
    localId,
    // No card prekey: an update never starts a session by itself (it is a notice, not a conversation);
    // a session that exists carries it.
    recipient: { publicKey: contact.publicKey, dropUrls: contact.dropUrls },
    content: { type: 'box_contact_update' },
    wantReceipt: true,
  });
  if (!result.ok) return { ok: false, error: result.error.message };
  const ackIds = result.value.acknowledgeIds;
  const key: [string, string] = [identityId, contact.publicKey];
  await db.transaction('rw', db.contacts, db.pendingReceipts, async () => {
    const current = await db.contacts.get(key);
    if (!current) return;
    const early = await db.pendingReceipts
      .where('[identityId+acknowledgeId]')
      .anyOf(ackIds.map((ackId) => [identityId, ackId]))
      .toArray();
    const acked = ackIds.length > 0 && ackIds.every((ackId) => early.some((r) => r.acknowledgeId === ackId && r.senderKey === contact.publicKey));
    const confirmed = acked ? now : (current.ownUpdate?.confirmed ?? null);
    await db.contacts.update(key, { ownUpdate: { sent: now, confirmed, localId, ackIds } });
  });
  return { ok: true };
}

export interface MoveAnnouncement {
  told: number;
  failed: number;
  total: number;
  error: string | null;
}

/**
 * Tells every accepted and verified contact with a drop address of the move (`before` → `after`), one
 * at a time, reporting `told` of `total` after each; a line in each conversation told says what
 * changed ("You now also receive at …").
 */
export async function announceMove(
  db: DeaddropDatabase,
  bridge: EngineBridge,
  before: IdentitySummary,
  after: IdentitySummary,
  onProgress: (told: number, total: number) => void = () => undefined,
  now = Date.now(),
): Promise<MoveAnnouncement> {
  const contacts = (
    await db.contacts
      .where('[identityId+status]')
      .anyOf([
        [after.id, 'accepted'],
        [after.id, 'verified'],
      ])
      .toArray()
  ).filter((c) => c.dropUrls.length > 0);
  const outcome: MoveAnnouncement = { told: 0, failed: 0, total: contacts.length, error: null };
  onProgress(0, outcome.total);
  const lines = ownChangeLines(before, after);
  const rows = [];
  for (const contact of contacts) {
    const sent = await sendAddressUpdate(db, bridge, after.id, contact, now);
    if (sent.ok) {
      outcome.told++;
      if (lines.length > 0) rows.push(eventRecord(`out:move:${after.id}:${contact.publicKey}:${now}`, after.id, contact.publicKey, 'out', lines, now));
    } else {
      outcome.failed++;
      outcome.error = sent.error;
    }
    onProgress(outcome.told, outcome.total);
  }
  if (rows.length > 0) await storeEventLines(db, rows);
  return outcome;
}

/**
 * A receipt from a contact for our newest update to them confirms it. Call inside a transaction over
 * contacts. False when the receipt is for something else.
 */
export async function confirmUpdateByReceipt(db: DeaddropDatabase, receipt: Receipt, contact: ContactRecord | undefined): Promise<boolean> {
  const update = contact?.ownUpdate;
  if (!contact || !update || !confirmsUpdate(receipt, contact)) return false;
  if ((update.confirmed ?? -1) < update.sent) await db.contacts.update([contact.identityId, contact.publicKey], { ownUpdate: { ...update, confirmed: update.sent } });
  return true;
}

/** Whether a receipt from this contact is for our newest update to them. */
export function confirmsUpdate(receipt: Receipt, contact: ContactRecord | undefined): boolean {
  return contact?.publicKey === receipt.senderKey && contact.identityId === receipt.identityId && (contact.ownUpdate?.ackIds.includes(receipt.acknowledgeId) ?? false);
}

/**
 * `outbox/delivered` for one of our updates (a version-1 acknowledgement brings no receipt). Updates
 * have no message row, so the contact is found by its update's local id. False when none has it.
 */
export async function confirmUpdateDelivered(db: DeaddropDatabase, localId: string): Promise<boolean> {
  return db.transaction('rw', db.contacts, async () => {
    const [contact] = await db.contacts.filter((c) => c.ownUpdate?.localId === localId).toArray();
    const update = contact?.ownUpdate;
    if (!contact || !update) return false;
    if ((update.confirmed ?? -1) < update.sent) await db.contacts.update([contact.identityId, contact.publicKey], { ownUpdate: { ...update, confirmed: update.sent } });
    return true;
  });
}

/**
 * After a batch is stored: each accepted contact whose message came through one of the identity's
 * retiring drops has not switched to the new address, so they are sent the update again, unless one
 * went to them less than RESEND_GAP_MS ago (a backlog on the old drop asks once). Returns how many
 * were sent.
 */
export async function resendToStragglers(
  db: DeaddropDatabase,
  bridge: EngineBridge,
  identities: readonly IdentitySummary[],
  batch: EventMap['inbox/batch'],
  now = Date.now(),
): Promise<number> {
  const seen = new Set<string>();
  let sent = 0;
  for (const message of batch.messages) {
    const identity = identities.find((i) => i.id === message.identityId);
    const retiring = identity?.retiringDrops ?? [];
    if (!identity || !retiring.some((drop) => drop.url === message.dropUrl && drop.retireAt > now)) continue;
    const key = `${identity.id}\n${message.senderKey}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const contact = await db.contacts.get([identity.id, message.senderKey]);
    if (!contact || !isAccepted(contact.status)) continue;
    if (contact.ownUpdate && now - contact.ownUpdate.sent < RESEND_GAP_MS) continue;
    if ((await sendAddressUpdate(db, bridge, identity.id, contact, now)).ok) sent++;
  }
  return sent;
}

/**
 * The identity's retiring drops still read at `now`: one past its `retireAt` is read no more (the
 * engine forgets it at its next look, and until then a summary may still list it), so it is not shown.
 */
export function stillRetiring(identity: IdentitySummary, now = Date.now()): RetiringDrop[] {
  return (identity.retiringDrops ?? []).filter((drop) => drop.retireAt > now);
}

/**
 * The moves of `identity` every contact has confirmed, whose old drop the engine still reads at the
 * normal rate: their `fromDropUrl`s, for `identities/moveConfirmed`. A move counts as confirmed when
 * every accepted and verified contact with an address who was there before it has acknowledged an
 * update sent at or after the move (a later update carries the same news); contacts added since got
 * the new card. Right after the move, before the contacts were told, nobody has such an update yet,
 * so nothing counts as confirmed until the announcement went out and came back. A move without such
 * contacts is confirmed at once.
 */
export async function confirmedMoves(db: DeaddropDatabase, identity: IdentitySummary, now = Date.now()): Promise<string[]> {
  const moves = stillRetiring(identity, now).filter((drop) => drop.movedAt !== null && (drop.dailyFrom === null || drop.dailyFrom > now));
  if (moves.length === 0) return [];
  const contacts = (
    await db.contacts
      .where('[identityId+status]')
      .anyOf([
        [identity.id, 'accepted'],
        [identity.id, 'verified'],
      ])
      .toArray()
  ).filter((c) => c.dropUrls.length > 0);
  return moves
    .filter((drop) =>
      contacts.every((c) => {
        if (c.createdAt >= drop.movedAt!) return true;
        const update = c.ownUpdate;
        return update !== undefined && update.sent >= drop.movedAt! && !isUnconfirmed(c);
      }),
    )
    .map((drop) => drop.url);
}

/** Moves already said to the engine in this window (identityId, newline, fromDropUrl), so each is said once. */
const moveConfirmationsSent = new Set<string>();

/**
 * Says each of `identity`'s fully confirmed moves to the engine once (`identities/moveConfirmed`): the
 * old drop is then read once a day. Returns the engine's newest summary of the identity, or null when
 * nothing was said or the engine refused (a refusal is not retried: the old drop goes to daily reads
 * a week after the move anyway).
 */
export async function reportConfirmedMoves(db: DeaddropDatabase, bridge: EngineBridge, identity: IdentitySummary, now = Date.now()): Promise<IdentitySummary | null> {
  let latest: IdentitySummary | null = null;
  for (const fromDropUrl of await confirmedMoves(db, identity, now)) {
    const key = `${identity.id}\n${fromDropUrl}`;
    if (moveConfirmationsSent.has(key)) continue;
    moveConfirmationsSent.add(key);
    const result = await bridge.invoke('identities/moveConfirmed', { identityId: identity.id, fromDropUrl });
    if (result.ok) latest = result.value;
  }
  return latest;
}
