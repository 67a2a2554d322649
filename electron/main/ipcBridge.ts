import type { IpcMain, IpcMainInvokeEvent, WebFrameMain } from 'electron';
import { type Channel, channels } from '../../shared/ipc/channels.js';
import type { HandlerTable } from '../../shared/ipc/contract.js';
import { fail } from '../../shared/ipc/result.js';
import { serveCall } from '../core/api/serveCall.js';

/** Decides whether an IPC message comes from our UI: our window's main frame, on our origin. */
export type SenderCheck = (frame: WebFrameMain | null) => boolean;

export interface IpcBridgeOptions {
  isTrustedSender: SenderCheck;
  /** Replaces the contract's per-channel timeouts (tests). */
  timeoutMs?: (channel: Channel) => number;
}

/**
 * Registers one `ipcMain.handle` per contract channel, the engine's and the shell's alike. Each call
 * is checked for its sender, validated against the channel's schema and answered as a Result within
 * the channel's timeout (`serveCall`); nothing throws across the boundary. Returns a function that
 * removes the handlers.
 */
export function registerIpcHandlers(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  table: HandlerTable,
  options: IpcBridgeOptions,
): () => void {
  for (const channel of channels) {
    ipcMain.handle(channel, (event: IpcMainInvokeEvent, request: unknown) => {
      if (!options.isTrustedSender(event.senderFrame)) return fail('invalid_request', 'This window may not call the app.');
      return serveCall(table, channel, request, options.timeoutMs);
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
