/** Maps a request path to what the server does with it; the service path is configurable. */

export type Route =
  | { kind: 'drop'; dropId: string }
  | { kind: 'push'; dropId: string }
  | { kind: 'health' }
  | { kind: 'metrics' }
  | { kind: 'notFound' };

const PUSH_SUFFIX = '/ws';

/**
 * @param basePath normalised service path: '' or '/tools/drop'
 * @returns a function from a raw request URL (path and query) to its route
 */
export function createRouter(basePath: string): (rawUrl: string) => Route {
  const prefix = basePath + '/';
  return (rawUrl) => {
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    // Operational endpoints answer at the root and under the service path (behind a proxy).
    if (path === '/health') return { kind: 'health' };
    if (path === '/metrics') return { kind: 'metrics' };
    if (!path.startsWith(prefix)) return { kind: 'notFound' };
    const rest = path.slice(prefix.length);
    if (rest === 'health') return { kind: 'health' };
    if (rest === 'metrics') return { kind: 'metrics' };
    if (rest === '') return { kind: 'notFound' };
    const slash = rest.indexOf('/');
    if (slash < 0) return { kind: 'drop', dropId: rest };
    if (rest.endsWith(PUSH_SUFFIX) && slash === rest.length - PUSH_SUFFIX.length) {
      return { kind: 'push', dropId: rest.slice(0, slash) };
    }
    return { kind: 'notFound' };
  };
}
