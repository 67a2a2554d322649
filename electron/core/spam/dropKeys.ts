/**
 * The owner's keys of one closed drop, derived from one secret of the identity (see the README's
 * anti-spam section for how the engine keeps it), so nothing per drop has to be stored and a
 * restored identity can mint tickets and update policies of its drops again:
 * - the owner key (Ed25519) that signs the drop's policies: one per drop, so the server cannot link
 *   two drops to one owner;
 * - the ticket key K of each key id: rotation is a new key id.
 */
import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
import { utf8Encode } from '../../../shared/protocol/encoding.js';
import { dropIdBytes, TICKET_KEY_BYTES } from '../../../shared/spam/ticket.js';

/** PKCS#8 DER prefix of an Ed25519 private key: followed by the 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface DropOwnerKey {
  privateKey: KeyObject;
  /** Raw 32-byte public key, base64url (the policy's `owner`). */
  publicKey: string;
}

function derive(secret: Uint8Array, label: string, dropId: string, length: number): Buffer {
  if (secret.length < 32) throw new RangeError('the spam secret must be at least 32 bytes');
  return Buffer.from(hkdfSync('sha256', secret, dropIdBytes(dropId), utf8Encode(`deaddrop spam v1 ${label}`), length));
}

export function ownerKeyFor(secret: Uint8Array, dropId: string): DropOwnerKey {
  const seed = derive(secret, 'owner', dropId, 32);
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, publicKey: jwk.x! };
}

export function ticketKeyFor(secret: Uint8Array, dropId: string, keyId: number): Buffer {
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 255) throw new RangeError('key id must be from 0 to 255');
  return derive(secret, `ticket ${keyId}`, dropId, TICKET_KEY_BYTES);
}

/**
 * The key of the nonces of tickets minted in batches (ticketBatches.ts): never sent to the server,
 * so the nonces it derives look random there.
 */
export function nonceKeyFor(secret: Uint8Array, dropId: string): Buffer {
  return derive(secret, 'ticket nonces', dropId, 32);
}
