/** Hosts a development UI server may run on: this computer only. */
const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The Vite dev server URL `npm run dev` passes in `DEADDROP_DEV_SERVER_URL`, or null. Its origin is
 * trusted like the app scheme (IPC, navigation), so it is honoured only in an unpackaged app and only
 * as plain http(s) on loopback: an inherited or mistyped variable cannot hand the engine to a remote
 * page, and a malformed one cannot crash startup.
 */
export function devServerUrlFrom(raw: string | undefined, packaged: boolean): string | null {
  if (packaged || raw === undefined || raw === '') return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (!loopbackHosts.has(url.hostname) || url.username !== '' || url.password !== '') return null;
  return url.href;
}
