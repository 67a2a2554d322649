/**
 * Posts one PDU to the first drop URL that takes it, trying the URLs in order, with backoff between
 * rounds. Gives up when every URL refused for good (a 4xx) or the attempts run out.
 */
import { type BackoffPolicy, backoffDelay } from '../inbox/backoff.js';
import { type DropClient, DropRequestError } from '../net/dropClient.js';

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
  /** Aborts the waiting between rounds (cancel, engine close). */
  signal: AbortSignal;
  onAttempt?(attempt: number): void;
}

/** Resolves with the drop URL that took the PDU. @throws Error with a user-facing message */
export async function postWithRetry({ client, dropUrls, pdu, retry, signal, onAttempt }: PostAttempt): Promise<string> {
  let lastError = 'no drop URL';
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    if (signal.aborted) throw new Error('Sending was stopped.');
    onAttempt?.(attempt);
    let retryable = false;
    for (const dropUrl of dropUrls) {
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
