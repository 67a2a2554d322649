/**
 * HTTP client for the drop server API (PROTOCOL.md section 2): POST a PDU, GET (multipart, streamed
 * and bounded) or HEAD a drop with a since-cursor. Fixed generic headers, no cookies, timeouts on
 * every request, all traffic through the configured dispatcher (direct or proxy), and every request
 * under the shared traffic rules (address guard, connection pool, circuit breaker per server).
 */
import { type Dispatcher, request } from 'undici';
import { MultipartParser, boundaryFromContentType } from '../../../shared/protocol/multipart.js';
import { type DestinationGuard, httpOrigin, refusalOf } from './destinationGuard.js';
import { ServerBreakers } from './serverBreaker.js';
import { RequestGate } from './requestGate.js';

/** The same for every user and version, so requests do not single anyone out. */
export const GENERIC_HEADERS = { 'user-agent': 'Mozilla/5.0', accept: '*/*' } as const;

/** `refused`: the destination guard would not contact that address (never retried). */
export type DropErrorKind = 'network' | 'timeout' | 'http' | 'protocol' | 'refused';

/** A failed drop request; `retryable` says whether trying again later may succeed. */
export class DropRequestError extends Error {
  constructor(
    readonly kind: DropErrorKind,
    message: string,
    readonly status?: number,
    /** The system's error code of a network failure (`ECONNREFUSED`, `ENOTFOUND`, ...), when known. */
    readonly code?: string,
    /** What a refusing server said beyond its status (a POST's anti-spam answer), when it said it. */
    readonly answer?: RefusalDetails,
  ) {
    super(message);
    this.name = 'DropRequestError';
  }

  /**
   * True when a failed POST surely stored nothing: the server refused it with an answer that says so,
   * or no connection was ever made. False when it may have been stored and only the answer was lost
   * (a timeout, a connection reset mid-request, a 500): the bytes may be on that server.
   */
  get surelyNotStored(): boolean {
    if (this.kind === 'refused') return true;
    if (this.kind === 'http') return this.status !== undefined && (this.status < 500 || this.status === 503 || this.status === 507);
    if (this.kind === 'network') return this.code !== undefined && NOT_CONNECTED.has(this.code);
    return false;
  }

  get retryable(): boolean {
    if (this.kind === 'refused') return false;
    if (this.kind !== 'http') return true;
    return this.status === undefined || this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

/**
 * A refused POST's words (PROTOCOL-V1 section 3c): the JSON body's `error` ("Proof of work required",
 * "Ticket spent", ...), `X-Drop-PoW-Bits` and `Retry-After`, so the outbox can stamp, take the next
 * ticket or wait as long as the server asked.
 */
export interface RefusalDetails {
  error: string | null;
  powBits: number | null;
  /** Seconds, from `Retry-After` (delta form only). */
  retryAfterS: number | null;
}

/** Bytes of a refusal's body read for its `error`: the server's JSON errors are a few dozen bytes. */
const MAX_ERROR_BODY = 1024;
/** Bytes of a small JSON document read at most (a discovery document, a policy answer). */
const MAX_JSON_BODY = 16 * 1024;

/** One stored message as the server returned it. */
export interface DropItem {
  body: Uint8Array;
  date: string | null;
}

export type FetchResult =
  | { status: 'empty' }
  | { status: 'unchanged' }
  | {
      status: 'messages';
      /** The parts, unless `onItem` took them one by one. */
      items: DropItem[];
      latest: string | null;
      /** False when reading stopped at a bound before the end of the answer (`latest` then covers unread parts). */
      complete: boolean;
      /** Body bytes read. */
      bytes: number;
      /** Parts dropped unread for being far larger than a message. */
      skippedParts: number;
    };

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

/** What all drop traffic shares: the connection pool, the stalled-server breaker, the address guard. */
export interface DropTraffic {
  gate: RequestGate;
  breakers: ServerBreakers;
  /** Null only for clients that talk to servers the caller chose itself (tests, tools). */
  guard: DestinationGuard | null;
}

export interface DropClientOptions {
  dispatcher: Dispatcher;
  timeoutMs?: number;
  limits?: Partial<FetchLimits>;
  traffic?: Partial<DropTraffic>;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { maxPartBytes: 4096, maxResponseBytes: 64 << 20, maxParts: 100_000 };

type Method = 'GET' | 'HEAD' | 'POST';
type Response = Dispatcher.ResponseData;

export class DropClient {
  private readonly timeoutMs: number;
  private readonly limits: FetchLimits;
  private readonly traffic: DropTraffic;

  constructor(private readonly options: DropClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.limits = { ...DEFAULT_FETCH_LIMITS, ...options.limits };
    this.traffic = { gate: new RequestGate(), breakers: new ServerBreakers(), guard: null, ...options.traffic };
  }

  /**
   * Deposits one PDU, with `extra` headers (an anti-spam ticket or stamp) besides the fixed ones.
   * A refusal's DropRequestError carries the server's words (`answer`). @throws DropRequestError
   */
  async post(dropUrl: string, pdu: Uint8Array, extra: Readonly<Record<string, string>> = {}): Promise<void> {
    const headers = { ...lowerCased(extra), authorization: 'Client Qabel', 'content-type': 'application/octet-stream' };
    await this.exchange(dropUrl, 'POST', headers, pdu, async (response) => {
      if (response.statusCode === 200) {
        await response.body.dump();
        return;
      }
      const answer = await refusalDetails(response);
      const error = httpError('POST', response.statusCode);
      throw new DropRequestError('http', error.message, response.statusCode, undefined, answer);
    });
  }

  /**
   * POSTs a small JSON document (a drop's policy, `<dropUrl>/policy`) and reads the answer's body
   * (at most 16 KB), whatever its status. @throws DropRequestError when nothing was answered
   */
  async postJson(url: string, body: string): Promise<{ status: number; body: string }> {
    const headers = { authorization: 'Client Qabel', 'content-type': 'application/json' };
    return this.exchange(url, 'POST', headers, new TextEncoder().encode(body), async (response) => ({
      status: response.statusCode,
      body: await readSmallBody(response, MAX_JSON_BODY),
    }));
  }

  /**
   * GETs a small JSON document (a server's `/.well-known/deaddrop`): null for another status, a body
   * over 16 KB or one that is not JSON. @throws DropRequestError when nothing was answered
   */
  async getJson(url: string): Promise<unknown> {
    return this.exchange(url, 'GET', {}, undefined, async (response) => {
      if (response.statusCode !== 200) {
        await response.body.dump();
        return null;
      }
      try {
        return JSON.parse(await readSmallBody(response, MAX_JSON_BODY)) as unknown;
      } catch {
        return null;
      }
    });
  }

  /**
   * Fetches messages newer than `since` (the whole drop when null), streaming: oversized parts are
   * skipped unread and reading stops at the byte and part bounds. @throws DropRequestError
   */
  async fetch(dropUrl: string, since: string | null, options: FetchOptions = {}): Promise<FetchResult> {
    return this.exchange(dropUrl, 'GET', sinceHeader(since), undefined, async (response) => {
      if (response.statusCode === 204 || response.statusCode === 304) {
        await response.body.dump();
        return { status: response.statusCode === 204 ? 'empty' : 'unchanged' };
      }
      if (response.statusCode !== 200) {
        await response.body.dump();
        throw httpError('GET', response.statusCode);
      }
      const boundary = boundaryFromContentType(headerValue(response.headers['content-type']));
      if (!boundary) {
        response.body.destroy();
        throw new DropRequestError('protocol', 'The drop server answered without a multipart boundary.');
      }
      const read = await this.readParts(response, boundary, options);
      return { status: 'messages', latest: headerValue(response.headers['x-qabel-latest']) ?? null, ...read };
    });
  }

  /** Probes a drop: does it hold anything newer than `since`? @throws DropRequestError */
  async probe(dropUrl: string, since: string | null): Promise<{ hasNew: boolean; latest: string | null }> {
    return this.exchange(dropUrl, 'HEAD', sinceHeader(since), undefined, async (response) => {
      await response.body.dump();
      if (response.statusCode === 204 || response.statusCode === 304) return { hasNew: false, latest: null };
      if (response.statusCode !== 200) throw httpError('HEAD', response.statusCode);
      return { hasNew: true, latest: headerValue(response.headers['x-qabel-latest']) ?? null };
    });
  }

  private async readParts(response: Response, boundary: string, options: FetchOptions) {
    const maxBytes = Math.min(options.maxBytes ?? Infinity, this.limits.maxResponseBytes);
    const parser = new MultipartParser(boundary, {
      maxParts: Number.MAX_SAFE_INTEGER,
      maxPartBytes: this.limits.maxPartBytes,
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
          if (parts === this.limits.maxParts) {
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
   * One request under the shared traffic rules: the address guard, the server's breaker (checked
   * before queueing and again once a slot is free), a slot in the pool (held until `consume` has read
   * the answer), and one deadline for all of it.
   */
  private async exchange<T>(url: string, method: Method, headers: Record<string, string>, body: Uint8Array | undefined, consume: (response: Response) => Promise<T>): Promise<T> {
    const { origin: server, host } = parseTarget(url);
    const { gate, breakers, guard } = this.traffic;
    try {
      guard?.checkUrl(url);
    } catch (err) {
      throw refusedError(err);
    }
    const stalled = (retryInMs: number) =>
      new DropRequestError('network', `The drop server at ${host} stopped answering; it is tried again in ${Math.ceil(retryInMs / 1000)} s.`);
    const blocked = breakers.blockedFor(server);
    if (blocked > 0) throw stalled(blocked);
    const abort = new AbortController();
    const deadline = AbortSignal.any([abort.signal, AbortSignal.timeout(this.timeoutMs * 2)]);
    let release: () => void;
    try {
      release = await gate.acquire(server, deadline);
    } catch (err) {
      throw new DropRequestError('network', (err as Error).message);
    }
    const admission = breakers.admit(server);
    if (!admission.ok) {
      release();
      throw stalled(admission.retryInMs);
    }
    try {
      const response = await this.send(url, method, headers, body, deadline);
      const result = await consume(response);
      breakers.record(server, 'answered', admission.probe);
      return result;
    } catch (err) {
      // Whatever failed, the connection goes too: a socket left to a server that stalls is a socket lost.
      abort.abort();
      breakers.record(server, err instanceof DropRequestError && err.kind === 'timeout' ? 'timeout' : 'answered', admission.probe);
      throw err;
    } finally {
      release();
    }
  }

  private async send(url: string, method: Method, headers: Record<string, string>, body: Uint8Array | undefined, signal: AbortSignal): Promise<Response> {
    try {
      return await request(url, {
        method,
        dispatcher: this.options.dispatcher,
        headers: { ...GENERIC_HEADERS, ...headers },
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal,
      });
    } catch (err) {
      if (refusalOf(err)) throw refusedError(err);
      const timeout = isTimeout(err);
      throw new DropRequestError(
        timeout ? 'timeout' : 'network',
        timeout ? `The drop server did not answer in time; ${RETRY_HINT}` : `The drop server cannot be reached (${(err as Error).message}); ${RETRY_HINT}`,
        undefined,
        errorCode(err),
      );
    }
  }
}

/** The server a request goes to (its origin: the unit of the pool, the breaker and the retry budget). */
function parseTarget(url: string): { origin: string; host: string } {
  try {
    const parsed = new URL(url);
    return { origin: httpOrigin(parsed), host: parsed.host };
  } catch {
    throw new DropRequestError('http', 'The drop URL is not a valid URL.', 400);
  }
}

function refusedError(err: unknown): DropRequestError {
  return new DropRequestError('refused', refusalOf(err)?.message ?? (err as Error).message);
}

function sinceHeader(since: string | null): Record<string, string> {
  return since === null ? {} : { 'x-qabel-new-since': since };
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** The refusal's `error`, `X-Drop-PoW-Bits` and `Retry-After`; never more than a small body is read. */
async function refusalDetails(response: Response): Promise<RefusalDetails> {
  const powText = headerValue(response.headers['x-drop-pow-bits']);
  const retryText = headerValue(response.headers['retry-after']);
  const powBits = powText && /^\d{1,2}$/.test(powText) && Number(powText) >= 1 && Number(powText) <= 40 ? Number(powText) : null;
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
async function readSmallBody(response: Response, max: number): Promise<string> {
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

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const RETRY_HINT = 'check the server address, the network and the proxy setting, then try again.';

/** Network failures that happen before a request is sent: nothing can have been stored. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** The system error code of a failure or of its cause (undici wraps connection errors). */
function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && !code.startsWith('UND_')) return code;
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof cause === 'string' ? cause : undefined;
}

/** What the user can do about a refusal, by status (PROTOCOL.md section 2). */
function httpHint(status: number): string {
  if (status === 404 || status === 400) return ' Check the drop URL: its server address and path may be wrong.';
  if (status === 401) return ' The server wants an access token.';
  if (status === 413) return ' The message is larger than this server accepts.';
  if (status >= 500 || status === 429) return ' The server has trouble; try again later.';
  return '';
}

function httpError(method: string, status: number): DropRequestError {
  return new DropRequestError('http', `The drop server refused the ${method} request (HTTP ${status}).${httpHint(status)}`, status);
}

function isTimeout(err: unknown): boolean {
  const name = (err as { name?: string; code?: string } | null)?.name ?? '';
  const code = (err as { code?: string } | null)?.code ?? '';
  return name === 'TimeoutError' || name === 'AbortError' || code.includes('TIMEOUT');
}
