/**
 * Tickets between the engine's identities and their contacts (PROTOCOL-V1 section 3c L1):
 * - handing out: the first time an identity writes to a contact, the contact is handed 60 fresh
 *   tickets for each of the identity's closed drops (`dd_tickets` messages, shared/modules/tickets.ts);
 * - receiving: tickets a contact hands us go into the wallet (stateStore, sealed at rest) under that
 *   contact and that drop URL, never to the UI. They are used only for posts to that contact, so a
 *   contact handing out tickets for someone else's drop can spoil nothing but its own mail;
 * - posting: a post to a contact's drop takes one ticket out before it is sent (a ticket is used once,
 *   whether or not the answer comes back); 409 Ticket spent takes the next one at once.
 */
import { decodeTickets, TICKETS_TYPE, type TicketsContent } from '../../../shared/modules/tickets.js';
import { fromBase64Url, toBase64Url } from '../../../shared/protocol/encoding.js';
import type { IncomingMessage } from '../../../shared/ipc/contract.js';
import type { StateStore } from '../state/stateStore.js';
import { mintTickets, ticketInfo } from './tickets.js';
import { spamSecretOf } from './closedDrops.js';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';

/** Tickets handed to a contact per closed drop at first. */
export const TICKETS_PER_CONTACT = 60;
/** Most tickets the wallet keeps per contact drop (a contact that floods us with tickets gains nothing). */
const MAX_WALLET_TICKETS = 240;

/** The `dd_tickets` content of an incoming message, or null for any other message. */
export function ticketsOf(message: IncomingMessage): TicketsContent | null {
  const content = message.content;
  if (content.type !== 'unsupported' || content.payloadType !== TICKETS_TYPE) return null;
  try {
    return decodeTickets(JSON.parse(content.payload));
  } catch {
    return null;
  }
}

/** Puts tickets a contact handed `identityId` into the wallet (usable ones only, no duplicates, bounded). */
export async function receiveTickets(stateStore: StateStore, identityId: string, contactKey: string, content: TicketsContent, nowMs: number): Promise<number> {
  const held = stateStore.walletTickets(identityId, contactKey, content.dropUrl);
  const seen = new Set(held.map((t) => toBase64Url(t)));
  const fresh: Uint8Array[] = [];
  for (const text of content.tickets) {
    if (seen.has(text)) continue;
    const ticket = fromBase64Url(text);
    if (!ticketInfo(ticket, nowMs)?.usable) continue;
    seen.add(text);
    fresh.push(ticket);
  }
  if (fresh.length === 0) return 0;
  const kept = [...held.filter((t) => ticketInfo(t, nowMs)?.usable), ...fresh].slice(-MAX_WALLET_TICKETS);
  await stateStore.setWalletTickets(identityId, contactKey, content.dropUrl, kept);
  return fresh.length;
}

/** Takes one usable ticket for posting to `contactKey`'s drop out of the wallet, or null. */
export async function takeTicket(stateStore: StateStore, identityId: string, contactKey: string, dropUrl: string, nowMs: number): Promise<Uint8Array | null> {
  if (stateStore.locked || !contactKey) return null;
  const held = stateStore.walletTickets(identityId, contactKey, dropUrl);
  if (held.length === 0) return null;
  const usable = held.filter((t) => ticketInfo(t, nowMs)?.usable);
  const [ticket, ...rest] = usable;
  await stateStore.setWalletTickets(identityId, contactKey, dropUrl, rest);
  return ticket ?? null;
}

/** The identity's closed drops `contactKey` holds no tickets for yet, each with fresh tickets (base64url). */
export function ticketsToHandOut(stateStore: StateStore, identityId: string, contactKey: string, nowMs: number): { dropUrl: string; tickets: string[] }[] {
  const identity = stateStore.identity(identityId);
  const due = stateStore.closedDrops(identityId).filter((claim) => identity.dropUrls.includes(claim.url) && !claim.given.includes(contactKey));
  if (due.length === 0) return [];
  const secret = spamSecretOf(stateStore.keyPair(identityId).privateKey);
  return due.map((claim) => {
    const keyId = Math.max(...claim.keyIds);
    const tickets = mintTickets({ secret, dropId: parseDropUrl(claim.url).dropId, keyId, count: TICKETS_PER_CONTACT, nowMs });
    return { dropUrl: claim.url, tickets: tickets.map((t) => toBase64Url(t)) };
  });
}

/** Wallet writes one after another: two batches' tickets must not read and write one entry at once. */
const walletQueues = new WeakMap<StateStore, Promise<unknown>>();

/**
 * Takes the `dd_tickets` messages out of a batch before the UI sees it, putting their tickets in the
 * wallet (in the background, one write after another); returns the batch's other messages (the same
 * array when there were none).
 */
export function consumeTickets(stateStore: StateStore, messages: IncomingMessage[], nowMs: number, onError: (err: unknown) => void): IncomingMessage[] {
  const found = messages.map((message) => [message, ticketsOf(message)] as const);
  if (!found.some(([, content]) => content)) return messages;
  for (const [message, content] of found) {
    if (!content) continue;
    const previous = walletQueues.get(stateStore) ?? Promise.resolve();
    const next = previous.then(() => (stateStore.locked ? 0 : receiveTickets(stateStore, message.identityId, message.senderKey, content, nowMs))).catch(onError);
    walletQueues.set(stateStore, next);
  }
  // A malformed dd_tickets message is no message for the user either.
  return messages.filter((message) => !(message.content.type === 'unsupported' && message.content.payloadType === TICKETS_TYPE));
}
