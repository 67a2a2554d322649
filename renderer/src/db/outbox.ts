import type { EncryptedFileRef, OutboxCopies, OutboxStatus, RepostState, SendAccepted, SendContentInput } from '../../../shared/ipc/contract.js';
import { sendContentSchema } from '../../../shared/modules/registry.js';
import type { Result } from '../../../shared/ipc/result.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from './database.js';
import { previewOf } from './incomingMessage.js';
import type { ContactRecord, MessageRecord, MessageStatus } from './records.js';

/** Statuses after which the engine has nothing more to do for a message. */
const FINISHED: MessageStatus[] = ['posted', 'delivered', 'failed', 'cancelled'];

/**
 * The outbox: a message is written as `queued` before the engine hears of it, so nothing typed is
 * lost when the engine is away; `resumeOutbox` hands every unfinished message to the engine again
 * (idempotent by local id) after a start or a reconnect.
 */
export async function queueTextMessage(
  db: DeaddropDatabase,
  identityId: string,
  contact: ContactRecord,
  text: string,
  now = Date.now(),
): Promise<MessageRecord> {
  return storeOutgoing(db, identityId, contact, { kind: 'text', text, payloadType: 'box_message', share: null, status: 'queued' }, now);
}

/**
 * Writes a new outgoing message and moves its conversation to it, in one transaction: the part every
 * kind of outgoing message shares.
 */
async function storeOutgoing(
  db: DeaddropDatabase,
  identityId: string,
  contact: ContactRecord,
  fields: Pick<MessageRecord, 'kind' | 'text' | 'payloadType' | 'share' | 'status'>,
  now: number,
): Promise<MessageRecord> {
  const localId = crypto.randomUUID();
  const record: MessageRecord = {
    id: `out:${localId}`,
    identityId,
    contactKey: contact.publicKey,
    direction: 'out',
    ...fields,
    payload: '',
    sortAt: now,
    createdAt: now,
    localId,
    error: null,
    ackIds: [],
    ackedIds: [],
    parts: null,
    read: true,
  };
  await db.transaction('rw', db.messages, db.conversations, async () => {
    await db.messages.add(record);
    const key: [string, string] = [identityId, contact.publicKey];
    const current = await db.conversations.get(key);
    await db.conversations.put({
      identityId,
      contactKey: contact.publicKey,
      lastMessageAt: now,
      lastMessagePreview: previewOf(record),
      lastMessageDirection: 'out',
      unreadCount: current?.unreadCount ?? 0,
      messageCount: (current?.messageCount ?? 0) + 1,
    });
  });
  return record;
}

/** Hands one stored outgoing message to the engine and records what it answered. */
export async function submitMessage(db: DeaddropDatabase, bridge: EngineBridge, message: MessageRecord): Promise<void> {
  if (message.direction !== 'out' || !message.localId) return;
  // A file goes out as its notice, never as a text: only once its upload is done does the record hold
  // the notice (`recordUploadedFile`); before that the file's own transfer (files/sendFile.ts) owns it.
  const content = message.kind === 'share' ? uploadedNotice(message) : null;
  if (message.kind === 'share' && !content) return;
  const contact = await db.contacts.get([message.identityId, message.contactKey]);
  if (!contact || contact.dropUrls.length === 0) {
    await setStatus(db, message.localId, 'failed', 'This contact has no drop address to send to.');
    return;
  }
  const result: Result<SendAccepted> = await bridge.invoke('messages/send', {
    identityId: message.identityId,
    localId: message.localId,
    recipient: {
      publicKey: contact.publicKey,
      dropUrls: contact.dropUrls,
      // The card's prekey goes with the first message too: the engine's Init PDUs introduce us (alias
      // and drop URL) as a v0 first message does, so that message is forward secret and still answerable.
      ...(contact.v1 ? { v1: { qrPrekey: contact.v1.qrPrekey, qrPrekeyExpiresDay: contact.v1.qrPrekeyExpiresDay } } : {}),
    },
    ...(content ? { content } : { text: message.text }),
    wantReceipt: true,
  });
  if (result.ok) {
    await recordAccepted(db, message.id, result.value);
    return;
  }
  // Transport trouble leaves the message queued: it goes out when the engine is back.
  if (result.error.code === 'unavailable' || result.error.code === 'timeout' || result.error.code === 'locked') return;
  await setStatus(db, message.localId, 'failed', result.error.message);
}

async function recordAccepted(db: DeaddropDatabase, id: string, accepted: SendAccepted): Promise<void> {
  await db.transaction('rw', db.messages, db.pendingReceipts, async () => {
    const message = await db.messages.get(id);
    if (!message) return;
    const early = await db.pendingReceipts
      .where('[identityId+acknowledgeId]')
      .anyOf(accepted.acknowledgeIds.map((ackId) => [message.identityId, ackId]))
      .toArray();
    const ackedIds = early.filter((r) => r.senderKey === message.contactKey).map((r) => r.acknowledgeId);
    const delivered = accepted.acknowledgeIds.length > 0 && accepted.acknowledgeIds.every((a) => ackedIds.includes(a));
    await db.messages.update(id, {
      ackIds: accepted.acknowledgeIds,
      ackedIds,
      ...(delivered ? { status: 'delivered' as const } : {}),
    });
  });
}

/**
 * Applies an `outbox/status` event; never moves a message back from `delivered`, nor from `posted` to
 * `sending`. Receipt ids the event carries (a file's notice) are recorded like `messages/send`'s.
 */
export async function applyOutboxStatus(
  db: DeaddropDatabase,
  event: { localId: string; status: OutboxStatus; error?: string; acknowledgeIds?: string[]; copies?: OutboxCopies; repost?: RepostState },
): Promise<void> {
  if (event.acknowledgeIds) await recordAccepted(db, `out:${event.localId}`, { localId: event.localId, acknowledgeIds: event.acknowledgeIds, parts: 1 });
  await setStatus(db, event.localId, event.status, event.error ?? null, event.copies, event.repost);
}

/**
 * The engine's word that the recipient has a message (`outbox/delivered`: a receipt, or a version-1
 * acknowledgement vector, which brings no receipt of its own). Idempotent; a cancelled message stays
 * cancelled. False when no message of ours has this local id.
 */
export async function applyOutboxDelivered(db: DeaddropDatabase, localId: string): Promise<boolean> {
  return db.transaction('rw', db.messages, async () => {
    const message = await db.messages.get(`out:${localId}`);
    if (message?.direction !== 'out') return false;
    if (message.status !== 'delivered' && message.status !== 'cancelled') await db.messages.update(message.id, { status: 'delivered', error: null });
    return true;
  });
}

/**
 * The copies count after a report: a later report of the same k never takes back a copy already
 * accepted (a re-sent or resumed message may count again from 0); a new k replaces it.
 */
export function mergeCopies(before: OutboxCopies | undefined, report: OutboxCopies): OutboxCopies {
  const wanted = Math.max(1, report.wanted);
  const posted = Math.min(wanted, Math.max(0, before && before.wanted === wanted ? Math.max(before.posted, report.posted) : report.posted));
  return { posted, wanted };
}

/**
 * Keeps the notice of an uploaded file (the engine's final `files/progress` carries its reference) in
 * its record, so the outbox can hand the notice to the engine again after a restart, by its local id.
 */
export async function recordUploadedFile(db: DeaddropDatabase, localId: string, ref: EncryptedFileRef, mime: string | null): Promise<void> {
  await db.transaction('rw', db.messages, async () => {
    const message = await db.messages.get(`out:${localId}`);
    if (message?.kind !== 'share' || message.direction !== 'out' || !message.share) return;
    const notice: UploadedNotice = { file: message.share.file, text: message.text === message.share.file ? '' : message.text, mime, ref };
    await db.messages.update(message.id, { payload: JSON.stringify(notice), share: { ...message.share, url: ref.url } });
  });
}

interface UploadedNotice {
  file: string;
  text: string;
  mime: string | null;
  ref: EncryptedFileRef;
}

/** The notice of an uploaded outgoing file, as `messages/send` content; null before the upload is done. */
function uploadedNotice(message: MessageRecord): SendContentInput | null {
  if (message.payload === '') return null;
  try {
    const notice = JSON.parse(message.payload) as UploadedNotice;
    const content = { type: 'box_share_notification' as const, file: notice.file, text: notice.text, mime: notice.mime, ref: notice.ref, share: null };
    return sendContentSchema.safeParse(content).success ? content : null;
  } catch {
    return null;
  }
}

async function setStatus(
  db: DeaddropDatabase,
  localId: string,
  status: MessageStatus,
  error: string | null,
  copies?: OutboxCopies,
  repost?: RepostState,
): Promise<void> {
  const id = `out:${localId}`;
  await db.transaction('rw', db.messages, async () => {
    const message = await db.messages.get(id);
    if (!message) return;
    // Copies are counted whatever the status does: a second copy may land after the receipt came.
    const counted = { ...(copies ? { copies: mergeCopies(message.copies, copies) } : {}), ...(repost ? { repost } : {}) };
    const keep = message.status === 'delivered' || message.status === 'cancelled' || (status === 'sending' && message.status === 'posted');
    // The outbox never takes back a posted message; a late `sending` (a notice's receipt ids) leaves it.
    if (keep) {
      if (copies || repost) await db.messages.update(id, counted);
      return;
    }
    await db.messages.update(id, { status, error: status === 'failed' ? (error ?? 'Sending failed.') : null, ...counted });
  });
}

/** Re-submits every outgoing message the engine has not finished, oldest first. */
export async function resumeOutbox(db: DeaddropDatabase, bridge: EngineBridge): Promise<number> {
  const unfinished = await db.messages
    .where('[direction+status]')
    .anyOf([
      ['out', 'queued'],
      ['out', 'sending'],
    ])
    .toArray();
  unfinished.sort((a, b) => a.sortAt - b.sortAt);
  for (const message of unfinished) await submitMessage(db, bridge, message);
  return unfinished.length;
}

/** Tries a failed message again under the same local id. */
export async function retryMessage(db: DeaddropDatabase, bridge: EngineBridge, id: string): Promise<void> {
  const message = await db.messages.get(id);
  if (!message || message.status !== 'failed') return;
  await db.messages.update(id, { status: 'queued', error: null });
  await submitMessage(db, bridge, { ...message, status: 'queued', error: null });
}

/** Stops a message that has not gone out; it stays visible as cancelled until deleted. */
export async function cancelMessage(db: DeaddropDatabase, bridge: EngineBridge, id: string): Promise<void> {
  const message = await db.messages.get(id);
  if (!message?.localId || (message.status !== null && FINISHED.includes(message.status) && message.status !== 'failed')) return;
  await db.messages.update(id, { status: 'cancelled', error: null });
  await bridge.invoke('messages/cancel', { localId: message.localId });
}

/**
 * Writes an outgoing file as a `share` message before anything is staged, so its card shows at once.
 * Its status stays null while the UI hands the bytes to the engine. The engine reports `sending` when
 * `files/send` starts the upload, and the notice's statuses after it. Until the upload is done the
 * outbox never submits it (`submitMessage`); after that, only as its notice (`recordUploadedFile`).
 * `text` is the caption, or the file's name when there is none (what search and previews show).
 */
export async function queueFileMessage(
  db: DeaddropDatabase,
  identityId: string,
  contact: ContactRecord,
  file: { name: string; size: number },
  caption: string,
  now = Date.now(),
): Promise<MessageRecord> {
  const fields = {
    kind: 'share' as const,
    text: caption.trim() === '' ? file.name : caption,
    payloadType: 'box_share_notification',
    share: { file: file.name, url: '', size: file.size },
    status: null,
  };
  return storeOutgoing(db, identityId, contact, fields, now);
}
