/**
 * The `cursor TOKEN` that `deaddrop fetch` prints and `--since` reads back. For an identity with one
 * drop it is the server's own `X-Qabel-Latest` value (PROTOCOL.md section 2), as the original clients
 * echo it. Cursors belong to one server each, so an identity with several drops gets one composite
 * token (`m.` + base64url of the JSON list of cursors, in drop URL order).
 */
import { CliError } from './cliError.js';

const COMPOSITE_PREFIX = 'm.';
/** No cursor yet (the drop was empty); fetching with it reads the whole drop. */
const NO_CURSOR = '-';
/** Longer tokens are not ours: a cursor is a short server token per drop. */
const MAX_TOKEN_LENGTH = 16 * 1024;

export function formatFetchCursor(dropUrls: readonly string[], cursors: ReadonlyMap<string, string | null>): string {
  if (dropUrls.length === 1) return cursors.get(dropUrls[0]!) ?? NO_CURSOR;
  const list = dropUrls.map((url) => cursors.get(url) ?? null);
  return COMPOSITE_PREFIX + Buffer.from(JSON.stringify(list), 'utf8').toString('base64url');
}

/**
 * What a drop server's `X-Qabel-Latest` looks like (PROTOCOL.md section 2): our servers' position (a
 * decimal number), or the original server's epoch seconds with a fraction. A server ignores any other
 * since-value and returns the whole drop, which would print every old message again as if new: such a
 * `--since` (a typo, a truncated paste) is refused instead.
 */
const SERVER_TOKEN = /^(?:\d{1,20}|\d{1,12}\.\d{1,9})$/;

function checkToken(value: string | null): string | null {
  if (value === null || value === NO_CURSOR) return null;
  if (!SERVER_TOKEN.test(value)) throw badCursor(`--since ${value.length > 40 ? `${value.slice(0, 40)}...` : value} is not a cursor`);
  return value;
}

function badCursor(what: string): CliError {
  return new CliError(`${what}; pass the token after "cursor" in the output of an earlier fetch of this identity, or leave --since out to read the whole drop.`, 2);
}

/** The per-drop cursors a `--since` token stands for. @throws CliError when it cannot belong to these drops */
export function parseFetchCursor(token: string, dropUrls: readonly string[]): Map<string, string | null> {
  if (dropUrls.length === 1) return new Map([[dropUrls[0]!, checkToken(token)]]);
  const list = token.length <= MAX_TOKEN_LENGTH && token.startsWith(COMPOSITE_PREFIX) ? decodeList(token.slice(COMPOSITE_PREFIX.length)) : null;
  if (list === null || list.length !== dropUrls.length) throw badCursor(`--since does not fit this identity's ${dropUrls.length} drops`);
  return new Map(dropUrls.map((url, i) => [url, checkToken(list[i]!)]));
}

function decodeList(encoded: string): (string | null)[] | null {
  try {
    const value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as unknown;
    return Array.isArray(value) && value.every((item) => item === null || typeof item === 'string') ? (value as (string | null)[]) : null;
  } catch {
    return null;
  }
}
