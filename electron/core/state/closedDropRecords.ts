/**
 * An identity's closed drops as the engine's state keeps them (electron/core/spam): the claims of its
 * own closed drops (with the tickets handed out, their batches and revocations), and the wallet of
 * tickets contacts handed it for theirs, sealed under the data key. The state store (stateStore.ts)
 * finds the identity, checks it is unlocked and saves.
 */
import type { DataKey } from './dataKey.js';
import { walletContext } from './sealingContexts.js';
import type { StoredIdentity } from './stateSchema.js';

export type ClosedDropClaim = StoredIdentity['closedDrops'][number];

/** A closed drop's claim as callers hand it in: the bookkeeping of tickets may be left out (none yet). */
export type ClosedDropInput = Omit<ClosedDropClaim, 'batches' | 'arrived' | 'revoking'> & Partial<Pick<ClosedDropClaim, 'batches' | 'arrived' | 'revoking'>>;

/** A claim as stored: a copy of the caller's, with empty bookkeeping where it had none. */
export function storedClaim(claim: ClosedDropInput): ClosedDropClaim {
  return {
    ...claim,
    keyIds: [...claim.keyIds],
    given: [...claim.given],
    batches: (claim.batches ?? []).map((b) => ({ ...b })),
    arrived: { ...claim.arrived },
    revoking: [...(claim.revoking ?? [])],
  };
}

/** The tickets in `stored`'s wallet for posting to `contactKey`'s drop `dropUrl`. */
export function openWallet(stored: StoredIdentity, dataKey: DataKey, contactKey: string, dropUrl: string): Uint8Array[] {
  const entry = stored.ticketWallet.find((w) => w.contactKey === contactKey && w.dropUrl === dropUrl);
  if (!entry) return [];
  const bytes = dataKey.open(entry.sealed, walletContext(stored.id, contactKey, dropUrl));
  return Array.from({ length: Math.floor(bytes.length / 32) }, (_, i) => bytes.slice(i * 32, (i + 1) * 32));
}

/** Replaces the wallet's tickets for `contactKey`'s drop `dropUrl` in `stored` (none: the entry goes). */
export function replaceWallet(stored: StoredIdentity, dataKey: DataKey, contactKey: string, dropUrl: string, tickets: readonly Uint8Array[]): void {
  const others = stored.ticketWallet.filter((w) => !(w.contactKey === contactKey && w.dropUrl === dropUrl));
  const sealed = tickets.length > 0 ? [{ contactKey, dropUrl, sealed: dataKey.seal(Buffer.concat(tickets.map((t) => Buffer.from(t))), walletContext(stored.id, contactKey, dropUrl)) }] : [];
  stored.ticketWallet = [...others, ...sealed];
}
