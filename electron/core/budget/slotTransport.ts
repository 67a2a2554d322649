/**
 * The budget's requests (PROTOCOL-V1.md 4c), each on a connection of its own that is closed after it,
 * so no request rides on another's connection and none can be told from another by reuse. Through a
 * SOCKS5 proxy every connection also gets a fresh random username and password: Tor isolates streams
 * by SOCKS credentials (`IsolateSOCKSAuth`, on by default), so every request takes its own circuit.
 *
 * Every request of one kind has one size: POSTs always carry `X-Qabel-Cover` (0 or 1) and their
 * anti-spam headers padded to one length by `X-Qabel-Pad` (a ticket, a stamp or neither look alike on
 * the wire), GETs always a 20-digit `X-Qabel-New-Since` (all zeros for "from the start") and `X-Qabel-Page`.
 */
import { type Dispatcher, request } from 'undici';
import { type MultipartPart, boundaryFromContentType, parseMultipart } from '../../../shared/protocol/multipart.js';
import { randomBytes, toBase64Url } from '../../../shared/protocol/encoding.js';
import type { ProxySetting } from '../net/proxyDispatcher.js';
import { createDispatcher } from '../net/proxyDispatcher.js';
import type { DestinationGuard } from '../net/destinationGuard.js';
import { type DropItem, DropRequestError, GENERIC_HEADERS, type FetchOptions, type FetchResult } from '../net/dropClient.js';
import { refusalDetails } from '../net/dropAnswers.js';

/** Digits of a padded cursor: the server's own `X-Qabel-Latest` width on padded answers. */
const CURSOR_DIGITS = 20;
/** A padded answer holds at most 8 parts of about 2.3 KB: anything far larger is not one. */
const MAX_PAGED_BODY = 64 << 10;
const MAX_DISCOVERY_BODY = 16 << 10;
/** A server's unpadded page: 1000 PDUs (the server's page size) come to about 2.3 MB. */
const MAX_PLAIN_BODY = 8 << 20;

/**
 * Bytes on the wire (`name: value\r\n` each) of a POST's anti-spam headers with their padding. The
 * largest they take is a ticket (`X-Drop-Ticket`, 43 characters: 60 bytes; a stamp, `X-Drop-PoW`
 * with 38, takes 52), and `X-Qabel-Pad` itself needs at least 16: 96 leaves room for either.
 */
export const PADDED_EXTRA_BYTES = 96;
const PAD_HEADER = 'x-qabel-pad';
/** `x-qabel-pad: ` and the line end: what the pad header costs besides its value. */
const PAD_OVERHEAD = PAD_HEADER.length + 4;

/** What a server announced at `<servicepath>/.well-known/deaddrop`. */
export interface ServerFeatures {
  page: boolean;
  cover: boolean;
  maxPage: number;
  /** The introductions a day a closed drop there takes (`intro_per_day`), when announced. */
  introPerDay?: number;
}

export const NO_FEATURES: ServerFeatures = { page: false, cover: false, maxPage: 0 };

/** A padded GET's result: the poller's FetchResult (filler already skipped) and whether more waits. */
export type PagedResult = Extract<FetchResult, { status: 'messages' }> & { more: boolean };

export interface SlotTransportOptions {
  proxy(): ProxySetting;
  /** The engine's destination guard (tools that chose their servers themselves pass one that allows the local network). */
  guard: DestinationGuard;
  timeoutMs?: number;
}

export class SlotTransport {
  private readonly timeoutMs: number;

  constructor(private readonly options: SlotTransportOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Posts one PDU (`cover`: to be discarded by the server) with `extra` headers (a ticket or a stamp,
   * padded to one size). A refusal carries the server's words (`answer`) as the direct client's does,
   * so stampedPost.ts stamps, takes the next ticket or waits by the same rules. @throws DropRequestError
   */
  async post(dropUrl: string, pdu: Uint8Array, cover: boolean, extra: Readonly<Record<string, string>> = {}): Promise<void> {
    const headers = { ...paddedExtra(extra), authorization: 'Client Qabel', 'content-type': 'application/octet-stream', 'x-qabel-cover': cover ? '1' : '0' };
    await this.exchange(dropUrl, 'POST', headers, pdu, async (response) => {
      if (response.statusCode === 200) {
        await response.body.dump();
        return;
      }
      const answer = await refusalDetails(response);
      throw new DropRequestError('http', `The drop server refused the POST request (HTTP ${response.statusCode}).${response.statusCode === 429 || response.statusCode >= 500 ? ' The server has trouble; try again later.' : ''}`, response.statusCode, undefined, answer);
    });
  }

  /**
   * One padded GET of `page` parts after `since`: filler parts are dropped without looking at them,
   * real ones go to `options.onItem` (or into `items`). @throws DropRequestError
   */
  async fetchPage(dropUrl: string, since: string | null, page: number, options: FetchOptions = {}): Promise<PagedResult> {
    const headers = { 'x-qabel-page': String(page), 'x-qabel-new-since': paddedCursor(since) };
    return this.exchange(dropUrl, 'GET', headers, undefined, async (response) => {
      const body = await readBounded(response, MAX_PAGED_BODY);
      if (response.statusCode !== 200) throw new DropRequestError('http', `The drop server refused the GET request (HTTP ${response.statusCode}).`, response.statusCode);
      // Filler is skipped by its flag alone, without crypto; a part without the flag is not ours to trust.
      const items = await this.deliverParts(response, body, page, (part) => part.headers['x-qabel-filler'] === '0', options);
      const latest = header(response, 'x-qabel-latest') ?? null;
      return { status: 'messages', items, latest, complete: true, bytes: body.length, skippedParts: 0, more: header(response, 'x-qabel-more') === '1' };
    });
  }

  /**
   * One unpadded GET after `since`, for a server that cannot pad (the user is told): the same request
   * count per slot, but the answer's size says how much arrived. @throws DropRequestError
   */
  async fetchPlain(dropUrl: string, since: string | null, options: FetchOptions = {}): Promise<FetchResult> {
    const headers: Record<string, string> = since === null ? {} : { 'x-qabel-new-since': since };
    return this.exchange(dropUrl, 'GET', headers, undefined, async (response) => {
      const body = await readBounded(response, MAX_PLAIN_BODY);
      if (response.statusCode === 204) return { status: 'empty' };
      if (response.statusCode === 304) return { status: 'unchanged' };
      if (response.statusCode !== 200) throw new DropRequestError('http', `The drop server refused the GET request (HTTP ${response.statusCode}).`, response.statusCode);
      const items = await this.deliverParts(response, body, Number.MAX_SAFE_INTEGER, () => true, options);
      return { status: 'messages', items, latest: header(response, 'x-qabel-latest') ?? null, complete: true, bytes: body.length, skippedParts: 0 };
    });
  }

  /** What `serverUrl` offers; NO_FEATURES when it names none (an older server). @throws DropRequestError */
  async discover(serverUrl: string): Promise<ServerFeatures> {
    return this.exchange(`${serverUrl.replace(/\/+$/, '')}/.well-known/deaddrop`, 'GET', {}, undefined, async (response) => {
      const body = await readBounded(response, MAX_DISCOVERY_BODY);
      if (response.statusCode === 404) return NO_FEATURES;
      if (response.statusCode !== 200) throw new DropRequestError('http', `The drop server refused the discovery request (HTTP ${response.statusCode}).`, response.statusCode);
      return parseDiscovery(new TextDecoder().decode(body));
    });
  }

  /** Hands the parts of `body` that `keep` accepts to `options.onItem` (or returns them). */
  private async deliverParts(response: Dispatcher.ResponseData, body: Uint8Array, maxParts: number, keep: (part: MultipartPart) => boolean, options: FetchOptions): Promise<DropItem[]> {
    const boundary = boundaryFromContentType(header(response, 'content-type'));
    if (!boundary) throw new DropRequestError('protocol', 'The drop server answered without a multipart boundary.');
    let parts: MultipartPart[];
    try {
      parts = parseMultipart(body, boundary, { maxParts, maxPartBytes: 4096, maxTotalBytes: body.length, oversizedParts: 'skip' });
    } catch (err) {
      throw new DropRequestError('protocol', `The drop server's answer could not be read: ${(err as Error).message}`);
    }
    const items: DropItem[] = [];
    for (const part of parts) {
      if (!keep(part)) continue;
      const item = { body: part.body, date: part.headers['date'] ?? null };
      if (options.onItem) await options.onItem(item);
      else items.push(item);
    }
    return items;
  }

  private async exchange<T>(url: string, method: 'GET' | 'POST', headers: Record<string, string>, body: Uint8Array | undefined, consume: (response: Dispatcher.ResponseData) => Promise<T>): Promise<T> {
    const guard = this.options.guard;
    try {
      guard.checkUrl(url);
    } catch (err) {
      throw new DropRequestError('refused', (err as Error).message);
    }
    const dispatcher = oneConnection(this.options.proxy(), guard);
    try {
      let response: Dispatcher.ResponseData;
      try {
        response = await request(url, {
          method,
          dispatcher,
          headers: { ...GENERIC_HEADERS, connection: 'close', ...headers },
          body,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
          signal: AbortSignal.timeout(this.timeoutMs * 2),
        });
      } catch (err) {
        throw new DropRequestError('network', `The drop server cannot be reached (${(err as Error).message}).`);
      }
      return await consume(response);
    } finally {
      await dispatcher.destroy().catch(() => undefined);
    }
  }
}

/** A dispatcher good for one connection; through SOCKS5 with credentials of its own (a circuit of its own). */
function oneConnection(proxy: ProxySetting, guard: DestinationGuard): Dispatcher {
  const isolated = proxy.kind === 'socks5' ? { kind: 'socks5' as const, url: isolatedSocksUrl(proxy.url) } : proxy;
  return createDispatcher(isolated, guard, { connectionsPerOrigin: 1 });
}

/**
 * The SOCKS URL with random credentials, unless the user gave credentials of their own (a proxy that
 * checks them): those are kept, and isolation is then up to that proxy.
 */
export function isolatedSocksUrl(raw: string): string {
  const url = new URL(raw);
  if (url.username || url.password) return raw;
  url.username = toBase64Url(randomBytes(12));
  url.password = toBase64Url(randomBytes(12));
  return url.toString();
}

/**
 * `extra` (lower-cased) and `X-Qabel-Pad`, together PADDED_EXTRA_BYTES on the wire.
 * @throws DropRequestError 'refused' for headers too large to pad (no anti-spam header is): sent
 * unpadded they would mark the slot
 */
export function paddedExtra(extra: Readonly<Record<string, string>>): Record<string, string> {
  const headers: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(extra)) {
    const lower = name.toLowerCase();
    if (lower === PAD_HEADER || !/^[\x21-\x7e]*$/.test(value)) throw new DropRequestError('refused', `A budget POST cannot carry the header ${name}.`);
    headers[lower] = value;
    bytes += lower.length + value.length + 4;
  }
  const padding = PADDED_EXTRA_BYTES - bytes - PAD_OVERHEAD;
  if (padding < 1) throw new DropRequestError('refused', 'A budget POST cannot carry headers this large.');
  headers[PAD_HEADER] = '0'.repeat(padding);
  return headers;
}

function paddedCursor(since: string | null): string {
  const digits = since !== null && /^\d{1,20}$/.test(since) ? since : '0';
  return digits.padStart(CURSOR_DIGITS, '0');
}

function header(response: Dispatcher.ResponseData, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBounded(response: Dispatcher.ResponseData, max: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const data of response.body) {
    const chunk = data as Uint8Array;
    total += chunk.length;
    if (total > max) {
      response.body.destroy();
      throw new DropRequestError('protocol', 'The drop server sent a far larger answer than asked for.');
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** The features of a discovery document; anything unreadable announces none. */
export function parseDiscovery(text: string): ServerFeatures {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return NO_FEATURES;
  }
  if (typeof doc !== 'object' || doc === null) return NO_FEATURES;
  const { features, max_page: maxPage, intro_per_day: intro } = doc as { features?: unknown; max_page?: unknown; intro_per_day?: unknown };
  const list = Array.isArray(features) ? features.filter((f): f is string => typeof f === 'string') : [];
  const pageLimit = typeof maxPage === 'number' && Number.isInteger(maxPage) && maxPage >= 1 ? Math.min(maxPage, 64) : 0;
  const page = list.includes('page') && pageLimit > 0;
  const introPerDay = list.includes('tickets') && typeof intro === 'number' && Number.isInteger(intro) && intro >= 0 && intro <= 1_000_000 ? intro : undefined;
  return { page, cover: list.includes('cover'), maxPage: page ? pageLimit : 0, ...(introPerDay !== undefined ? { introPerDay } : {}) };
}
