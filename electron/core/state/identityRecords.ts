/**
 * The identities in the engine's state as stored (stateSchema.ts `StoredIdentity`): a new or restored
 * one with its private key sealed under the data key and a fresh session epoch, the summary the rest
 * of the engine sees (no sealed keys), its key pair opened, and a rotation of its key pair that keeps
 * the replaced one for a while. The state store (stateStore.ts) checks it is unlocked and saves.
 */
import { randomBytes } from 'node:crypto';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import { type RetiredDrop, isKept, retiringSummary } from '../drops/retiring.js';
import type { DataKey } from './dataKey.js';
import { identityContext } from './sealingContexts.js';
import type { StoredIdentity } from './stateSchema.js';

/** What the engine and the UI see of a stored identity: no sealed keys, its retiring drops summed up. */
export function summaryOf({ sealedPrivateKey: _sealed, retiredDrops, qrPrekeys: _prekeys, closedDrops: _closed, ticketWallet: _wallet, retiredKeys: _retired, contextKey: _context, ...summary }: StoredIdentity): IdentitySummary {
  return {
    ...summary,
    dropUrls: [...summary.dropUrls],
    retiringDrops: retiredDrops.map(retiringSummary),
  };
}

/** A new identity to store (`drops`: what a restored one carries on from; a new one starts afresh). */
export function storedIdentity(summary: IdentitySummary, dataKey: DataKey, privateKey: Uint8Array, drops: { retiredDrops: RetiredDrop[]; dropsEpoch: number }): StoredIdentity {
  const { retiringDrops: _retiring, ...fields } = summary;
  return {
    ...fields,
    dropUrls: [...summary.dropUrls],
    sealedPrivateKey: dataKey.seal(privateKey, identityContext(summary.id, summary.publicKey)),
    retiredDrops: drops.retiredDrops,
    dropsEpoch: drops.dropsEpoch,
    sessionEpoch: randomBytes(16).toString('base64url'),
    qrPrekeys: [],
    closedDrops: [],
    ticketWallet: [],
  };
}

/** The retiring drops of a backup still kept at `now` and not listed again, as stored. */
export function restoredRetiredDrops(retiredDrops: readonly RetiredDrop[], dropUrls: readonly string[], now: number): RetiredDrop[] {
  return retiredDrops
    .filter((drop) => isKept(drop, now) && !dropUrls.includes(drop.url))
    .map((drop) => ({ url: drop.url, until: drop.until, ...(drop.movedAt !== undefined ? { movedAt: drop.movedAt } : {}), ...(drop.confirmedAt !== undefined ? { confirmedAt: drop.confirmedAt } : {}) }));
}

/** The identity's key pair, its private key opened. */
export function openKeyPair(stored: StoredIdentity, dataKey: DataKey): KeyPair {
  return {
    publicKey: new Uint8Array(Buffer.from(stored.publicKey, 'hex')),
    privateKey: dataKey.open(stored.sealedPrivateKey, identityContext(stored.id, stored.publicKey)),
  };
}

/**
 * Gives `stored` the key pair `pair`: the old pair is kept in `retiredKeys` until `until`, sessions
 * and the device list stay bound to the key they were sealed under (`contextKey`), QR prekeys are
 * dropped (a card names the old key). Returns what undoes it (the change could not be saved).
 */
export function rotateStoredKey(stored: StoredIdentity, dataKey: DataKey, pair: KeyPair, until: number, now: number): () => void {
  const publicKey = Buffer.from(pair.publicKey).toString('hex');
  const before = { ...stored, retiredKeys: stored.retiredKeys ? [...stored.retiredKeys] : undefined, qrPrekeys: [...stored.qrPrekeys] };
  stored.retiredKeys = [...(stored.retiredKeys ?? []).filter((key) => key.until > now), { publicKey: stored.publicKey, sealedPrivateKey: stored.sealedPrivateKey, until }];
  stored.contextKey = stored.contextKey ?? stored.publicKey;
  stored.publicKey = publicKey;
  stored.sealedPrivateKey = dataKey.seal(pair.privateKey, identityContext(stored.id, publicKey));
  stored.qrPrekeys = [];
  return () => Object.assign(stored, before);
}

/** The replaced key pairs of these identities still read at `now`, private keys opened. */
export function openRetiredKeys(identities: readonly StoredIdentity[], dataKey: DataKey, now: number): { id: string; pair: KeyPair }[] {
  return identities.flatMap((identity) =>
    (identity.retiredKeys ?? [])
      .filter((key) => key.until > now)
      .map((key) => ({ id: identity.id, pair: { publicKey: new Uint8Array(Buffer.from(key.publicKey, 'hex')), privateKey: dataKey.open(key.sealedPrivateKey, identityContext(identity.id, key.publicKey)) } })),
  );
}
