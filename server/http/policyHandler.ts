/**
 * `POST <servicepath>/<dropId>/policy` (PROTOCOL-V1 section 3c L1): claims an unclaimed, empty drop
 * for the key that signs the policy, or replaces the policy of a drop claimed by that key with a
 * higher `seq`, entering its `strikes` into the drop's spent set. Answers 200 `{"seq": n}`.
 *
 * There is no way to read a policy back: nobody but the owner needs it, and the owner has it. What
 * anyone can learn is only what a POST to the drop answers (401 Ticket required: the drop is closed),
 * never the owner key, the ticket keys or the quota. The owner key is one of the owner's per drop, so
 * it links no two drops either.
 *
 * An update whose `seq` is not above the stored one is refused 409 `{"error": "Policy is out of
 * date", "seq": n}` with the stored `seq`: the owner's device may have missed the answer to an update
 * the server took, or a sibling device of the owner's may have used that number, and without it the
 * device could never send one the server takes. Only a policy the owner key signed gets this far, so
 * nobody else learns the number (how many updates the drop had); clients that read only `error` see
 * the answer they always saw.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isValidDropId } from '../../shared/protocol/dropId.js';
import { fromBase64Url } from '../../shared/protocol/encoding.js';
import { DAY_MS, dayNumber } from '../../shared/spam/day.js';
import { isSharedDropId, policySchema } from '../../shared/spam/policy.js';
import { parseTicketHeader } from '../../shared/spam/ticket.js';
import type { Clock } from '../config/options.js';
import type { DropStore, SpentNonce } from '../store/dropStore.js';
import { policySignatureIsValid, type PolicyBook, type StoredPolicyFields } from '../spam/policyBook.js';
import { CLIENT_QABEL } from './accessTokens.js';
import { discardRestAndClose, readLimitedBody } from './limitedBody.js';
import { sendError } from './responses.js';
import { NO_STORE } from './responses.js';

/** Eight keys and a thousand strikes fit well within this. */
const MAX_POLICY_BYTES = 64 * 1024;

export interface PolicyHandlerDeps {
  store: DropStore;
  policies: PolicyBook;
  clock: Clock;
  tokensRequired: boolean;
  /** The server's cap on `intro_per_day`. */
  introPerDay: number;
}

export function createPolicyHandler(deps: PolicyHandlerDeps) {
  const { store } = deps;

  async function post(req: IncomingMessage, res: ServerResponse, dropId: string): Promise<void> {
    const refuse = (status: number, message: string): void => {
      sendError(res, status, message, { close: true });
      discardRestAndClose(req);
    };
    if (!isValidDropId(dropId)) return refuse(400, 'Invalid drop id');
    if (!deps.tokensRequired && req.headers.authorization !== CLIENT_QABEL) return refuse(400, 'Bad authorization');
    const body = await readLimitedBody(req, MAX_POLICY_BYTES);
    if (body.kind === 'aborted') return;
    if (body.kind === 'tooLarge') return refuse(413, 'Policy too large');
    let json: unknown;
    try {
      json = JSON.parse(body.body.toString('utf8'));
    } catch {
      return sendError(res, 400, 'Bad policy');
    }
    const parsed = policySchema.safeParse(json);
    if (!parsed.success) return sendError(res, 400, 'Bad policy');
    const policy = parsed.data;
    if (isSharedDropId(fromBase64Url(dropId))) return sendError(res, 403, 'Shared drops cannot be claimed');
    if (!policySignatureIsValid(dropId, policy)) return sendError(res, 400, 'Bad policy signature');

    const current = await store.policy(dropId);
    if (current) {
      const fields = JSON.parse(current.json) as StoredPolicyFields;
      if (fields.owner !== policy.owner) return sendError(res, 403, 'Drop is claimed');
      if (policy.seq <= current.seq) return sendStale(res, current.seq);
    } else if (await store.newest({ dropId, since: { kind: 'all' }, notBeforeMs: 0 })) {
      // A drop that holds mail has readers who did not agree to a claim: whoever knows its ID could
      // otherwise shut its owner out. Owners claim a drop right after creating it.
      return sendError(res, 409, 'Only an empty drop can be claimed');
    }

    const now = deps.clock.now();
    const strikes: SpentNonce[] = [];
    for (const text of policy.strikes ?? []) {
      const ticket = parseTicketHeader(text);
      if (!ticket) return sendError(res, 400, 'Bad policy');
      if (ticket.expDay >= dayNumber(now)) strikes.push({ nonce: Buffer.from(ticket.nonce), expiresAtMs: (ticket.expDay + 1) * DAY_MS });
    }
    const stored: StoredPolicyFields = {
      owner: policy.owner,
      seq: policy.seq,
      mode: policy.mode,
      ticket_keys: policy.ticket_keys,
      intro_per_day: policy.intro_per_day,
    };
    const saved = await store.savePolicy(dropId, { seq: policy.seq, json: JSON.stringify(stored) }, current?.seq ?? 0, strikes);
    deps.policies.forget(dropId);
    if (!saved) {
      // Another update of the drop was stored since this one was read: name the number it took.
      const newer = await store.policy(dropId);
      return newer ? sendStale(res, newer.seq) : sendError(res, 409, 'Policy is out of date');
    }
    const answer = JSON.stringify({ seq: policy.seq, intro_per_day: Math.min(policy.intro_per_day, deps.introPerDay) });
    res.writeHead(200, { ...NO_STORE, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(answer)) });
    res.end(answer);
  }

  /** 409 with the stored `seq`, so the owner can send the next update above it. */
  function sendStale(res: ServerResponse, seq: number): void {
    const answer = JSON.stringify({ error: 'Policy is out of date', seq });
    res.writeHead(409, { ...NO_STORE, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(answer)) });
    res.end(answer);
  }

  return async function handlePolicy(req: IncomingMessage, res: ServerResponse, dropId: string): Promise<void> {
    try {
      if (req.method !== 'POST') {
        sendError(res, 405, 'Method not allowed', { close: true, headers: { Allow: 'POST' } });
        return discardRestAndClose(req);
      }
      await post(req, res, dropId);
    } catch {
      if (!res.headersSent) sendError(res, 503, 'Storage unavailable');
      else res.destroy();
    }
  };
}
