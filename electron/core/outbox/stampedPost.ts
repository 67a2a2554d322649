/**
 * One POST of the outbox under the anti-spam rules (PROTOCOL-V1 section 3c, electron/core/spam):
 * a server under pressure answers an unstamped POST with 429 "Proof of work required" (or a closed
 * drop 401 "Ticket required" with `X-Drop-PoW-Bits`); the PDU is then stamped in the stamp worker
 * for the bits the server named and posted once more. Stamps are made only when a server asks,
 * never ahead of time: a stamp is bound to one PDU and one drop, so each copy of a message needs its
 * own, and most servers never ask.
 *
 * Whatever the server still refuses is thrown as the DropRequestError of that last answer, with a
 * message that says what it means to the user; the retry loop (postWithRetry.ts) then backs off (a
 * 429 or 507, honouring Retry-After) or gives up (401: a closed drop without introductions).
 */
import { SPAM_ERRORS } from '../../../shared/spam/wire.js';
import { DropRequestError, type DropClient } from '../net/dropClient.js';
import { postWithSpamRules, type RawPost } from '../spam/spamPost.js';
import type { Stamper, StampProgress } from '../spam/stamper.js';

export interface StampedPostOptions {
  /** Aborts a stamp being computed (cancel, engine close). */
  signal?: AbortSignal;
  /** A stamp is being computed for this POST: progress from its first report (hashes 0) on. */
  onStampProgress?(progress: StampProgress): void;
  /**
   * The next ticket for this drop from the wallet (taken out of it), or null: the POST goes with it,
   * and a 409 Ticket spent takes the next one at once.
   */
  nextTicket?(): Promise<Uint8Array | null>;
  /**
   * Empties the wallet for this drop: called when two tickets in a row are refused as spent, which
   * is what the owner's revocation looks like (a ticket leaves the wallet before it is used, so an
   * honest wallet holds no spent ones); the POST then goes without a ticket.
   */
  forgetTickets?(): Promise<void>;
}

/** Tickets in a row refused as spent after which the wallet counts as revoked. */
const REVOKED_AFTER_SPENT = 2;

/** Tickets tried for one POST before it goes without one (a wallet of spent tickets is emptied by later POSTs). */
const MAX_SPENT_TICKETS = 5;

/** The user's words for what a refusing server said (its status stays on the error for the retry rules). */
function refusalMessage(status: number, error: string | null, fallback: string): string {
  if (status === 401 && error === SPAM_ERRORS.ticketRequired) {
    return "The recipient's drop takes messages only from contacts holding its tickets; this message can go once the contact sends tickets.";
  }
  if (status === 429 && error === SPAM_ERRORS.powRequired) return 'The drop server is under load and did not take the proof of work; it is tried again later.';
  if (status === 429 && error === SPAM_ERRORS.introQuota) return "The recipient's drop took all the introductions it takes today; it is tried again later.";
  if (status === 429 && error === SPAM_ERRORS.dropRate) return "The recipient's drop took all the messages it takes this hour under load; it is tried again later.";
  if (status === 507 && error === SPAM_ERRORS.serverFull) return 'The drop server is nearly full and takes no more messages without a ticket; it is tried again later.';
  return fallback;
}

/**
 * Posts `pdu` to `dropUrl` through `client`, stamping and posting once more when the server asks.
 * @throws DropRequestError (the last refusal, or no answer); Error named AbortError when `signal` aborts a stamp
 */
export async function postStamped(client: DropClient, stamper: Stamper, dropUrl: string, pdu: Uint8Array, options: StampedPostOptions = {}): Promise<void> {
  let refusal: DropRequestError | null = null;
  const rawPost: RawPost = async (url, bytes, headers) => {
    try {
      await client.post(url, bytes, headers);
      refusal = null;
      return { status: 200, error: null, powBits: null };
    } catch (err) {
      if (!(err instanceof DropRequestError) || err.kind !== 'http' || err.status === undefined) throw err;
      refusal = err;
      return { status: err.status, error: err.answer?.error ?? null, powBits: err.answer?.powBits ?? null };
    }
  };
  const onStampProgress = options.onStampProgress;
  let started = false;
  const reporting: Stamper = {
    // The first report says a stamp is under way before any hash is done.
    stampFor: (url, bytes, bits, onProgress, signal) => {
      if (!started) {
        started = true;
        onStampProgress?.({ hashes: 0, expected: 2 ** bits });
      }
      return stamper.stampFor(url, bytes, bits, onProgress, signal);
    },
    close: () => Promise.resolve(),
  };
  const post = (ticket: Uint8Array | null) =>
    postWithSpamRules(rawPost, dropUrl, pdu, {
      stamper: reporting,
      ticket,
      ...(onStampProgress ? { onStampProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  let result = await post((await options.nextTicket?.()) ?? null);
  for (let spent = 1; result.status === 409 && result.error === SPAM_ERRORS.ticketSpent && spent <= MAX_SPENT_TICKETS; spent++) {
    const revoked = spent >= REVOKED_AFTER_SPENT && options.forgetTickets !== undefined;
    if (revoked) await options.forgetTickets!();
    result = await post(spent < MAX_SPENT_TICKETS && !revoked ? ((await options.nextTicket?.()) ?? null) : null);
    if (revoked) break;
  }
  if (result.status === 200) return;
  const last = refusal as DropRequestError | null;
  if (!last) throw new DropRequestError('http', `The drop server refused the POST request (HTTP ${result.status}).`, result.status);
  throw new DropRequestError('http', refusalMessage(result.status, result.error, last.message), result.status, undefined, last.answer);
}
