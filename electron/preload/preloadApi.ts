import type { IpcRenderer, IpcRendererEvent } from 'electron';
import { channels, isEventName } from '../../shared/ipc/channels.js';
import type { EventMap, EventName, PreloadApi } from '../../shared/ipc/contract.js';
import { type Result, fail } from '../../shared/ipc/result.js';

/** The three ipcRenderer calls the preload uses; nothing else of ipcRenderer reaches the page. */
export type PreloadIpc = Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>;

/** Main answers every call with a Result; a rejected invoke (no handler, main busy quitting) becomes one too. */
async function invokeResult(ipc: PreloadIpc, channel: string, request: unknown): Promise<Result<unknown>> {
  try {
    return (await ipc.invoke(channel, request)) as Result<unknown>;
  } catch {
    return fail('unavailable', 'The app is not ready to answer yet.');
  }
}

/**
 * `window.deaddrop`: one named function per contract channel, the engine's and the shell's (built from
 * the channel list, so no name is spelled here), and `on` for the allow-listed events. Listeners get
 * the payload only, never the IPC event (whose `sender` is ipcRenderer itself). Imports no schema:
 * main validates every payload.
 */
export function buildPreloadApi(ipc: PreloadIpc): PreloadApi {
  const api: Record<string, unknown> = {};
  for (const channel of channels) {
    api[channel] = (request: unknown) => invokeResult(ipc, channel, request ?? {});
  }
  api.on = <E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): (() => void) => {
    if (!isEventName(event) || typeof listener !== 'function') throw new TypeError('Unknown event.');
    const forward = (_event: IpcRendererEvent, payload: EventMap[E]) => listener(payload);
    ipc.on(event, forward);
    return () => {
      ipc.removeListener(event, forward);
    };
  };
  return Object.freeze(api) as PreloadApi;
}
