import type { Session } from 'electron';

/**
 * The UI never talks to the network (the engine does, from Node, through its own proxy settings), so
 * the window's session cancels every web request to a network scheme except, in development, the
 * Vite dev server. A second line behind the CSP: a bug or an injected tag cannot leak an address.
 */
const networkSchemes = new Set(['http:', 'https:', 'ws:', 'wss:', 'ftp:', 'file:']);

export function isUiRequestAllowed(url: string, devServerOrigin: string | null): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (!networkSchemes.has(parsed.protocol)) return true;
  if (devServerOrigin === null) return false;
  const origin = `${parsed.protocol.replace(/^ws/, 'http')}//${parsed.host}`;
  return origin === devServerOrigin;
}

export function installNetworkGuard(session: Pick<Session, 'webRequest'>, devServerOrigin: string | null): void {
  session.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !isUiRequestAllowed(details.url, devServerOrigin) });
  });
}
