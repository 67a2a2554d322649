/** `Authorization: Bearer <token>` checking for servers run with `--token` (ours, PROTOCOL.md section 2). */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/** Header value the open protocol requires on POST when no tokens are configured. */
export const CLIENT_QABEL = 'Client Qabel';

/**
 * @param tokens accepted tokens; empty means the server is open and this check always passes
 * @returns true when the request may proceed
 */
export function createTokenCheck(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  if (tokens.length === 0) return () => true;
  // Comparing fixed-length digests in constant time leaks neither the tokens nor their lengths.
  const accepted = tokens.map(digest);
  return (authorization) => {
    const match = authorization === undefined ? null : BEARER.exec(authorization);
    if (!match) return false;
    const offered = digest(match[1]!);
    let found = false;
    for (const token of accepted) found = timingSafeEqual(token, offered) || found;
    return found;
  };
}
