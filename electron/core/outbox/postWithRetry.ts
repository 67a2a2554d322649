/**
 * Posts one PDU to the first drop URL that takes it, trying the URLs in order, with backoff between
 * rounds. Gives up when every URL refused for good (a 4xx, or an address the guard refuses) or the
 * attempts run out. Every retry to a server takes from that server's retry budget; a URL whose server
 * has none left is passed over in that round. A nudge (the user's "Retry now") ends the wait between
 * rounds at once; the round it starts counts as a first attempt to each server, so it is not refused
 * for the retry budget (one request per press), while a server's breaker still applies.
 */
import { type BackoffPolicy, backoffDelay } from '../inbox/backoff.js';
import { type DropClient, DropRequestError } from '../net/dropClient.js';
import { httpOrigin } from '../net/destinationGuard.js';
import type { RetryBudget } from '../net/retryBudget.js';
import { RetryBudgetSpent } from './sendingReason.js';

export interface RetryPolicy extends BackoffPolicy {
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 1000, maxMs: 60_000, maxAttempts: 200 };

export interface PostAttempt {
  /** Asked per attempt: a proxy change swaps the client. */
  client(): DropClient;
  dropUrls: readonly string[];
  pdu: Uint8Array;
  /**
   * The bytes for one drop URL, when they differ per URL (k-of-n: each server gets its own box, so
   * no two servers ever hold equal bytes of one message); null: nothing may go there now (the URL is
   * passed over in this round). Default: `pdu` everywhere.
   */
  pduFor?(dropUrl: string): Uint8Array | null;
  /**
   * One POST (the outbox's stamps-when-asked post, stampedPost.ts); default `client().post`.
   * @throws DropRequestError
   */
  post?(dropUrl: string, pdu: Uint8Array): Promise<void>;
  /** Each POST's outcome (with the failure), for the servers' health scores and the copies' bookkeeping. */
  onOutcome?(dropUrl: string, ok: boolean, latencyMs: number, failure?: unknown): void;
  retry: RetryPolicy;
  /** Shared by all posts: bounds the retries to any one host. */
  budget: RetryBudget;
  /** Aborts the waiting between rounds (cancel, engine close). */
  signal: AbortSignal;
  onAttempt?(attempt: number): void;
  /** A round failed and the next is due in `delayMs`; `failure` is what the round met last. */
  onWaiting?(failure: unknown, delayMs: number): void;
  nudge?: RetryNudge;
}

/** Ends the wait between two rounds early, when someone asks for an attempt now. */
export class RetryNudge {
  private wake: (() => void) | null = null;

  /** Ends the current wait; false when no wait is running (an attempt is under way already). */
  nudge(): boolean {
    const wake = this.wake;
    if (!wake) return false;
    this.wake = null;
    wake();
    return true;
  }

  /** Waits `ms`, or less when nudged or aborted; true when nudged. */
  wait(ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (nudged: boolean) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', aborted);
        if (this.wake === woken) this.wake = null;
        resolve(nudged);
      };
      const aborted = () => finish(false);
      const woken = () => finish(true);
      const timer = setTimeout(() => finish(false), ms);
      this.wake = woken;
      signal.addEventListener('abort', aborted, { once: true });
    });
  }
}

/** Resolves with the drop URL that took the PDU. @throws Error with a user-facing message */
export async function postWithRetry({ client, dropUrls, pdu, pduFor, post, onOutcome, retry, budget, signal, onAttempt, onWaiting, nudge = new RetryNudge() }: PostAttempt): Promise<string> {
  let lastError: unknown = new Error('no drop URL');
  const tried = new Set<string>();
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    if (signal.aborted) throw new Error('Sending was stopped.');
    onAttempt?.(attempt);
    let retryable = false;
    for (const dropUrl of dropUrls) {
      // A cancel during a stamp (or between two URLs) sends nothing more.
      if (signal.aborted) throw new Error('Sending was stopped.');
      if (tried.has(dropUrl) && !budget.take(serverOf(dropUrl))) {
        lastError = new RetryBudgetSpent();
        retryable = true;
        continue;
      }
      const bytes = pduFor ? pduFor(dropUrl) : pdu;
      if (!bytes) continue;
      tried.add(dropUrl);
      const started = performance.now();
      try {
        await (post ? post(dropUrl, bytes) : client().post(dropUrl, bytes));
        onOutcome?.(dropUrl, true, performance.now() - started);
        return dropUrl;
      } catch (err) {
        if (signal.aborted) throw new Error('Sending was stopped.');
        onOutcome?.(dropUrl, false, performance.now() - started, err);
        lastError = err;
        retryable ||= !(err instanceof DropRequestError) || err.retryable;
      }
    }
    if (!retryable || attempt === retry.maxAttempts) break;
    const delay = Math.max(backoffDelay(retry, attempt), retryAfterMs(lastError));
    onWaiting?.(lastError, delay);
    if (await nudge.wait(delay, signal)) tried.clear();
  }
  throw lastError instanceof Error ? lastError : new Error('unknown error');
}

/** A server's Retry-After (an introduction quota waits for the next day), bounded to a day. */
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

function retryAfterMs(failure: unknown): number {
  const seconds = failure instanceof DropRequestError ? failure.answer?.retryAfterS : null;
  return seconds ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : 0;
}

function serverOf(url: string): string {
  try {
    return httpOrigin(new URL(url));
  } catch {
    return url;
  }
}
