/**
 * How a Deaddrop client posts under the anti-spam rules (PROTOCOL-V1 section 3c), on top of whatever
 * HTTP client the caller has:
 * - with a ticket for the drop, it goes in `X-Drop-Ticket`;
 * - "on 429 Proof of work required: stamp and retry once": the stamp is computed in a worker for the
 *   bits the server named (`X-Drop-PoW-Bits`), with progress, and the POST is sent again once with it;
 * - on 401 Ticket required with `X-Drop-PoW-Bits` (the closed drop takes introductions), likewise:
 *   the POST goes again once as an introduction with a stamp and without the ticket.
 * Everything else (409 Ticket spent: take the next ticket; 429 Introduction quota reached: later)
 * is the caller's answer to the result.
 */
import { POW_BITS_HEADER, POW_HEADER, SPAM_ERRORS } from '../../../shared/spam/wire.js';
import type { Stamper, StampProgress } from './stamper.js';
import { ticketHeaderFor } from './tickets.js';

/** What one POST answered, as far as the rules need it. */
export interface PostAnswer {
  status: number;
  /** The `error` of a JSON error body, or null. */
  error: string | null;
  /** `X-Drop-PoW-Bits`, or null. */
  powBits: number | null;
}

/** One POST of `pdu` to `dropUrl` with these extra headers (besides `Authorization: Client Qabel`). */
export type RawPost = (dropUrl: string, pdu: Uint8Array, headers: Record<string, string>) => Promise<PostAnswer>;

export interface SpamPostOptions {
  /** A ticket for this drop, if the sender holds one. */
  ticket?: Uint8Array | null;
  stamper: Stamper;
  onStampProgress?(progress: StampProgress): void;
  signal?: AbortSignal;
}

export interface SpamPostResult extends PostAnswer {
  /** How the last POST went: plain, with the ticket, or with a stamp. */
  sentWith: 'plain' | 'ticket' | 'stamp';
}

/** Reads `X-Drop-PoW-Bits` (null when absent or not a small integer). */
export function powBitsOf(header: string | null | undefined): number | null {
  if (!header || !/^\d{1,2}$/.test(header)) return null;
  const bits = Number(header);
  return bits >= 1 && bits <= 40 ? bits : null;
}

/** Whether an answer asks for a stamp, and how many bits. */
function stampWanted(answer: PostAnswer): number | null {
  if (answer.powBits === null) return null;
  if (answer.status === 429 && answer.error === SPAM_ERRORS.powRequired) return answer.powBits;
  if (answer.status === 401 && answer.error === SPAM_ERRORS.ticketRequired) return answer.powBits;
  return null;
}

export async function postWithSpamRules(post: RawPost, dropUrl: string, pdu: Uint8Array, options: SpamPostOptions): Promise<SpamPostResult> {
  const ticketHeaders = options.ticket ? ticketHeaderFor(options.ticket) : {};
  const first = await post(dropUrl, pdu, ticketHeaders);
  const bits = stampWanted(first);
  if (bits === null) return { ...first, sentWith: options.ticket ? 'ticket' : 'plain' };
  const stamp = await options.stamper.stampFor(dropUrl, pdu, bits, options.onStampProgress, options.signal);
  // An introduction goes without the ticket the drop refused; an open drop's stamp goes with nothing else.
  const second = await post(dropUrl, pdu, { [POW_HEADER]: stamp });
  return { ...second, sentWith: 'stamp' };
}

/** A `RawPost` over `fetch` (tests, tools; the engine passes its own client's). */
export function fetchPost(fetchImpl: typeof fetch = fetch): RawPost {
  return async (dropUrl, pdu, headers) => {
    const res = await fetchImpl(dropUrl, {
      method: 'POST',
      body: new Uint8Array(pdu),
      headers: { Authorization: 'Client Qabel', 'Content-Type': 'application/octet-stream', ...headers },
    });
    const text = await res.text();
    let error: string | null = null;
    try {
      const parsed = JSON.parse(text) as { error?: unknown };
      if (typeof parsed.error === 'string') error = parsed.error;
    } catch {
      // A 200 has an empty body.
    }
    return { status: res.status, error, powBits: powBitsOf(res.headers.get(POW_BITS_HEADER)) };
  };
}
