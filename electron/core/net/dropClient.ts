/**
 * HTTP client for the drop server API (PROTOCOL.md section 2): POST a PDU, GET (multipart, streamed
 * and bounded) or HEAD a drop with a since-cursor. Fixed generic headers, no cookies, timeouts on
 * every request, and all traffic through the configured dispatcher (direct or proxy).
 */
import { type Dispatcher, request } from 'undici';
import { MultipartParser, boundaryFromContentType } from '../../../shared/protocol/multipart.js';
import type { MultipartLimits } from '../../../shared/protocol/multipart.js';

/** The same for every user and version, so requests do not single anyone out. */
export const GENERIC_HEADERS = { 'user-agent': 'Mozilla/5.0', accept: '*/*' } as const;

export type DropErrorKind = 'network' | 'timeout' | 'http' | 'protocol';

/** A failed drop request; `retryable` says whether trying again later may succeed. */
export class DropRequestError extends Error {
  constructor(
    readonly kind: DropErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DropRequestError';
  }

  get retryable(): boolean {
    if (this.kind !== 'http') return true;
    return this.status === undefined || this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

/** One stored message as the server returned it. */
export interface DropItem {
  body: Uint8Array;
  date: string | null;
}

export type FetchResult =
  | { status: 'empty' }
  | { status: 'unchanged' }
  | { status: 'messages'; items: DropItem[]; latest: string | null };

export interface DropClientOptions {
  dispatcher: Dispatcher;
  timeoutMs?: number;
  limits?: Partial<MultipartLimits>;
}

const DEFAULT_LIMITS: MultipartLimits = { maxParts: 200_000, maxPartBytes: 1 << 20, maxTotalBytes: 512 << 20 };

export class DropClient {
  private readonly timeoutMs: number;
  private readonly limits: MultipartLimits;

  constructor(private readonly options: DropClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
  }

  /** Deposits one PDU. @throws DropRequestError */
  async post(dropUrl: string, pdu: Uint8Array): Promise<void> {
    const response = await this.send(dropUrl, 'POST', {
      authorization: 'Client Qabel',
      'content-type': 'application/octet-stream',
    }, pdu);
    await response.body.dump();
    if (response.statusCode !== 200) throw httpError('POST', response.statusCode);
  }

  /** Fetches messages newer than `since` (the whole drop when null). @throws DropRequestError */
  async fetch(dropUrl: string, since: string | null): Promise<FetchResult> {
    const response = await this.send(dropUrl, 'GET', sinceHeader(since));
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
    const items: DropItem[] = [];
    try {
      const parser = new MultipartParser(boundary, this.limits);
      const collect = (parts: { headers: Record<string, string>; body: Uint8Array }[]) => {
        for (const part of parts) items.push({ body: part.body, date: part.headers['date'] ?? null });
      };
      for await (const chunk of response.body) collect(parser.push(chunk as Uint8Array));
      parser.finish();
    } catch (err) {
      response.body.destroy();
      if (err instanceof DropRequestError) throw err;
      throw new DropRequestError(isTimeout(err) ? 'timeout' : 'protocol', `The drop server's answer could not be read: ${(err as Error).message}`);
    }
    return { status: 'messages', items, latest: headerValue(response.headers['x-qabel-latest']) ?? null };
  }

  /** Probes a drop: does it hold anything newer than `since`? @throws DropRequestError */
  async probe(dropUrl: string, since: string | null): Promise<{ hasNew: boolean; latest: string | null }> {
    const response = await this.send(dropUrl, 'HEAD', sinceHeader(since));
    await response.body.dump();
    if (response.statusCode === 204 || response.statusCode === 304) return { hasNew: false, latest: null };
    if (response.statusCode !== 200) throw httpError('HEAD', response.statusCode);
    return { hasNew: true, latest: headerValue(response.headers['x-qabel-latest']) ?? null };
  }

  private async send(url: string, method: 'GET' | 'HEAD' | 'POST', headers: Record<string, string>, body?: Uint8Array) {
    try {
      return await request(url, {
        method,
        dispatcher: this.options.dispatcher,
        headers: { ...GENERIC_HEADERS, ...headers },
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs * 2),
      });
    } catch (err) {
      const timeout = isTimeout(err);
      throw new DropRequestError(timeout ? 'timeout' : 'network', timeout ? `The drop server did not answer in time; ${RETRY_HINT}` : `The drop server cannot be reached (${(err as Error).message}); ${RETRY_HINT}`);
    }
  }
}

function sinceHeader(since: string | null): Record<string, string> {
  return since === null ? {} : { 'x-qabel-new-since': since };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const RETRY_HINT = 'check the server address, the network and the proxy setting, then try again.';

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
