/**
 * The client side of the anti-spam extensions in one object (PROTOCOL-V1 section 3c), for the
 * outbox and the engine: the owner's side (claim a fresh drop, update its policy, mint tickets for
 * contacts) and the sender's side (post with a ticket, stamp and retry once when asked). HTTP comes
 * in through two narrow functions, so the engine passes its own client (proxy, guard, breakers) and
 * tests pass `fetch`.
 */
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import type { SpamDiscovery } from '../../../shared/spam/wire.js';
import { buildPolicy, claimDrop, sendPolicy, type ClaimOutcome, type PolicyOptions, type PolicyPost } from './dropClaim.js';
import { postWithSpamRules, type RawPost, type SpamPostResult } from './spamPost.js';
import { createStamper, type Stamper, type StampProgress, type StamperOptions } from './stamper.js';
import { mintTickets, ticketHeaderFor } from './tickets.js';

export interface SpamClientDeps {
  /** The identity's spam secret, at least 32 bytes (dropKeys.ts). */
  secret: Uint8Array;
  /** One POST of a PDU with extra headers, answering status, error text and `X-Drop-PoW-Bits`. */
  rawPost: RawPost;
  /** One POST of a policy's JSON to `<dropUrl>/policy`. */
  policyPost: PolicyPost;
  /** GET of a JSON document (`<server>/.well-known/deaddrop`); null when absent or not JSON. */
  getJson?(url: string): Promise<unknown>;
  stamper?: Stamper;
  stamperOptions?: StamperOptions;
}

export interface SpamClient {
  stampFor(dropUrl: string, pdu: Uint8Array, bits: number, onProgress?: (progress: StampProgress) => void, signal?: AbortSignal): Promise<string>;
  /** Claims a freshly created drop of the identity's as closed (seq 1, key id 0). */
  claimDrop(dropUrl: string, introPerDay: number): Promise<ClaimOutcome>;
  /** Sends the drop's next policy (rotation: new `keyIds`; revocation: `strikes`). */
  updatePolicy(options: Omit<PolicyOptions, 'secret'>): Promise<ClaimOutcome>;
  /** Fresh tickets for one of the identity's closed drops, to hand to a contact in a `TICKETS` payload. */
  mintTickets(dropUrl: string, count: number, keyId?: number): Uint8Array[];
  ticketHeaderFor(ticket: Uint8Array): Record<string, string>;
  /** Posts under the rules of spamPost.ts: the ticket if given; on 429 Proof of work required (or 401 with bits) stamp and retry once. */
  post(dropUrl: string, pdu: Uint8Array, options?: { ticket?: Uint8Array | null; onStampProgress?(progress: StampProgress): void; signal?: AbortSignal }): Promise<SpamPostResult>;
  /** The server's anti-spam announcement, or null for a server without one (an old or foreign server). */
  discover(serverUrl: string): Promise<SpamDiscovery | null>;
  close(): Promise<void>;
}

export function createSpamClient(deps: SpamClientDeps): SpamClient {
  const stamper = deps.stamper ?? createStamper(deps.stamperOptions);
  return {
    stampFor: (dropUrl, pdu, bits, onProgress, signal) => stamper.stampFor(dropUrl, pdu, bits, onProgress, signal),
    claimDrop: (dropUrl, introPerDay) => claimDrop(deps.policyPost, { secret: deps.secret, dropUrl, keyIds: [0], introPerDay }),
    updatePolicy: (options) => sendPolicy(deps.policyPost, options.dropUrl, buildPolicy({ ...options, secret: deps.secret })),
    mintTickets: (dropUrl, count, keyId = 0) => mintTickets({ secret: deps.secret, dropId: parseDropUrl(dropUrl).dropId, keyId, count }),
    ticketHeaderFor,
    post: (dropUrl, pdu, options = {}) => postWithSpamRules(deps.rawPost, dropUrl, pdu, { ...options, stamper }),
    async discover(serverUrl) {
      const document = await deps.getJson?.(`${serverUrl.replace(/\/+$/, '')}/.well-known/deaddrop`).catch(() => null);
      if (typeof document !== 'object' || document === null || !Array.isArray((document as SpamDiscovery).features)) return null;
      return document as SpamDiscovery;
    },
    close: () => (deps.stamper ? Promise.resolve() : stamper.close()),
  };
}
