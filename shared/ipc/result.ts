/**
 * Results, not thrown errors, cross every process boundary (IPC, the WebSocket host, workers).
 * `code` is machine-readable; `message` is a sentence a user can act on.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'not_found'
  | 'already_exists'
  | 'bad_passphrase'
  | 'bad_input'
  | 'network'
  | 'timeout'
  | 'locked'
  | 'unavailable'
  | 'internal';

export interface ApiError {
  code: ErrorCode;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (code: ErrorCode, message: string): { ok: false; error: ApiError } => ({
  ok: false,
  error: { code, message },
});

/** An error that carries an ErrorCode; handlers throw it, transports turn it into a failed Result. */
export class ApiFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

/** Turns anything thrown into a failed Result without leaking stack traces across the boundary. */
export function toFailure(err: unknown): { ok: false; error: ApiError } {
  if (err instanceof ApiFailure) return fail(err.code, err.message);
  return fail('internal', err instanceof Error ? err.message : 'Unexpected error');
}
