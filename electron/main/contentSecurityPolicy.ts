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
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "frame-src 'none'",
  "object-src 'none'",
].join('; ');

