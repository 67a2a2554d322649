/**
 * The preload's API built by the real preload modules, for a page in plain Chromium: the fake
 * ipcRenderer sends invokes through a Playwright binding to main's real IPC handlers and receives
 * main's `webContents.send` events from the test. Bundled to an init script by the UI-in-Chromium test.
 */
import { buildPreloadApi, type PreloadIpc } from '../../../electron/preload/preloadApi.js';

type Listener = (event: unknown, payload: unknown) => void;
interface HarnessWindow {
  __deaddropIpcInvoke(channel: string, request: unknown): Promise<unknown>;
  __deaddropIpcDeliver?: (channel: string, payload: unknown) => void;
  deaddrop?: unknown;
}

const page = globalThis as unknown as HarnessWindow;
const listeners = new Map<string, Set<Listener>>();
const ipc = {
  invoke: (channel: string, request: unknown) => page.__deaddropIpcInvoke(channel, request),
  on(channel: string, listener: Listener) {
    if (!listeners.has(channel)) listeners.set(channel, new Set());
    listeners.get(channel)?.add(listener);
    return ipc;
  },
  removeListener(channel: string, listener: Listener) {
    listeners.get(channel)?.delete(listener);
    return ipc;
  },
};
page.__deaddropIpcDeliver = (channel, payload) => {
  for (const listener of listeners.get(channel) ?? []) listener({}, payload);
};
page.deaddrop = buildPreloadApi(ipc as unknown as PreloadIpc);
