/**
 * HTTP client for the drop server API (PROTOCOL.md section 2): POST a PDU, GET (multipart, streamed
 * and bounded) or HEAD a drop with a since-cursor. Fixed generic headers, no cookies, timeouts on
 * every request, all traffic through the configured dispatcher (direct or proxy), and every request
 * under the shared traffic rules (address guard, connection pool, circuit breaker per server).
 * Reading the answers is dropAnswers.ts; what a failure was, dropErrors.ts.
 */
import { type Dispatcher, request } from 'undici';
import { boundaryFromContentType } from '../../../shared/protocol/multipart.js';
import { type DestinationGuard, httpOrigin } from './destinationGuard.js';
import { ServerBreakers } from './serverBreaker.js';
import { RequestGate } from './requestGate.js';
import { DEFAULT_FETCH_LIMITS, type FetchLimits, type FetchOptions, MAX_JSON_BODY, type PartsRead, headerValue, readParts, readSmallBody, refusalDetails } from './dropAnswers.js';
import { DropRequestError, httpError, refusedError, unansweredError } from './dropErrors.js';

export { DEFAULT_FETCH_LIMITS, type DropItem, type FetchLimits, type FetchOptions, type PartsRead } from './dropAnswers.js';
export { type DropErrorKind, DropRequestError, type RefusalDetails } from './dropErrors.js';

/** The same for every user and version, so requests do not single anyone out. */
export const GENERIC_HEADERS = { 'user-agent': 'Mozilla/5.0', accept: '*/*' } as const;

export type FetchResult =
  | { status: 'empty' }
  | { status: 'unchanged' }
  | ({
      status: 'messages';
      /** The server's newest cursor; it covers parts left unread when `complete` is false. */
      latest: string | null;
    } & PartsRead);

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
      const read = await readParts(response, boundary, options, this.limits);
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
      throw unansweredError(err);
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

function sinceHeader(since: string | null): Record<string, string> {
  return since === null ? {} : { 'x-qabel-new-since': since };
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
