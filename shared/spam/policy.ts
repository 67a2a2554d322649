/**
 * A closed drop's policy (PROTOCOL-V1 section 3c L1), as the owner POSTs it to `<drop>/policy`:
 * `{owner, seq, mode, ticket_keys: [{id, key}], intro_per_day, strikes?, sig}`. The first accepted
 * policy claims the drop for `owner` (an Ed25519 public key of the owner's, one per drop so drops
 * cannot be linked); every later one must carry a higher `seq` and the same owner's signature.
 * `strikes` lists tickets to treat as spent from now on (revocation of a contact's unused tickets);
 * they are applied once and not kept in the policy. `sig` is Ed25519 over `policySigningBytes`.
 */
import { z } from 'zod';
import { utf8Encode } from '../protocol/encoding.js';

const BASE64URL = /^[-_A-Za-z0-9]*$/;
const b64 = (chars: number) => z.string().length(chars).regex(BASE64URL);

/** Most ticket keys in one policy (rotation keeps the previous keys while their tickets live). */
export const MAX_TICKET_KEYS = 8;
/** Most strikes in one policy update. */
export const MAX_STRIKES = 1000;
/** Highest `intro_per_day` a policy may set. */
export const MAX_INTRO_PER_DAY = 1000;

export const policySchema = z.strictObject({
  /** Ed25519 public key, 32 bytes base64url. */
  owner: b64(43),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  /** `open` keeps the owner's claim but lets anyone post, as an unclaimed drop. */
  mode: z.enum(['closed', 'open']),
  ticket_keys: z
    .array(z.strictObject({ id: z.number().int().min(0).max(255), key: b64(43) }))
    .max(MAX_TICKET_KEYS)
    .refine((keys) => new Set(keys.map((k) => k.id)).size === keys.length, 'ticket key ids must differ'),
  intro_per_day: z.number().int().min(0).max(MAX_INTRO_PER_DAY),
  /** Tickets (base64url, 32 bytes) to count as spent from now on. */
  strikes: z.array(b64(43)).max(MAX_STRIKES).optional(),
  /** Ed25519 signature, 64 bytes base64url. */
  sig: b64(86),
});

export type DropPolicy = z.infer<typeof policySchema>;
export type UnsignedPolicy = Omit<DropPolicy, 'sig'>;

/**
 * The bytes the owner signs: a domain tag, the drop ID, and the fields in one fixed order (so both
 * sides serialise them alike, whatever order the JSON came in).
 */
export function policySigningBytes(dropId: string, policy: UnsignedPolicy): Uint8Array {
  const canonical = JSON.stringify({
    owner: policy.owner,
    seq: policy.seq,
    mode: policy.mode,
    ticket_keys: policy.ticket_keys.map((k) => ({ id: k.id, key: k.key })),
    intro_per_day: policy.intro_per_day,
    strikes: policy.strikes ?? [],
  });
  return utf8Encode(`DD-POLICY1\n${dropId}\n${canonical}`);
}

/**
 * Reduced-range drop IDs (PROTOCOL.md section 1: `b` random bits, then zeros) are shared by many
 * identities and are never claimed: a claim would shut the others out. A drop ID whose last 8 bytes
 * are zero is taken for one (a full-range ID ends so with probability 2^-64); the client does not
 * claim such drops and the server refuses to let them be claimed.
 */
export function isSharedDropId(dropIdBytes: Uint8Array): boolean {
  return dropIdBytes.length === 32 && dropIdBytes.subarray(24).every((b) => b === 0);
}
