/**
 * The UI's Content Security Policy. Everything comes from our own origin; images may be data:/blob:
 * URLs (QR codes); no inline script, no eval, no framing, no plugins, no network but our origin.
 * The engine (main process) is the only thing that talks to drop servers, so `connect-src` stays `'self'`.
 */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "media-src 'self' blob: mediastream:",
  "worker-src 'self' blob:",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "frame-src 'none'",
  "object-src 'none'",
].join('; ');

/**
 * Development policy for the Vite dev server: its React refresh preamble is an inline script and hot
 * reload needs a WebSocket back to the dev server. Never used for the packaged UI.
 */
export function devCsp(devServerOrigin: string): string {
  const wsOrigin = devServerOrigin.replace(/^http/, 'ws');
  return APP_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
    .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    .replace("connect-src 'self'", `connect-src 'self' ${wsOrigin}`);
}
