/** Maps a request path to what the server does with it; the service path is configurable. */

export type Route =
  | { kind: 'drop'; dropId: string }
  | { kind: 'push'; dropId: string }
  /** `<base>/<dropId>/policy`: a closed drop's policy (POST only). */
  | { kind: 'policy'; dropId: string }
  /** `<base>/blobs` (upload: `blobId` null) or `<base>/blobs/<id>`. */
  | { kind: 'blob'; blobId: string | null }
  | { kind: 'info' }
  /** `<base>/.well-known/deaddrop`: which protocol extensions this server offers. */
  | { kind: 'discovery' }
  | { kind: 'health' }
  | { kind: 'metrics' }
  | { kind: 'notFound' };

const PUSH_SUFFIX = '/ws';
const POLICY_SUFFIX = '/policy';
/** Not a drop ID (those are 43 characters), so it cannot hide one. */
const BLOBS = 'blobs';
const DISCOVERY = '.well-known/deaddrop';

export interface RouterOptions {
  /**
   * Also answer `/health` and `/metrics` at the root (a server of its own). A handler mounted in
   * another application leaves the root to that application.
   */
  operationalAtRoot: boolean;
}

/**
 * @param basePath normalised service path: '' or '/tools/drop'
 * @returns a function from a raw request URL (path and query) to its route
 */
export function createRouter(basePath: string, options: RouterOptions = { operationalAtRoot: true }): (rawUrl: string) => Route {
  const prefix = basePath + '/';
  return (rawUrl) => {
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    if (options.operationalAtRoot) {
      // Operational endpoints answer at the root and under the service path (behind a proxy).
      if (path === '/health') return { kind: 'health' };
      if (path === '/metrics') return { kind: 'metrics' };
    }
    if (path === basePath) return { kind: 'info' };
    if (!path.startsWith(prefix)) return { kind: 'notFound' };
    const rest = path.slice(prefix.length);
    if (rest === 'health') return { kind: 'health' };
    if (rest === 'metrics') return { kind: 'metrics' };
    if (rest === '') return { kind: 'info' };
    if (rest === BLOBS) return { kind: 'blob', blobId: null };
    if (rest === DISCOVERY) return { kind: 'discovery' };
    const slash = rest.indexOf('/');
    if (slash < 0) return { kind: 'drop', dropId: rest };
    if (rest.slice(0, slash) === BLOBS && rest.indexOf('/', slash + 1) < 0) return { kind: 'blob', blobId: rest.slice(slash + 1) };
    if (rest.endsWith(PUSH_SUFFIX) && slash === rest.length - PUSH_SUFFIX.length) {
      return { kind: 'push', dropId: rest.slice(0, slash) };
    }
    if (rest.endsWith(POLICY_SUFFIX) && slash === rest.length - POLICY_SUFFIX.length) {
      return { kind: 'policy', dropId: rest.slice(0, slash) };
    }
    return { kind: 'notFound' };
  };
}
