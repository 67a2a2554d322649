/**
 * Server extensions for the traffic budget (PROTOCOL-V1 section 4c), announced at
 * `GET <servicepath>/.well-known/deaddrop`; original clients never send their headers and see no change.
 *
 * - `X-Qabel-Page: n` (1..MAX_PAGE) on GET: always `200` with exactly n parts, the oldest (up to n)
 *   messages after the cursor and then filler parts of random bytes. Every part carries
 *   `X-Qabel-Filler: 0` or `1` (the same length, so the answer's size does not say how many are real),
 *   `X-Qabel-Latest` names the last real part (or repeats the cursor) zero-padded to 20 digits, and
 *   `X-Qabel-More: 0|1` says whether more messages wait after it. No `Last-Modified`: it would
 *   change with what arrived. Filler parts are 2149 bytes, the size of a PDU, so with PDUs in the
 *   drop every answer to one n has one size.
 * - `X-Qabel-Cover: 1` on POST: answered like a stored message (200) and discarded, so a client can
 *   send at a constant rate whether or not it has something to say.
 */
import { randomBytes } from 'node:crypto';
import { PART_TAIL, chooseBoundary, encodeClose, encodePartHead, multipartContentType } from '../../shared/protocol/multipart.js';
import type { StoredMessage } from '../store/dropStore.js';
import { STAMP_WINDOW_S } from '../../shared/spam/stamp.js';

/** Largest `X-Qabel-Page`: enough for a slot, small enough that a padded answer stays about 20 KB. */
export const MAX_PAGE = 8;
/** A v0 PDU's size (PROTOCOL.md section 4). */
export const FILLER_BYTES = 2149;
const LATEST_DIGITS = 20;

/** The page size a GET asks for: null when it asks for none, 'bad' for a header we cannot honour. */
export function requestedPage(header: string | string[] | undefined): number | null | 'bad' {
  if (header === undefined) return null;
  if (Array.isArray(header) || !/^\d{1,2}$/.test(header.trim())) return 'bad';
  const n = Number(header.trim());
  return n >= 1 && n <= MAX_PAGE ? n : 'bad';
}

/** True when a POST asks to be discarded as cover traffic. */
export function isCover(header: string | string[] | undefined): boolean {
  return header === '1';
}

/**
 * What `GET <servicepath>/.well-known/deaddrop` answers: these extensions, and the anti-spam ones
 * (server/spam): closed drops with tickets, proof-of-work stamps with their base bits and time
 * window, and the most introductions a closed drop takes per day.
 */
export function discoveryDocument(options: { ttlSeconds: number; blobs: boolean; powBits: number; introPerDay: number }): string {
  return JSON.stringify({
    v: 1,
    features: ['page', 'cover', ...(options.blobs ? ['blobs'] : []), 'tickets', 'pow'],
    pow: { alg: 'sha256', bits: options.powBits, window_s: STAMP_WINDOW_S },
    intro_per_day: options.introPerDay,
    max_page: MAX_PAGE,
    ttl_s: options.ttlSeconds,
  });
}

/**
 * The padded answer: `messages` (at most n, oldest first), then filler up to n parts.
 * @param cursor the position the client asked after (0 when it asked for everything)
 * @param more whether messages remain after the last of `messages`
 */
export function paddedPage(messages: StoredMessage[], n: number, cursor: number, more: boolean, now: Date) {
  const fillers = Array.from({ length: n - messages.length }, () => randomBytes(FILLER_BYTES));
  const boundary = chooseBoundary([...messages.map((m) => m.body), ...fillers]);
  const pieces: Uint8Array[] = [];
  for (const m of messages) pieces.push(encodePartHead(boundary, new Date(m.receivedAtMs), 'X-Qabel-Filler: 0'), m.body, PART_TAIL);
  for (const filler of fillers) pieces.push(encodePartHead(boundary, now, 'X-Qabel-Filler: 1'), filler, PART_TAIL);
  pieces.push(encodeClose(boundary));
  const latest = messages.length > 0 ? messages[messages.length - 1]!.position : cursor;
  return {
    headers: {
      'Content-Type': multipartContentType(boundary),
      'X-Qabel-Latest': String(latest).padStart(LATEST_DIGITS, '0'),
      'X-Qabel-More': more ? '1' : '0',
    },
    body: Buffer.concat(pieces),
  };
}
