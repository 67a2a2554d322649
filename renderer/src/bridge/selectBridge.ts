import type { PreloadApi } from '../../../shared/ipc/contract.js';
import { createElectronBridge } from './electronBridge.js';
import type { EngineBridge } from './transport.js';
import { createWebSocketBridge } from './wsBridge.js';

/**
 * Picks the transport: the Electron preload when present, else the WebSocket engine host named by
 * the `host` query parameter (only loopback `ws://` URLs, so a crafted link cannot point the UI at
 * a foreign engine). Returns null when neither exists.
 */
export function selectBridge(win: Window): EngineBridge | null {
  const preload = (win as Window & { deaddrop?: PreloadApi }).deaddrop;
  if (preload) return createElectronBridge(preload);
  const host = new URLSearchParams(win.location.search).get('host');
  if (host && isLoopbackWebSocketUrl(host)) return createWebSocketBridge({ url: host });
  return null;
}

/**
 * The hosts index.html's Content-Security-Policy lets the page connect to (`ws://<host>:*`). Not
 * [::1]: a CSP host-source cannot hold an IPv6 literal, so the browser would refuse the connection.
 */
export const LOOPBACK_WEBSOCKET_HOSTS = ['127.0.0.1', 'localhost'];

export function isLoopbackWebSocketUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'ws:' && LOOPBACK_WEBSOCKET_HOSTS.includes(url.hostname);
  } catch {
    return false;
  }
}
