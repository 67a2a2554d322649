/** Test helper for the anti-spam tests: an owner who claims drops and mints tickets, and posting through the client library. */
import { randomBytes } from 'node:crypto';
import { claimDrop, sendPolicy, buildPolicy, type PolicyOptions, type PolicyPost } from '../../electron/core/spam/dropClaim.js';
import { fetchPost, postWithSpamRules, type PostAnswer } from '../../electron/core/spam/spamPost.js';
import { createStamper, type Stamper } from '../../electron/core/spam/stamper.js';
import { mintTickets, ticketHeaderFor } from '../../electron/core/spam/tickets.js';
import { newDropId } from './dropClient.js';

export const rawPost = fetchPost();

export const fetchPolicyPost: PolicyPost = async (url, body) => {
  const res = await fetch(url, { method: 'POST', body, headers: { Authorization: 'Client Qabel', 'Content-Type': 'application/json' } });
  return { status: res.status, body: await res.text() };
};

export interface Owner {
  secret: Uint8Array;
  dropUrl: string;
  dropId: string;
  mint(count: number, keyId?: number, nowMs?: number): Uint8Array[];
  update(options: Partial<PolicyOptions> & { seq: number }): ReturnType<typeof sendPolicy>;
}

/** A fresh drop on `serverUrl`, claimed closed by a fresh owner. */
export async function claimedDrop(serverUrl: string, introPerDay = 20): Promise<Owner> {
  const secret = new Uint8Array(randomBytes(32));
  const dropId = newDropId();
  const dropUrl = `${serverUrl}/${dropId}`;
  const claim = await claimDrop(fetchPolicyPost, { secret, dropUrl, keyIds: [0], introPerDay });
  if (!claim.ok) throw new Error(`claim refused: ${claim.status} ${claim.error}`);
  return {
    secret,
    dropUrl,
    dropId,
    mint: (count, keyId = 0, nowMs) => mintTickets({ secret, dropId, keyId, count, nowMs }),
    update: (options) => sendPolicy(fetchPolicyPost, dropUrl, buildPolicy({ secret, dropUrl, keyIds: [0], introPerDay, ...options })),
  };
}

export async function postTicketed(dropUrl: string, pdu: Uint8Array, ticket: Uint8Array): Promise<PostAnswer> {
  return rawPost(dropUrl, pdu, ticketHeaderFor(ticket));
}

/** Posts the way a Deaddrop client does (stamp and retry once when asked). */
export function postAsClient(stamper: Stamper, dropUrl: string, pdu: Uint8Array, ticket: Uint8Array | null = null) {
  return postWithSpamRules(rawPost, dropUrl, pdu, { stamper, ticket });
}

export { createStamper };

export const pdu = (tag: string): Uint8Array => {
  const bytes = new Uint8Array(2149);
  bytes.set(new TextEncoder().encode(tag));
  bytes.fill(0x5a, tag.length);
  return bytes;
};
