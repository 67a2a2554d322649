/**
 * Identity-key rotation (`box_key_rotate`, ours; PROTOCOL-V1.md 5c "Removing a device", v1 body type
 * `KEY_ROTATE` 0x0D): after a device was lost or stolen, the identity makes a new key pair and tells
 * every contact "write to `key` from now on, at these `drops`".
 *
 * Authentication, two keys:
 * - the OLD key: the message travels inside the existing version-1 session (body type 0x0D) or as a
 *   version-0 box sealed by the old identity key, so the receiver knows the contact it already had sent it;
 * - the NEW key: `proof` = HMAC-SHA256 over the rotation's fields, keyed with a key derived from
 *   X25519(new private key, recipient's identity key). Only a holder of the new private key can
 *   compute it (the recipient checks it with X25519(its own private key, new key)). Without it an
 *   old-key holder could "rotate" a contact onto someone else's public key (a key it cannot use, or
 *   another contact's, merging two conversations). A MAC rather than a signature: X25519 is the only
 *   primitive identities have, and the proof convinces the recipient alone, as the rest of the
 *   protocol does (deniable). Binding old key, new key, recipient, time and drops means a proof
 *   cannot be moved to another contact, another key, or other drops.
 *
 * Honest limit: whoever holds the old key (the thief) can send a valid rotation too, to a key of
 * their own. The receiver keeps the first rotation it takes and shows a notice on a conflicting one;
 * the user compares safety numbers.
 *
 * `at` (the sender's clock, ms) orders rotations: one not newer than the last taken is skipped.
 */
import { z } from 'zod';
import { LOWER_HEX_KEY } from '../protocol/encoding.js';
import type { PayloadModule } from './payloadModule.js';

export const BOX_KEY_ROTATE = 'box_key_rotate';

/** Drops one rotation may name (an identity reads at most 8). */
export const MAX_ROTATE_DROP_URLS = 8;

/** How long messages under a replaced key are still read (the rotating side) and shown (contacts). */
export const KEY_GRACE_MS = 7 * 24 * 3600_000;

const dropUrl = z
  .string()
  .max(2048)
  .refine((s) => /^https?:\/\/\S+$/i.test(s), 'expected an http or https URL');

const payloadSchema = z.object({
  key: z.string().regex(LOWER_HEX_KEY),
  drops: z.array(dropUrl).min(1).max(MAX_ROTATE_DROP_URLS),
  at: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  proof: z.string().regex(LOWER_HEX_KEY),
});

export interface KeyRotateContent {
  type: typeof BOX_KEY_ROTATE;
  /** The new identity public key, 64 lowercase hex. */
  key: string;
  /** Where to write from now on. */
  drops: string[];
  at: number;
  /** 64 hex: HMAC-SHA256 (see the top). */
  proof: string;
}

export const keyRotateModule: PayloadModule<typeof BOX_KEY_ROTATE, KeyRotateContent> = {
  type: BOX_KEY_ROTATE,
  decode(json) {
    const parsed = payloadSchema.safeParse(json);
    if (!parsed.success) return null;
    return { type: BOX_KEY_ROTATE, ...parsed.data };
  },
};

/** The `drop_payload` JSON of a rotation (the wire field names). */
export function keyRotatePayload(content: Omit<KeyRotateContent, 'type'>): string {
  return JSON.stringify({ key: content.key, drops: content.drops, at: content.at, proof: content.proof });
}

/** The domain label of the proof's key derivation and MAC. */
export const ROTATE_PROOF_LABEL = 'DD key rotate';

/**
 * The bytes the proof MACs: label, old key, new key, recipient key (32 bytes each), `at` (u64) and
 * the drops joined by newlines. Pure (no node:*): the engine computes the MAC.
 */
export function rotateProofInput(oldKeyHex: string, newKeyHex: string, recipientHex: string, at: number, drops: readonly string[]): Uint8Array {
  const label = new TextEncoder().encode(ROTATE_PROOF_LABEL);
  const dropBytes = new TextEncoder().encode(drops.join('\n'));
  const out = new Uint8Array(label.length + 96 + 8 + dropBytes.length);
  out.set(label, 0);
  let offset = label.length;
  for (const hex of [oldKeyHex, newKeyHex, recipientHex]) {
    for (let i = 0; i < 32; i++) out[offset + i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    offset += 32;
  }
  new DataView(out.buffer).setBigUint64(offset, BigInt(at));
  out.set(dropBytes, offset + 8);
  return out;
}
