/**
 * What went wrong with a drop server, in words: the engine's error text carries system codes
 * (`connect ECONNREFUSED 127.0.0.1:8080`) that tell a user nothing. Each pattern maps to what it
 * means and what to do; the raw text stays available for bug reports.
 */
const PROBLEMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Refused to contact|local network/i, 'it is on this computer or the local network, which Deaddrop does not contact unless you allow it in Settings'],
  [/ECONNREFUSED/, 'nothing answers at that address: the server may not be running'],
  [/ENOTFOUND|EAI_AGAIN|getaddrinfo/, 'its name could not be found: check the address and your internet connection'],
  [/ENETUNREACH|EHOSTUNREACH|ENETDOWN/, 'the network cannot reach it: check your internet connection'],
  [/did not answer in time|ETIMEDOUT|timed? ?out|stopped answering/i, 'it did not answer in time'],
  [/ECONNRESET|other side closed|socket hang up|EPIPE/i, 'the connection was cut'],
  [/CERT|certificate|self[- ]signed|SSL|TLS/i, 'its certificate is not trusted'],
  [/HTTP 401/, 'it wants an access token'],
  [/HTTP (400|404)/, 'it does not know this drop address: check the address'],
  [/HTTP 5\d\d|HTTP 429/, 'it has trouble at the moment'],
  [/too many failed attempts/i, 'it failed too often lately and is tried again later'],
  [/multipart|could not be read/i, 'it answered with something that is not a drop'],
];

/** The reason in words, e.g. "nothing answers at that address: the server may not be running". */
export function describeServerProblem(error: string | null): string {
  if (!error) return 'it did not answer';
  return PROBLEMS.find(([pattern]) => pattern.test(error))?.[1] ?? 'an unexpected error occurred';
}

/** A server URL as people name it: its host (and port), plus any service path. */
export function serverName(serverUrl: string): string {
  try {
    const url = new URL(serverUrl);
    return `${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return serverUrl;
  }
}
