/**
 * The engine's side of closed drops (PROTOCOL-V1 section 3c L1): with the `closedDrops` setting on, a
 * drop the engine creates is claimed with a signed policy right after it is created, before its URL is
 * returned to the UI or announced to anyone (the server takes a claim only on an empty drop, so a
 * claim made later could be refused, and a drop given out open would have to be closed on contacts
 * who hold no tickets yet).
 *
 * Keys: one spam secret per identity, HKDF-SHA256 of the identity's private key (info "deaddrop spam
 * secret v1"), from which dropKeys.ts derives each drop's owner key and ticket keys. Nothing secret is
 * stored per drop, so a restored backup can mint tickets and update the policies of its drops again;
 * the state file keeps only what the server took (`seq`, key ids, introductions per day).
 */
import { hkdfSync } from 'node:crypto';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import { utf8Encode } from '../../../shared/protocol/encoding.js';
import { isSharedDropId } from '../../../shared/spam/policy.js';
import { dropIdBytes } from '../../../shared/spam/ticket.js';
import { offersTickets, type SpamDiscovery } from '../../../shared/spam/wire.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import type { DropClient } from '../net/dropClient.js';
import type { StateStore } from '../state/stateStore.js';
import { claimDrop, type ClaimOutcome } from './dropClaim.js';
import type { TicketBatch } from './ticketBatches.js';

const SPAM_SECRET_INFO = 'deaddrop spam secret v1';
/** Introductions per day a claim asks for when the server names none (the server caps it anyway). */
export const DEFAULT_INTRO_PER_DAY = 20;

/** The identity's spam secret (32 bytes), from its X25519 private key. */
export function spamSecretOf(privateKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', privateKey, new Uint8Array(0), utf8Encode(SPAM_SECRET_INFO), 32));
}

/** What the state file keeps of a claimed drop. */
export interface DropClaimRecord {
  url: string;
  seq: number;
  keyIds: number[];
  introPerDay: number;
  /** Contacts (64 hex) handed tickets for it. */
  given: string[];
  /** Batches handed out (ticketBatches.ts). */
  batches?: TicketBatch[];
  /** Messages that came from each contact through this drop since its first batch. */
  arrived?: Record<string, number>;
  /** Contacts whose tickets are still to be struck at the server. */
  revoking?: string[];
}

/** Why a drop stays open although closed drops were asked for. */
export type OpenReason = 'shared' | 'noTickets';

export type ClaimResult = { claimed: DropClaimRecord } | { open: OpenReason };

/** The server's anti-spam announcement, or null for a server without one (an old or foreign server). */
export async function discoverSpam(client: DropClient, serverUrl: string): Promise<SpamDiscovery | null> {
  const document = await client.getJson(`${serverUrl.replace(/\/+$/, '')}/.well-known/deaddrop`).catch(() => null);
  if (typeof document !== 'object' || document === null || !Array.isArray((document as SpamDiscovery).features)) return null;
  return document as SpamDiscovery;
}

/** The user's words for a claim the server did not take. */
function claimFailure(outcome: Extract<ClaimOutcome, { ok: false }>): string {
  if (outcome.reason === 'claimed' || outcome.reason === 'notEmpty') return 'The drop server says this new drop is in use already; try again (a new drop ID is drawn).';
  return `The drop server did not take the closed drop's policy (HTTP ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}); try again, or turn closed drops off.`;
}

/**
 * Claims a freshly created drop as closed when its server offers tickets; a shared reduced-range drop
 * and a drop on a server without tickets stay open (old servers know no claims).
 * @throws Error with a user-facing message when the server offers tickets but no claim was taken
 */
export async function claimNewDrop(client: DropClient, privateKey: Uint8Array, dropUrl: string): Promise<ClaimResult> {
  const { serverUrl, dropId } = parseDropUrl(dropUrl);
  if (isSharedDropId(dropIdBytes(dropId))) return { open: 'shared' };
  const discovery = await discoverSpam(client, serverUrl);
  if (!discovery || !offersTickets(discovery)) return { open: 'noTickets' };
  const introPerDay = typeof discovery.intro_per_day === 'number' && Number.isInteger(discovery.intro_per_day) && discovery.intro_per_day >= 0 ? discovery.intro_per_day : DEFAULT_INTRO_PER_DAY;
  const outcome = await claimDrop((url, body) => client.postJson(url, body), { secret: spamSecretOf(privateKey), dropUrl, keyIds: [0], introPerDay });
  if (outcome.ok) return { claimed: { url: dropUrl, seq: outcome.seq, keyIds: [0], introPerDay: outcome.introPerDay, given: [] } };
  // A server that announced tickets and then knows no policy path is not one to trust with a closed drop either.
  throw new Error(claimFailure(outcome));
}

/**
 * With the `closedDrops` setting on, claims a drop the engine just created and stored (stored first,
 * so the address guard knows it as the user's own) before its URL leaves the engine, and records the
 * claim; `withdraw` takes the drop back when its server offers tickets but takes no claim, so no drop
 * the user wanted closed is ever given out open. For every place that creates a drop
 * (identities/create, identities/addDrop, identities/moveDrop).
 * @throws ApiFailure 'unavailable'
 */
export async function claimIfWanted(stateStore: StateStore, client: DropClient, identityId: string, dropUrl: string, withdraw: () => Promise<void>): Promise<void> {
  if (stateStore.settings().closedDrops !== true) return;
  try {
    const result = await claimNewDrop(client, stateStore.keyPair(identityId).privateKey, dropUrl);
    if ('claimed' in result) await stateStore.setClosedDrop(identityId, result.claimed);
  } catch (err) {
    await withdraw();
    throw new ApiFailure('unavailable', err instanceof Error ? err.message : 'The drop could not be claimed as a closed drop.');
  }
}
