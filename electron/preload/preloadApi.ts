import type { IpcRenderer, IpcRendererEvent } from 'electron';
import { type Channel, type EventMap, type EventName, type PreloadApi, channels, eventNames } from '../../shared/ipc/contract.js';
import { type Result, fail } from '../../shared/ipc/result.js';

/** The three ipcRenderer calls the preload uses; nothing else of ipcRenderer reaches the page. */
export type PreloadIpc = Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>;

/** Main answers every call with a Result; a rejected invoke (no handler, main busy quitting) becomes one too. */
export async function invokeResult<T>(ipc: PreloadIpc, channel: string, request: unknown): Promise<Result<T>> {
  try {
    return (await ipc.invoke(channel, request)) as Result<T>;
  } catch {
    return fail('unavailable', 'The app is not ready to answer yet.');
  }
}

function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && (eventNames as string[]).includes(value);
}

/**
 * `window.deaddrop`: one named function per contract channel (built from the contract's channel list,
 * so no name is spelled here) and `on` for the allow-listed events. Listeners get the payload only,
 * never the IPC event (whose `sender` is ipcRenderer itself).
 */
export function buildPreloadApi(ipc: PreloadIpc): PreloadApi {
  const api: Record<string, unknown> = {};
  for (const channel of channels) {
    api[channel] = (request: unknown) => invokeResult(ipc, channel satisfies Channel, request ?? {});
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
