/**
 * Posts one PDU to the first drop URL that takes it, trying the URLs in order, with backoff between
 * rounds. Gives up when every URL refused for good (a 4xx, or an address the guard refuses) or the
 * attempts run out. Every retry to a server takes from that server's retry budget; a URL whose server
 * has none left is passed over in that round.
 */
import { type BackoffPolicy, backoffDelay } from '../inbox/backoff.js';
import { type DropClient, DropRequestError } from '../net/dropClient.js';
import { httpOrigin } from '../net/destinationGuard.js';
import type { RetryBudget } from '../net/retryBudget.js';

export interface RetryPolicy extends BackoffPolicy {
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 1000, maxMs: 60_000, maxAttempts: 200 };

export interface PostAttempt {
  /** Asked per attempt: a proxy change swaps the client. */
  client(): DropClient;
  dropUrls: readonly string[];
  pdu: Uint8Array;
  retry: RetryPolicy;
  /** Shared by all posts: bounds the retries to any one host. */
  budget: RetryBudget;
  /** Aborts the waiting between rounds (cancel, engine close). */
  signal: AbortSignal;
  onAttempt?(attempt: number): void;
}

/** Resolves with the drop URL that took the PDU. @throws Error with a user-facing message */
export async function postWithRetry({ client, dropUrls, pdu, retry, budget, signal, onAttempt }: PostAttempt): Promise<string> {
  let lastError = 'no drop URL';
  const tried = new Set<string>();
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    if (signal.aborted) throw new Error('Sending was stopped.');
    onAttempt?.(attempt);
    let retryable = false;
    for (const dropUrl of dropUrls) {
      if (tried.has(dropUrl) && !budget.take(serverOf(dropUrl))) {
        lastError = 'The drop server had too many failed attempts lately; it is tried again later.';
        retryable = true;
        continue;
      }
      tried.add(dropUrl);
      try {
        await client().post(dropUrl, pdu);
        return dropUrl;
      } catch (err) {
        lastError = err instanceof Error ? err.message : 'unknown error';
        retryable ||= !(err instanceof DropRequestError) || err.retryable;
      }
    }
    if (!retryable) break;
    if (attempt < retry.maxAttempts) await abortableDelay(backoffDelay(retry, attempt), signal);
  }
  throw new Error(lastError);
}

function serverOf(url: string): string {
  try {
    return httpOrigin(new URL(url));
  } catch {
    return url;
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
