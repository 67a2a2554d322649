/**
 * Claiming a drop of the owner's as closed, updating its policy (a new key id, revoking tickets by
 * striking them) through `POST <dropUrl>/policy` (PROTOCOL-V1 section 3c L1). A claim is made right
 * after creating a drop, before its ID is given to anyone: the server takes a claim only on an empty
 * drop. Shared reduced-range drops are never claimed (`isSharedDropId`).
 */
import { sign } from 'node:crypto';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import { toBase64Url } from '../../../shared/protocol/encoding.js';
import { isSharedDropId, policySigningBytes, type DropPolicy, type UnsignedPolicy } from '../../../shared/spam/policy.js';
import { dropIdBytes, formatTicketHeader } from '../../../shared/spam/ticket.js';
import { ownerKeyFor, ticketKeyFor } from './dropKeys.js';

export interface PolicyOptions {
  /** The identity's spam secret (dropKeys.ts). */
  secret: Uint8Array;
  dropUrl: string;
  /** 1 for the claim; each update one more than the last accepted. */
  seq: number;
  /** Key ids whose tickets the server takes (the newest is minted with; older ones until their tickets expire). */
  keyIds: number[];
  introPerDay: number;
  mode?: 'closed' | 'open';
  /** Tickets to revoke. */
  strikes?: Uint8Array[];
}

/** The signed policy body. @throws RangeError for a shared reduced-range drop */
export function buildPolicy(options: PolicyOptions): DropPolicy {
  const { dropId } = parseDropUrl(options.dropUrl);
  if (isSharedDropId(dropIdBytes(dropId))) throw new RangeError('a shared reduced-range drop is never claimed');
  const owner = ownerKeyFor(options.secret, dropId);
  const unsigned: UnsignedPolicy = {
    owner: owner.publicKey,
    seq: options.seq,
    mode: options.mode ?? 'closed',
    ticket_keys: options.keyIds.map((id) => ({ id, key: toBase64Url(ticketKeyFor(options.secret, dropId, id)) })),
    intro_per_day: options.introPerDay,
    ...(options.strikes && options.strikes.length > 0 ? { strikes: options.strikes.map(formatTicketHeader) } : {}),
  };
  const sig = sign(null, policySigningBytes(dropId, unsigned), owner.privateKey);
  return { ...unsigned, sig: toBase64Url(sig) };
}

/** What a policy POST needs of the HTTP client: the engine's, or `fetch` in tests and tools. */
export type PolicyPost = (url: string, body: string) => Promise<{ status: number; body: string }>;

export type ClaimOutcome =
  | { ok: true; seq: number; introPerDay: number }
  /**
   * `claimed`: another key owns it; `stale`: a policy with this seq or higher exists (`currentSeq`: its
   * seq, when the server names it); `notEmpty`: the drop holds mail; `unsupported`: an old server.
   */
  | { ok: false; reason: 'claimed' | 'stale' | 'notEmpty' | 'unsupported' | 'refused'; status: number; error: string; currentSeq?: number };

/** Sends `policy` for the drop; a claim when `seq` is 1. */
export async function sendPolicy(post: PolicyPost, dropUrl: string, policy: DropPolicy): Promise<ClaimOutcome> {
  const answer = await post(`${dropUrl}/policy`, JSON.stringify(policy));
  let error = '';
  let currentSeq: number | undefined;
  try {
    const parsed = JSON.parse(answer.body) as { error?: unknown; seq?: unknown; intro_per_day?: unknown };
    if (answer.status === 200 && typeof parsed.seq === 'number' && typeof parsed.intro_per_day === 'number') {
      return { ok: true, seq: parsed.seq, introPerDay: parsed.intro_per_day };
    }
    error = typeof parsed.error === 'string' ? parsed.error : '';
    // The stored policy's seq that a 409 names (policyHandler.ts); anything else is ignored.
    if (Number.isSafeInteger(parsed.seq) && (parsed.seq as number) >= 1) currentSeq = parsed.seq as number;
  } catch {
    // Not JSON: an old server's 404 page, or a proxy's.
  }
  const reason =
    answer.status === 404 || answer.status === 405 ? 'unsupported'
    : answer.status === 403 && error === 'Drop is claimed' ? 'claimed'
    : answer.status === 409 && error === 'Only an empty drop can be claimed' ? 'notEmpty'
    : answer.status === 409 ? 'stale'
    : 'refused';
  return { ok: false, reason, status: answer.status, error, ...(reason === 'stale' && currentSeq !== undefined ? { currentSeq } : {}) };
}

/** Builds and sends the first policy of a freshly created drop. */
export function claimDrop(post: PolicyPost, options: Omit<PolicyOptions, 'seq'>): Promise<ClaimOutcome> {
  return sendPolicy(post, options.dropUrl, buildPolicy({ ...options, seq: 1 }));
}
