/**
 * Reading a drop server's answers for the drop client (dropClient.ts), bounded whatever the server
 * sends: a GET's multipart body streamed part by part (oversized parts skipped unread, reading stopped
 * at the byte and part bounds), a refused POST's few words, and small JSON documents.
 */
import type { Dispatcher } from 'undici';
import { MultipartParser } from '../../../shared/protocol/multipart.js';
import { powBitsOf } from '../spam/spamPost.js';
import { DropRequestError, type RefusalDetails, isTimeout } from './dropErrors.js';

type Response = Dispatcher.ResponseData;

/** One stored message as the server returned it. */
export interface DropItem {
  body: Uint8Array;
  date: string | null;
}

/** How much of one GET answer is read, whatever the server sends. */
export interface FetchLimits {
  /** Parts larger than this are skipped while streaming, never buffered (a PDU is 2149 bytes). */
  maxPartBytes: number;
  /** Reading stops after this many body bytes. */
  maxResponseBytes: number;
  /** Reading stops after this many parts. */
  maxParts: number;
}

export interface FetchOptions {
  /** Takes each part as it completes, awaited before reading on; without it parts are collected in `items`. */
  onItem?(item: DropItem): void | Promise<void>;
  /** A smaller byte bound for this answer (what is left of a poll's budget). */
  maxBytes?: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { maxPartBytes: 4096, maxResponseBytes: 64 << 20, maxParts: 100_000 };

/** What was read of one multipart answer. */
export interface PartsRead {
  /** The parts, unless `onItem` took them one by one. */
  items: DropItem[];
  /** False when reading stopped at a bound before the end of the answer. */
  complete: boolean;
  /** Body bytes read. */
  bytes: number;
  /** Parts dropped unread for being far larger than a message. */
  skippedParts: number;
}

/** Bytes of a refusal's body read for its `error`: the server's JSON errors are a few dozen bytes. */
const MAX_ERROR_BODY = 1024;
/** Bytes of a small JSON document read at most (a discovery document, a policy answer). */
export const MAX_JSON_BODY = 16 * 1024;

/**
 * Streams a multipart answer's parts to `options.onItem` (or into `items`) within `limits`; a failure
 * of the sink is passed on as it is, one of the stream becomes a DropRequestError. @throws DropRequestError
 */
export async function readParts(response: Response, boundary: string, options: FetchOptions, limits: FetchLimits): Promise<PartsRead> {
  const maxBytes = Math.min(options.maxBytes ?? Infinity, limits.maxResponseBytes);
  const parser = new MultipartParser(boundary, {
    maxParts: Number.MAX_SAFE_INTEGER,
    maxPartBytes: limits.maxPartBytes,
    maxTotalBytes: Number.MAX_SAFE_INTEGER,
    oversizedParts: 'skip',
  });
  const items: DropItem[] = [];
  const take = options.onItem ?? ((item: DropItem) => void items.push(item));
  let bytes = 0;
  let parts = 0;
  let complete = true;
  let sinkFailed = false;
  try {
    for await (const data of response.body) {
      const chunk = data as Uint8Array;
      const room = maxBytes - bytes;
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      bytes += piece.length;
      for (const part of parser.push(piece)) {
        if (parts === limits.maxParts) {
          complete = false;
          break;
        }
        parts++;
        sinkFailed = true;
        // Waits only when the sink asks to (a trial chunk backlog): a drop holds thousands of parts.
        const waiting = take({ body: part.body, date: part.headers['date'] ?? null });
        if (waiting) await waiting;
        sinkFailed = false;
      }
      if (piece.length < chunk.length) complete = false;
      if (!complete) break;
    }
    if (complete) parser.finish();
    else response.body.destroy();
  } catch (err) {
    response.body.destroy();
    if (sinkFailed || err instanceof DropRequestError) throw err;
    throw new DropRequestError(isTimeout(err) ? 'timeout' : 'protocol', `The drop server's answer could not be read: ${(err as Error).message}`);
  }
  return { items, complete, bytes, skippedParts: parser.skippedParts };
}

/**
 * The refusal's `error`, `X-Drop-PoW-Bits` and `Retry-After`; never more than a small body is read.
 * The traffic budget's transport (budget/slotTransport.ts) reads its refusals here too.
 */
export async function refusalDetails(response: Response): Promise<RefusalDetails> {
  const retryText = headerValue(response.headers['retry-after']);
  const powBits = powBitsOf(headerValue(response.headers['x-drop-pow-bits']));
  const retryAfterS = retryText && /^\d{1,6}$/.test(retryText) ? Number(retryText) : null;
  let error: string | null = null;
  try {
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const data of response.body) {
      const chunk = data as Buffer;
      chunks.push(chunk);
      length += chunk.length;
      if (length > MAX_ERROR_BODY) break;
    }
    if (length <= MAX_ERROR_BODY) {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: unknown };
      if (typeof parsed.error === 'string') error = parsed.error;
    } else {
      response.body.destroy();
    }
  } catch {
    // Not JSON (an old server's or a proxy's page): the status alone speaks.
  }
  return { error, powBits, retryAfterS };
}

/** The body as text, or '' when it is longer than `max` bytes (then it is not read further). */
export async function readSmallBody(response: Response, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const data of response.body) {
    const chunk = data as Buffer;
    length += chunk.length;
    if (length > max) {
      response.body.destroy();
      return '';
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A header's (first) value. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
