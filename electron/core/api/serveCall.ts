import { type Channel, handlerTimeoutMs, isChannel } from '../../../shared/ipc/channels.js';
import type { HandlerTable } from '../../../shared/ipc/contract.js';
import { dispatch } from '../../../shared/ipc/dispatch.js';
import { type Result, fail } from '../../../shared/ipc/result.js';

/** Resolves to the promise's result, or a `timeout` failure after `ms`; never rejects. */
export function withTimeout<T>(work: Promise<Result<T>>, ms: number, what: string): Promise<Result<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fail('timeout', `${what} did not answer within ${Math.round(ms / 1000)} s.`)), ms);
    work.then(
      (result) => {
        clearTimeout(timer);
        resolve(result);
      },
      () => {
        clearTimeout(timer);
        resolve(fail('internal', `${what} failed unexpectedly.`));
      },
    );
  });
}

/**
 * Serves one call arriving over a transport (Electron IPC, the WebSocket host): `dispatch` validates
 * it and runs its handler, bounded by the channel's timeout from the contract (`channels.ts`), so a
 * stuck handler is answered with `timeout` and the caller, which waits a little longer, hears it.
 * `timeoutMs` replaces the contract's bounds (tests). Never rejects.
 */
export function serveCall(
  table: Partial<HandlerTable>,
  channel: unknown,
  request: unknown,
  timeoutMs: (channel: Channel) => number = handlerTimeoutMs,
): Promise<Result<unknown>> {
  if (!isChannel(channel)) return dispatch(table, channel, request);
  return withTimeout(dispatch(table, channel, request), timeoutMs(channel), channel);
}
