/** GET, HEAD and POST on `<servicepath>/<dropId>` (PROTOCOL.md section 2), point by point. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServerLogger } from '../serverLog.js';
import { isValidDropId } from '../../shared/protocol/dropId.js';
import { formatHttpDate } from '../../shared/protocol/httpDate.js';
import {
  chooseBoundary,
  encodeClose,
  encodePartHead,
  multipartContentType,
  PART_TAIL,
} from '../../shared/protocol/multipart.js';
import type { Clock } from '../config/options.js';
import type { ServerMetrics } from '../metrics.js';
import {
  DropFullError,
  IntroQuotaError,
  NonceSpentError,
  PolicyChangedError,
  type DropQuery,
  type DropStore,
  type MessageStamp,
  type StoredMessage,
} from '../store/dropStore.js';
import type { Decide, Decision } from '../spam/admission.js';
import type { PolicyBook } from '../spam/policyBook.js';
import type { PressureGauge } from '../spam/pressure.js';
import { SPAM_ERRORS } from '../../shared/spam/wire.js';
import { nextDayRetryAfter } from '../spam/retryAfter.js';
import { CLIENT_QABEL } from './accessTokens.js';
import { discardRestAndClose, readLimitedBody } from './limitedBody.js';
import { NO_STORE, sendEmpty, sendError } from './responses.js';
import { isCover, MAX_PAGE, paddedPage, requestedPage } from './paddedPage.js';
import { parseSince } from './sinceHeader.js';

const log = createServerLogger('server/drop');

const ALLOW = 'GET, HEAD, POST';

export interface DropHandlerDeps {
  store: DropStore;
  clock: Clock;
  metrics: ServerMetrics;
  maxMessageBytes: number;
  /** Most messages one GET returns (see `DropServerOptions.pageSize`). */
  pageSize: number;
  ttlMs: number;
  /** True when the server runs with access tokens (then POST needs no `Client Qabel`). */
  tokensRequired: boolean;
  /** Called after each successful POST (quota enforcement). */
  afterAppend(): void;
  /** Tickets, stamps and pressure (server/spam). */
  spam: { decide: Decide; policies: PolicyBook; pressure: PressureGauge };
}

/** Attempts of one POST when other instances keep changing the drop's policy under it. */
const POLICY_ATTEMPTS = 3;

/** Polls mostly ask about the same few seconds: remember the last formatted one. */
let memoSecond = NaN;
let memoDate = '';
function httpDateOf(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== memoSecond) {
    memoDate = formatHttpDate(new Date(second * 1000));
    memoSecond = second;
  }
  return memoDate;
}

function latestHeaders(newest: MessageStamp): Record<string, string> {
  return { 'X-Qabel-Latest': String(newest.position), 'Last-Modified': httpDateOf(newest.receivedAtMs) };
}

function sendMultipart(res: ServerResponse, messages: StoredMessage[]): void {
  const boundary = chooseBoundary(messages.map((m) => m.body));
  const pieces: Uint8Array[] = [];
  for (const m of messages) pieces.push(encodePartHead(boundary, new Date(m.receivedAtMs)), m.body, PART_TAIL);
  pieces.push(encodeClose(boundary));
  const body = Buffer.concat(pieces);
  res.writeHead(200, {
    ...NO_STORE,
    ...latestHeaders(messages[messages.length - 1]!),
    'Content-Type': multipartContentType(boundary),
    'Content-Length': String(body.length),
  });
  res.end(body);
}

const secondOf = (m: MessageStamp): number => Math.floor(m.receivedAtMs / 1000);

/**
 * One response's messages. A time-based since-header (`If-Modified-Since`) comes back with the
 * `Last-Modified` second of the page's last message and asks again from the start of that second,
 * so a page must end at the end of a second (else the rest of that second is never served), and
 * that second must be later than the one asked for (else the client asks for the same page again
 * and again). The extra messages are bounded by the per-drop message cap.
 */
async function listPage(store: DropStore, query: DropQuery, pageSize: number): Promise<StoredMessage[]> {
  const page = await store.list(query, pageSize);
  if (query.since.kind !== 'receivedFrom' || page.length < pageSize) return page;
  const { minReceivedAtMs } = query.since;
  const askedSecond = Math.floor(minReceivedAtMs / 1000);
  let lastSecond = secondOf(page[page.length - 1]!);
  let after = page[page.length - 1]!.position;
  for (;;) {
    const more = await store.list({ ...query, since: { kind: 'afterPosition', position: after } }, pageSize);
    for (const m of more) {
      if (m.receivedAtMs < minReceivedAtMs) continue;
      const second = secondOf(m);
      if (second !== lastSecond) {
        if (lastSecond > askedSecond) return page;
        lastSecond = second;
      }
      page.push(m);
    }
    if (more.length < pageSize) return page;
    after = more[more.length - 1]!.position;
  }
}

/** Returns the handler for one request on a drop route (the drop ID is not validated yet). */
export function createDropRequestHandler(deps: DropHandlerDeps) {
  const { store, clock, metrics } = deps;

  const queryFor = (req: IncomingMessage, dropId: string): DropQuery => ({
    dropId,
    since: parseSince(req.headers['x-qabel-new-since'], req.headers['if-modified-since']),
    notBeforeMs: clock.now() - deps.ttlMs,
  });

  async function read(req: IncomingMessage, res: ServerResponse, dropId: string, head: boolean): Promise<void> {
    if (!isValidDropId(dropId)) return sendError(res, 400, 'Invalid drop id', { head });
    const query = queryFor(req, dropId);
    const page = requestedPage(req.headers['x-qabel-page']);
    if (page === 'bad') return sendError(res, 400, `X-Qabel-Page must be a number from 1 to ${MAX_PAGE}`, { head });
    if (page !== null && !head) return readPadded(res, query, page);
    const emptyStatus = query.since.kind === 'all' ? 204 : 304;
    if (head) {
      const newest = await store.newest(query);
      return newest ? sendEmpty(res, 200, latestHeaders(newest)) : sendEmpty(res, emptyStatus);
    }
    const messages = await listPage(store, query, deps.pageSize);
    if (messages.length === 0) return sendEmpty(res, emptyStatus);
    metrics.messagesDelivered += messages.length;
    sendMultipart(res, messages);
  }

  /** `X-Qabel-Page: n`: exactly n parts, real ones first (paddedPage.ts). */
  async function readPadded(res: ServerResponse, query: DropQuery, n: number): Promise<void> {
    const listed = await store.list(query, n + 1);
    const messages = listed.slice(0, n);
    const cursor = query.since.kind === 'afterPosition' ? query.since.position : 0;
    const { headers, body } = paddedPage(messages, n, cursor, listed.length > n, new Date(clock.now()));
    metrics.messagesDelivered += messages.length;
    res.writeHead(200, { ...NO_STORE, ...headers, 'Content-Length': String(body.length) });
    res.end(body);
  }

  async function post(req: IncomingMessage, res: ServerResponse, dropId: string): Promise<void> {
    const refuse = (status: number, message: string): void => {
      if (status === 413) metrics.rejected.tooLarge++;
      else metrics.rejected.badRequest++;
      // The body is left unread: close the connection rather than parse what follows as a request.
      sendError(res, status, message, { close: true });
      discardRestAndClose(req);
    };
    if (!isValidDropId(dropId)) return refuse(400, 'Invalid drop id');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > deps.maxMessageBytes) return refuse(413, 'Message too large');
    if (!deps.tokensRequired && req.headers.authorization !== CLIENT_QABEL) return refuse(400, 'Bad authorization');
    const result = await readLimitedBody(req, deps.maxMessageBytes);
    if (result.kind === 'aborted') return;
    if (result.kind === 'tooLarge') return refuse(413, 'Message too large');
    if (result.body.length === 0) {
      metrics.rejected.badRequest++;
      return sendError(res, 400, 'No message provided');
    }
    if (isCover(req.headers['x-qabel-cover'])) {
      // Answered like a stored message, so nobody on the way can tell cover from mail.
      metrics.coverDiscarded++;
      return sendEmpty(res, 200);
    }
    const { spam } = deps;
    for (let attempt = 1; ; attempt++) {
      const now = clock.now();
      const decision = await spam.decide(req.headers, dropId, result.body, now);
      if (decision.kind === 'refuse') {
        metrics.spam.refused[decision.reason]++;
        return sendError(res, decision.status, decision.error, { headers: decision.headers });
      }
      try {
        await store.append(dropId, result.body, now, decision.admission);
      } catch (error) {
        if (error instanceof PolicyChangedError && attempt < POLICY_ATTEMPTS) {
          spam.policies.forget(dropId);
          continue;
        }
        return refuseStored(res, error, decision, now);
      }
      countAccepted(decision, result.body.length, now);
      break;
    }
    metrics.messagesReceived++;
    sendEmpty(res, 200);
    deps.afterAppend();
  }

  function countAccepted(decision: Decision & { kind: 'admit' }, bytes: number, now: number): void {
    metrics.spam.accepted[decision.via]++;
    if (!decision.admission.ticketed) deps.spam.pressure.accepted(bytes, now);
  }

  /** The answer to a POST the store refused. @throws the error when it is not a refusal */
  function refuseStored(res: ServerResponse, error: unknown, decision: Decision & { kind: 'admit' }, now: number): void {
    if (error instanceof DropFullError) {
      metrics.rejected.dropFull++;
      return sendError(res, 507, 'Drop is full');
    }
    if (error instanceof NonceSpentError && decision.via === 'ticket') {
      metrics.spam.refused.ticketSpent++;
      return sendError(res, 409, SPAM_ERRORS.ticketSpent);
    }
    if (error instanceof NonceSpentError) {
      // A stamp seen before: the sender must compute a fresh one.
      metrics.spam.refused.powRequired++;
      return sendError(res, 429, SPAM_ERRORS.powRequired);
    }
    if (error instanceof IntroQuotaError) {
      metrics.spam.refused.introQuota++;
      return sendError(res, 429, SPAM_ERRORS.introQuota, { headers: { 'Retry-After': nextDayRetryAfter(now) } });
    }
    throw error;
  }

  return async function handleDrop(req: IncomingMessage, res: ServerResponse, dropId: string): Promise<void> {
    try {
      switch (req.method) {
        case 'GET':
          return await read(req, res, dropId, false);
        case 'HEAD':
          return await read(req, res, dropId, true);
        case 'POST':
          return await post(req, res, dropId);
        default:
          // Whatever body such a request carries is not worth reading.
          sendError(res, 405, 'Method not allowed', { close: true, headers: { Allow: ALLOW } });
          return discardRestAndClose(req);
      }
    } catch (error) {
      log.error('request failed', { method: req.method, error: (error as Error).message });
      if (!res.headersSent) sendError(res, 503, 'Storage unavailable', { head: req.method === 'HEAD' });
      else res.destroy();
    }
  };
}
