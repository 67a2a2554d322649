import type { IncomingMessage, SenderMeta } from '../../../shared/ipc/contract.js';
import { type ChatFields, previews, storageOf } from '../modules/registry.js';
import type { ContactRecord, LongTextParts, MessageKind, MessageRecord } from './records.js';

const MAX_ALIAS_LENGTH = 64;
/** Drop URLs kept from one contact update (shared/modules/contactUpdate.ts MAX_UPDATE_DROP_URLS). */
const MAX_DROP_URLS = 16;
const UNSUPPORTED: ChatFields = { kind: 'unsupported', text: '', share: null, part: null };

/** How an incoming drop message is stored as a chat row, by its module (modules/registry.ts). */
export function chatFields(message: IncomingMessage): ChatFields {
  const storage = storageOf(message.content);
  return storage.table === 'messages' ? storage.fields : UNSUPPORTED;
}

/** How an incoming drop message is shown: chat text, a shared-file notice, or a placeholder. */
export function messageKind(message: IncomingMessage): MessageKind {
  return chatFields(message).kind;
}

/**
 * Where an incoming message sits in its conversation. The sender's clock is trusted only as far as
 * the past: a claimed time after arrival would pin the message below everything that follows.
 */
export function incomingSortAt(message: IncomingMessage): number {
  return Number.isFinite(message.sentAt) ? Math.min(message.sentAt, message.receivedAt) : message.receivedAt;
}

/**
 * A stranger's first message becomes a contact request, introduced by the hello's meta data if any.
 * The drop URL the hello claims is only offered: nothing is sent there unless the user accepts.
 */
export function contactFromHello(identityId: string, senderKey: string, meta: SenderMeta | null, now: number): ContactRecord {
  const announced = cleanAlias(meta?.alias);
  const alias = announced ?? `Unknown ${senderKey.slice(0, 8)}`;
  return {
    identityId,
    publicKey: senderKey,
    alias,
    aliasLower: alias.toLowerCase(),
    ...(announced !== null ? { announcedAlias: announced } : {}),
    dropUrls: [],
    offeredDropUrls: helloDropUrls(meta),
    status: 'unknown',
    createdAt: now,
  };
}

/** The hello's drop URL in the URL parser's spelling (control and bidi characters escaped), if it is one. */
export function helloDropUrls(meta: SenderMeta | null): string[] {
  const url = cleanDropUrl(meta?.dropUrl);
  return url === null ? [] : [url];
}

/** Drop URLs a contact announces, cleaned like a hello's: http(s) only, the URL parser's spelling, no repeats, at most 16. */
export function cleanDropUrls(urls: readonly unknown[]): string[] {
  const clean: string[] = [];
  for (const url of urls) {
    const href = cleanDropUrl(url);
    if (href !== null && !clean.includes(href)) clean.push(href);
    if (clean.length === MAX_DROP_URLS) break;
  }
  return clean;
}

function cleanDropUrl(url: unknown): string | null {
  if (typeof url !== 'string' || !/^https?:\/\/\S+$/i.test(url) || url.length > 2048) return null;
  try {
    const href = new URL(url).href;
    return href.length <= 2048 ? href : null;
  } catch {
    return null;
  }
}

/** A name a contact announces, without control and format characters, trimmed, at most 64 characters; null when nothing is left. */
export function cleanAlias(alias: unknown): string | null {
  if (typeof alias !== 'string') return null;
  // Control characters would let a stranger forge line breaks or direction overrides in the UI.
  const clean = alias.replace(/[\p{Cc}\p{Cf}]/gu, '').trim().slice(0, MAX_ALIAS_LENGTH);
  return clean.length > 0 ? clean : null;
}

/** A complete, single-part incoming message as stored. */
export function incomingRecord(id: string, message: IncomingMessage): MessageRecord {
  const { kind, text, share } = chatFields(message);
  return {
    id,
    identityId: message.identityId,
    contactKey: message.senderKey,
    direction: 'in',
    kind,
    text,
    payloadType: message.type,
    payload: message.payload,
    share,
    sortAt: incomingSortAt(message),
    createdAt: message.receivedAt,
    status: null,
    localId: null,
    error: null,
    ackIds: [],
    ackedIds: [],
    parts: null,
    read: false,
    ...(message.unconfirmedSession === true ? { unconfirmedSession: true as const } : {}),
  };
}

/** Distinct parts of a long text stored so far (rows of schema 6 and before count their inline pieces). */
export function partsStored(parts: LongTextParts): number {
  return parts.stored ?? Object.keys(parts.received ?? {}).length;
}

/** Whether a message is a long text of which some parts have not arrived yet. */
export function isArriving(record: Pick<MessageRecord, 'parts'>): boolean {
  return record.parts !== null && partsStored(record.parts) < record.parts.count;
}

/** One line for the conversation list. */
export function previewOf(record: Pick<MessageRecord, 'kind' | 'text' | 'share' | 'parts'>): string {
  if (record.kind === 'text' && isArriving(record)) return 'Receiving a long message…';
  return previews[record.kind](record);
}
