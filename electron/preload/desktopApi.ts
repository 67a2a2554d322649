import { type DesktopApi, desktopChannels } from '../../shared/ipc/desktopContract.js';
import { type PreloadIpc, invokeResult } from './preloadApi.js';

/**
 * `window.deaddropDesktop`: one named function per method of the desktop contract (tray count,
 * conversation on screen, contact names for notifications, camera gate, desktop settings). Built from
 * `desktopChannels`, so no channel name is spelled here.
 */
export function buildDesktopApi(ipc: PreloadIpc): DesktopApi {
  const api: Record<string, unknown> = {};
  for (const [method, channel] of Object.entries(desktopChannels)) {
    api[method] = (request: unknown) => invokeResult(ipc, channel, request ?? {});
  }
  return Object.freeze(api) as DesktopApi;
}
