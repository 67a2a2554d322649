import type { IpcMain, IpcMainInvokeEvent, WebFrameMain } from 'electron';
import { type ApiHandlers, type Channel, channels } from '../../shared/ipc/contract.js';
import { dispatch } from '../../shared/ipc/dispatch.js';
import { type Result, fail } from '../../shared/ipc/result.js';

/** Decides whether an IPC message comes from our UI: our window's main frame, on our origin. */
export type SenderCheck = (frame: WebFrameMain | null) => boolean;

export const DEFAULT_IPC_TIMEOUT_MS = 30_000;

/** Calls that may legitimately take longer (key derivation, file-sized payloads, server start). */
const slowChannelTimeoutsMs: Partial<Record<Channel, number>> = {
  'app/unlock': 120_000,
  'identities/import': 120_000,
  'identities/export': 120_000,
  'localServer/start': 60_000,
};

export function timeoutFor(channel: Channel, fallbackMs: number): number {
  return slowChannelTimeoutsMs[channel] ?? fallbackMs;
}

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

export interface IpcBridgeOptions {
  isTrustedSender: SenderCheck;
  timeoutMs?: number;
}

/**
 * Registers one `ipcMain.handle` per contract channel. Each call is checked for its sender, validated
 * against the channel's schema (dispatch) and answered as a Result within a timeout; nothing throws
 * across the boundary. Returns a function that removes the handlers.
 */
export function registerApiHandlers(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  handlers: ApiHandlers,
  options: IpcBridgeOptions,
): () => void {
  const fallbackMs = options.timeoutMs ?? DEFAULT_IPC_TIMEOUT_MS;
  for (const channel of channels) {
    ipcMain.handle(channel, (event: IpcMainInvokeEvent, request: unknown) => {
      if (!options.isTrustedSender(event.senderFrame)) {
        return fail('invalid_request', 'This window may not call the engine.');
      }
      return withTimeout(dispatch(handlers, channel, request), timeoutFor(channel, fallbackMs), channel);
    });
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}

/** Builds the sender check for one window: its main frame only, showing one of our URLs. */
export function mainFrameSenderCheck(
  getMainFrame: () => WebFrameMain | null,
  isAppUrl: (url: string) => boolean,
): SenderCheck {
  return (frame) => {
    if (frame === null) return false;
    const mainFrame = getMainFrame();
    // Compare by identity of the frame in its renderer process, not by object: wrappers may be recreated.
    return (
      mainFrame !== null &&
      frame.processId === mainFrame.processId &&
      frame.routingId === mainFrame.routingId &&
      isAppUrl(frame.url)
    );
  };
}
