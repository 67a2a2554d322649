/**
 * What a failed drop request was, for the drop client (dropClient.ts) and everyone who retries or
 * reports it: the error type with its `retryable` and `surelyNotStored` verdicts, and the mapping
 * from undici's failures and the server's statuses to messages a user can act on.
 */
import { refusalOf } from './destinationGuard.js';

/** `refused`: the destination guard would not contact that address (never retried). */
export type DropErrorKind = 'network' | 'timeout' | 'http' | 'protocol' | 'refused';

/**
 * A refused POST's words (PROTOCOL-V1 section 3c): the JSON body's `error` ("Proof of work required",
 * "Ticket spent", ...), `X-Drop-PoW-Bits` and `Retry-After`, so the outbox can stamp, take the next
 * ticket or wait as long as the server asked.
 */
export interface RefusalDetails {
  error: string | null;
  powBits: number | null;
  /** Seconds, from `Retry-After` (delta form only). */
  retryAfterS: number | null;
}

/** A failed drop request; `retryable` says whether trying again later may succeed. */
export class DropRequestError extends Error {
  constructor(
    readonly kind: DropErrorKind,
    message: string,
    readonly status?: number,
    /** The system's error code of a network failure (`ECONNREFUSED`, `ENOTFOUND`, ...), when known. */
    readonly code?: string,
    /** What a refusing server said beyond its status (a POST's anti-spam answer), when it said it. */
    readonly answer?: RefusalDetails,
  ) {
    super(message);
    this.name = 'DropRequestError';
  }

  /**
   * True when a failed POST surely stored nothing: the server refused it with an answer that says so,
   * or no connection was ever made. False when it may have been stored and only the answer was lost
   * (a timeout, a connection reset mid-request, a 500): the bytes may be on that server.
   */
  get surelyNotStored(): boolean {
    if (this.kind === 'refused') return true;
    if (this.kind === 'http') return this.status !== undefined && (this.status < 500 || this.status === 503 || this.status === 507);
    if (this.kind === 'network') return this.code !== undefined && NOT_CONNECTED.has(this.code);
    return false;
  }

  get retryable(): boolean {
    if (this.kind === 'refused') return false;
    if (this.kind !== 'http') return true;
    return this.status === undefined || this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

const RETRY_HINT = 'check the server address, the network and the proxy setting, then try again.';

/** Network failures that happen before a request is sent: nothing can have been stored. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** The destination guard's refusal (or any error standing for one) as a request error that is never retried. */
export function refusedError(err: unknown): DropRequestError {
  return new DropRequestError('refused', refusalOf(err)?.message ?? (err as Error).message);
}

/** A request that got no answer: refused by the guard, timed out, or never connected. */
export function unansweredError(err: unknown): DropRequestError {
  if (refusalOf(err)) return refusedError(err);
  const timeout = isTimeout(err);
  return new DropRequestError(
    timeout ? 'timeout' : 'network',
    timeout ? `The drop server did not answer in time; ${RETRY_HINT}` : `The drop server cannot be reached (${(err as Error).message}); ${RETRY_HINT}`,
    undefined,
    errorCode(err),
  );
}

/** The system error code of a failure or of its cause (undici wraps connection errors). */
function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && !code.startsWith('UND_')) return code;
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof cause === 'string' ? cause : undefined;
}

/** What the user can do about a refusal, by status (PROTOCOL.md section 2). */
function httpHint(status: number): string {
  if (status === 404 || status === 400) return ' Check the drop URL: its server address and path may be wrong.';
  if (status === 401) return ' The server wants an access token.';
  if (status === 413) return ' The message is larger than this server accepts.';
  if (status >= 500 || status === 429) return ' The server has trouble; try again later.';
  return '';
}

export function httpError(method: string, status: number): DropRequestError {
  return new DropRequestError('http', `The drop server refused the ${method} request (HTTP ${status}).${httpHint(status)}`, status);
}

export function isTimeout(err: unknown): boolean {
  const name = (err as { name?: string; code?: string } | null)?.name ?? '';
  const code = (err as { code?: string } | null)?.code ?? '';
  return name === 'TimeoutError' || name === 'AbortError' || code.includes('TIMEOUT');
}
