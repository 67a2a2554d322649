/**
 * An identity's QR prekeys (PROTOCOL-V1.md: a 30-day QR prekey): the one a contact card shows now,
 * renewed before it runs out, and the private keys an Init may name, kept a while after their card
 * was last shown. The state store (stateStore.ts) finds the identity, unlocks and saves.
 */
import { generateNativeKeyPair } from './nativeKeyPair.js';
import type { DataKey } from './dataKey.js';
import { prekeyContext } from './sealingContexts.js';
import type { StoredIdentity } from './stateSchema.js';

const DAY_MS = 24 * 3600_000;
/** How long a fresh QR prekey may be offered (PROTOCOL-V1.md: a 30-day QR prekey). */
export const QR_PREKEY_LIFETIME_MS = 30 * DAY_MS;
/** A card shows a new prekey when the current one has less than this to live. */
export const QR_PREKEY_RENEW_MS = 7 * DAY_MS;
/** A prekey's private key is kept this long after its card was last shown. */
export const QR_PREKEY_KEEP_MS = 30 * DAY_MS;

/**
 * The QR prekey a contact card shows now: the newest one while it has more than QR_PREKEY_RENEW_MS
 * to live, else a fresh one valid for QR_PREKEY_LIFETIME_MS. Showing it is noted (its private key
 * is kept until QR_PREKEY_KEEP_MS after that), and prekeys past that are deleted. Changes `stored`.
 */
export function showQrPrekeyOf(stored: StoredIdentity, dataKey: DataKey, now: number): { publicKey: string; expiresAt: number } {
  stored.qrPrekeys = stored.qrPrekeys.filter((prekey) => now < Math.max(prekey.expiresAt, prekey.lastShownAt + QR_PREKEY_KEEP_MS));
  let current = stored.qrPrekeys.at(-1);
  if (!current || current.expiresAt - now <= QR_PREKEY_RENEW_MS) {
    const pair = generateNativeKeyPair();
    const publicKey = Buffer.from(pair.publicKey).toString('hex');
    current = {
      publicKey,
      sealedPrivateKey: dataKey.seal(pair.privateKey, prekeyContext(stored.id, publicKey)),
      createdAt: now,
      // The card says a day: the prekey lives to the end of that day (UTC).
      expiresAt: (Math.floor((now + QR_PREKEY_LIFETIME_MS) / DAY_MS) + 1) * DAY_MS - 1,
      lastShownAt: now,
    };
    pair.privateKey.fill(0);
    stored.qrPrekeys.push(current);
  }
  current.lastShownAt = now;
  return { publicKey: current.publicKey, expiresAt: current.expiresAt };
}

/** The QR prekeys an Init may name (not yet deleted), private keys opened. */
export function openQrPrekeys(stored: StoredIdentity, dataKey: DataKey, now: number): { publicKey: Uint8Array; privateKey: Uint8Array; expiresAt: number }[] {
  return stored.qrPrekeys
    .filter((prekey) => now < Math.max(prekey.expiresAt, prekey.lastShownAt + QR_PREKEY_KEEP_MS))
    .map((prekey) => ({
      publicKey: new Uint8Array(Buffer.from(prekey.publicKey, 'hex')),
      privateKey: dataKey.open(prekey.sealedPrivateKey, prekeyContext(stored.id, prekey.publicKey)),
      expiresAt: prekey.expiresAt,
    }));
}
