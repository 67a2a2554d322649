/**
 * Tickets between the engine's identities and their contacts (PROTOCOL-V1 section 3c L1):
 * - handing out: the first time an identity writes to a contact, the contact is handed 60 fresh
 *   tickets for each of the identity's closed drops (`dd_tickets` messages, shared/modules/tickets.ts),
 *   and a fresh batch with a later message when it is estimated to hold a third of that or fewer
 *   (ticketBatches.ts: the messages that came from it through the drop are counted here);
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
import { ticketInfo } from './tickets.js';
import { batchTickets, liveBatches, newBatch, topUpDue, type TicketBatch } from './ticketBatches.js';
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

/**
 * Empties the wallet for `contactKey`'s drop `dropUrl`: its owner struck them (revocation) or they
 * are otherwise refused as spent; from now on posts there go as a stranger's (stamp, introductions).
 */
export async function forgetTickets(stateStore: StateStore, identityId: string, contactKey: string, dropUrl: string): Promise<void> {
  if (stateStore.locked || !contactKey) return;
  if (stateStore.walletTickets(identityId, contactKey, dropUrl).length > 0) await stateStore.setWalletTickets(identityId, contactKey, dropUrl, []);
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

/** Tickets due to a contact for one of the identity's closed drops: the batch and its tickets (base64url). */
export interface TicketsDue {
  dropUrl: string;
  tickets: string[];
  batch: TicketBatch;
}

/**
 * The identity's closed drops `contactKey` is due tickets for: those it holds none for yet, and those
 * it is estimated to hold a third of a batch or fewer for (top-up), each with a fresh batch.
 */
export function ticketsToHandOut(stateStore: StateStore, identityId: string, contactKey: string, nowMs: number): TicketsDue[] {
  const identity = stateStore.identity(identityId);
  const due = stateStore
    .closedDrops(identityId)
    .filter((claim) => identity.dropUrls.includes(claim.url) && !claim.revoking.includes(contactKey))
    .filter((claim) => !claim.given.includes(contactKey) || topUpDue(claim.batches, claim.arrived[contactKey] ?? 0, contactKey, nowMs));
  if (due.length === 0) return [];
  const secret = spamSecretOf(stateStore.keyPair(identityId).privateKey);
  return due.map((claim) => {
    const batch = newBatch(contactKey, Math.max(...claim.keyIds), nowMs, TICKETS_PER_CONTACT);
    const tickets = batchTickets(secret, parseDropUrl(claim.url).dropId, batch);
    return { dropUrl: claim.url, tickets: tickets.map((t) => toBase64Url(t)), batch };
  });
}

/**
 * Records a batch as handed out once its message is posted: the contact counts as given, and the
 * contact's expired batches go, with as many of its counted messages (they used those tickets).
 */
export async function noteBatchGiven(stateStore: StateStore, identityId: string, dropUrl: string, batch: TicketBatch, nowMs: number): Promise<void> {
  await stateStore.updateClosedDrop(identityId, dropUrl, (claim) => {
    if (!claim.given.includes(batch.contact)) claim.given.push(batch.contact);
    const live = liveBatches(claim.batches, nowMs);
    const expired = claim.batches.filter((b) => b.contact === batch.contact && !live.includes(b)).reduce((sum, b) => sum + b.count, 0);
    if (expired > 0) claim.arrived[batch.contact] = Math.max(0, (claim.arrived[batch.contact] ?? 0) - expired);
    claim.batches = [...live, { ...batch }];
  });
}

/** Messages counted lately, per state store: a batch the UI has not acknowledged yet comes again. */
const counted = new WeakMap<StateStore, Set<string>>();
const MAX_COUNTED = 10_000;

function alreadyCounted(stateStore: StateStore, key: string): boolean {
  let seen = counted.get(stateStore);
  if (!seen) counted.set(stateStore, (seen = new Set()));
  if (seen.has(key)) return true;
  // Oldest first out (a Set iterates in insertion order): the memory stays bounded.
  if (seen.size >= MAX_COUNTED) seen.delete(seen.values().next().value!);
  seen.add(key);
  return false;
}

/**
 * Counts the messages of a batch that came from contacts holding tickets for the identity's closed
 * drop they came through (each took one of them): the top-up estimate of ticketBatches.ts.
 */
export async function countArrivals(stateStore: StateStore, messages: readonly IncomingMessage[]): Promise<void> {
  const counts = new Map<string, Map<string, number>>();
  for (const message of messages) {
    if (alreadyCounted(stateStore, `${message.identityId}\n${message.dropUrl}\n${message.dedupeKey}`)) continue;
    const key = `${message.identityId}\n${message.dropUrl}`;
    let perSender = counts.get(key);
    if (!perSender) counts.set(key, (perSender = new Map()));
    perSender.set(message.senderKey, (perSender.get(message.senderKey) ?? 0) + 1);
  }
  for (const [key, perSender] of counts) {
    const [identityId, dropUrl] = key.split('\n') as [string, string];
    const claims = stateStore.identities().some((i) => i.id === identityId) ? stateStore.closedDrops(identityId) : [];
    const claim = claims.find((c) => c.url === dropUrl);
    if (!claim || ![...perSender.keys()].some((sender) => claim.given.includes(sender))) continue;
    await stateStore.updateClosedDrop(identityId, dropUrl, (stored) => {
      for (const [sender, n] of perSender) if (stored.given.includes(sender)) stored.arrived[sender] = (stored.arrived[sender] ?? 0) + n;
    });
  }
}

/** Wallet writes one after another: two batches' tickets must not read and write one entry at once. */
const walletQueues = new WeakMap<StateStore, Promise<unknown>>();

/**
 * Takes the `dd_tickets` messages out of a batch before the UI sees it, putting their tickets in the
 * wallet (in the background, one write after another); returns the batch's other messages (the same
 * array when there were none).
 */
export function consumeTickets(stateStore: StateStore, messages: IncomingMessage[], nowMs: number, onError: (err: unknown) => void): IncomingMessage[] {
  if (messages.length > 0) {
    const counting = (walletQueues.get(stateStore) ?? Promise.resolve()).then(() => (stateStore.locked ? undefined : countArrivals(stateStore, messages))).catch(onError);
    walletQueues.set(stateStore, counting);
  }
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
