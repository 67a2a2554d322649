import path from 'node:path';
import { APP_CSP } from './contentSecurityPolicy.js';

/** Custom privileged scheme the UI is served from: a stable origin (`deaddrop://app`) for IndexedDB. */
export const APP_SCHEME = 'deaddrop';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/** What `protocol.registerSchemesAsPrivileged` needs before `app.ready`. */
export const appSchemePrivileges = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
} as const;

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

export type ReadAsset = (absolutePath: string) => Promise<Uint8Array>;

/**
 * Maps a request URL to a file under `rootDir`, or null when it is not ours or would leave the root
 * (`..`, encoded separators, absolute paths, NUL bytes).
 */
export function resolveAssetPath(rootDir: string, requestUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0') || pathname.includes('\\') || pathname.split('/').includes('..')) return null;
  const relative = pathname === '/' || pathname === '' ? 'index.html' : pathname.replace(/^\/+/, '');
  const root = path.resolve(rootDir);
  const resolved = path.resolve(root, relative);
  if (resolved !== root && !resolved.startsWith(root + path.sep)) return null;
  return resolved;
}

function respond(status: number, body: Uint8Array | string, contentType: string): Response {
  return new Response(status === 200 ? (body as Uint8Array<ArrayBuffer>) : String(body), {
    status,
    headers: {
      'Content-Type': contentType,
      'Content-Security-Policy': APP_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache',
      'Cross-Origin-Opener-Policy': 'same-origin',
    },
  });
}

/**
 * The `protocol.handle` handler serving the built UI (`dist-renderer/`). Only GET; every response
 * carries the CSP header, so the policy holds even if the HTML forgets its meta tag.
 */
export function createAppProtocolHandler(rootDir: string, readAsset: ReadAsset): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return respond(405, 'Method not allowed', 'text/plain');
    const file = resolveAssetPath(rootDir, request.url);
    if (file === null) return respond(404, 'Not found', 'text/plain');
    try {
      const body = await readAsset(file);
      const type = contentTypes[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      return respond(200, body, type);
    } catch {
      return respond(404, 'Not found', 'text/plain');
    }
  };
}
