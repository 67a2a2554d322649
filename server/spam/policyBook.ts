/**
 * The drop policies this instance knows (`POST <drop>/policy`, shared/spam/policy.ts), read from the
 * store and remembered. A remembered policy may be stale when another instance changed it: every
 * admission carries the policy `seq` it was decided under, the store refuses it when the drop's
 * `seq` differs (PolicyChangedError), and the handler then forgets the drop and decides again. So a
 * stale memory costs a retry, never a wrong admission.
 */
import { createPublicKey, verify } from 'node:crypto';
import { fromBase64Url } from '../../shared/protocol/encoding.js';
import { policySigningBytes, type DropPolicy } from '../../shared/spam/policy.js';
import type { DropStore } from '../store/dropStore.js';

/** What an admission needs of a drop's policy. */
export interface DropRules {
  seq: number;
  /** Ed25519 public key (base64url), for later updates. */
  owner: string;
  closed: boolean;
  /** Ticket keys by key id. */
  keys: ReadonlyMap<number, Buffer>;
  /** The policy's quota, capped by the server's. */
  introPerDay: number;
}

/** Forgetting everything past this many drops bounds the memory a flood of random drop IDs can take. */
const MAX_REMEMBERED = 100_000;

export interface PolicyBook {
  /** The drop's rules, or null when it is unclaimed. */
  rules(dropId: string): Promise<DropRules | null>;
  forget(dropId: string): void;
}

/** The policy as stored: the signed fields without `strikes` and `sig` (they are not needed again). */
export type StoredPolicyFields = Omit<DropPolicy, 'strikes' | 'sig'>;

export function rulesOf(seq: number, fields: StoredPolicyFields, serverIntroPerDay: number): DropRules {
  return {
    seq,
    owner: fields.owner,
    closed: fields.mode === 'closed',
    keys: new Map(fields.ticket_keys.map((k) => [k.id, Buffer.from(fromBase64Url(k.key))])),
    introPerDay: Math.min(fields.intro_per_day, serverIntroPerDay),
  };
}

export function createPolicyBook(store: DropStore, serverIntroPerDay: number): PolicyBook {
  const known = new Map<string, DropRules | null>();
  return {
    async rules(dropId) {
      const remembered = known.get(dropId);
      if (remembered !== undefined) return remembered;
      const stored = await store.policy(dropId);
      const rules = stored ? rulesOf(stored.seq, JSON.parse(stored.json) as StoredPolicyFields, serverIntroPerDay) : null;
      if (known.size >= MAX_REMEMBERED) known.clear();
      known.set(dropId, rules);
      return rules;
    },
    forget: (dropId) => void known.delete(dropId),
  };
}

/** True when `sig` is the owner's Ed25519 signature over the policy's signing bytes. */
export function policySignatureIsValid(dropId: string, policy: DropPolicy): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: policy.owner }, format: 'jwk' });
    const { sig, ...unsigned } = policy;
    return verify(null, policySigningBytes(dropId, unsigned), key, fromBase64Url(sig));
  } catch {
    return false;
  }
}
