/**
 * Optional encrypted blobs (`--blobs`): `POST <servicepath>/blobs` stores the body and answers 201
 * with `Location: <servicepath>/blobs/<id>`; `GET`/`HEAD` on that location serve it, whole or by one
 * byte range (`Range: bytes=a-b`, `a-`, `-n`), so an interrupted download resumes. Blobs expire with
 * the message TTL and count against the quota: an upload is refused with 507 while messages, stored
 * blobs and uploads in progress together would exceed it (blobs never evict messages, nor the other
 * way round). The same hostile-client rules as drops: a declared size over the limit is refused
 * before any byte is read, an upload growing past it is cut off, and nothing is stored on error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../config/options.js';
import type { ServerMetrics } from '../metrics.js';
import { createServerLogger } from '../serverLog.js';
import { BlobTooLargeError, type BlobStore, isValidBlobId, newBlobId } from '../store/blobStore.js';
import { CLIENT_QABEL } from './accessTokens.js';
import { discardRestAndClose } from './limitedBody.js';
import { NO_STORE, sendError } from './responses.js';

const log = createServerLogger('server/blobs');

export interface BlobHandlerDeps {
  /** Null when the server stores no blobs. */
  blobs: BlobStore | null;
  clock: Clock;
  basePath: string;
  maxBlobBytes: number;
  ttlMs: number;
  quotaBytes: number;
  /** Bytes of stored messages (they share the quota). */
  messageBytes(): Promise<number>;
  tokensRequired: boolean;
  metrics: ServerMetrics;
}

/** A byte range of a blob of `size` bytes: inclusive bounds, 'unsatisfiable', or null for "send it whole". */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const match = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(header.trim());
  // Several ranges, other units or nonsense: RFC 9110 lets a server ignore the header.
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

export function createBlobRequestHandler(deps: BlobHandlerDeps) {
  /** Bytes promised to uploads still arriving, so two concurrent uploads cannot both take the last room. */
  let reserved = 0;

  async function upload(req: IncomingMessage, res: ServerResponse, blobs: BlobStore): Promise<void> {
    const refuse = (status: number, message: string): void => {
      const counts = deps.metrics.blobsRejected;
      if (status === 413) counts.tooLarge++;
      else if (status === 507) counts.full++;
      else counts.badRequest++;
      sendError(res, status, message, { close: true });
      discardRestAndClose(req);
    };
    if (!deps.tokensRequired && req.headers.authorization !== CLIENT_QABEL) return refuse(400, 'Bad authorization');
    const declaredHeader = req.headers['content-length'];
    const declared = declaredHeader === undefined ? null : Number(declaredHeader);
    if (declared !== null && declared > deps.maxBlobBytes) return refuse(413, 'Blob too large');
    if (declared === 0) return refuse(400, 'No blob provided');
    const claim = declared ?? deps.maxBlobBytes;
    const used = (await deps.messageBytes()) + (await blobs.storedBytes()) + reserved;
    if (used + claim > deps.quotaBytes) return refuse(507, 'Server storage is full');
    reserved += claim;
    const id = newBlobId();
    let size: number;
    try {
      size = await blobs.put(id, req, Math.min(deps.maxBlobBytes, claim), deps.clock.now());
    } catch (error) {
      if (error instanceof BlobTooLargeError) return refuse(413, 'Blob too large');
      // The client went away mid-upload (nothing was stored), or the store failed.
      if (req.destroyed || req.readableAborted) return;
      log.error('blob upload failed', { error: (error as Error).message });
      return sendError(res, 503, 'Storage unavailable', { close: true });
    } finally {
      reserved -= claim;
    }
    if (size === 0) {
      deps.metrics.blobsRejected.badRequest++;
      return sendError(res, 400, 'No blob provided');
    }
    deps.metrics.blobsStored++;
    const body = JSON.stringify({ id, size });
    res.writeHead(201, {
      ...NO_STORE,
      Location: `${deps.basePath}/blobs/${id}`,
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  }

  async function download(req: IncomingMessage, res: ServerResponse, blobs: BlobStore, id: string, head: boolean): Promise<void> {
    if (!isValidBlobId(id)) return sendError(res, 400, 'Invalid blob id', { head });
    const blob = await blobs.open(id);
    if (!blob || blob.createdAtMs < deps.clock.now() - deps.ttlMs) {
      await blob?.close();
      return sendError(res, 404, 'No such blob', { head });
    }
    try {
      const range = parseRange(req.headers.range, blob.size);
      const common = { ...NO_STORE, 'Accept-Ranges': 'bytes', ETag: `"${id}"`, 'Content-Type': 'application/octet-stream' };
      if (range === 'unsatisfiable') {
        return sendError(res, 416, 'Range not satisfiable', { head, headers: { ...common, 'Content-Range': `bytes */${blob.size}` } });
      }
      const { start, end } = range ?? { start: 0, end: blob.size - 1 };
      res.writeHead(range ? 206 : 200, {
        ...common,
        'Content-Length': String(end - start + 1),
        ...(range ? { 'Content-Range': `bytes ${start}-${end}/${blob.size}` } : {}),
      });
      if (head) return void res.end();
      let sent = 0;
      for await (const chunk of blob.read(start, end)) {
        if (res.destroyed) return;
        sent += chunk.length;
        // Respect back-pressure: a slow reader holds one chunk in memory, not the whole blob.
        if (!res.write(chunk)) await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
      // Shorter than announced (deleted meanwhile): cut the connection so the client sees it broke off.
      if (sent < end - start + 1) return void res.destroy();
      res.end();
    } finally {
      await blob.close();
    }
  }

  /** Serves one request on `<servicepath>/blobs` (`id` null) or `<servicepath>/blobs/<id>`. */
  return async (req: IncomingMessage, res: ServerResponse, id: string | null): Promise<void> => {
    const blobs = deps.blobs;
    const head = req.method === 'HEAD';
    if (!blobs) {
      if (req.method !== 'GET' && req.method !== 'HEAD') discardRestAndClose(req);
      return sendError(res, 404, 'This server stores no blobs', { head, close: !head && req.method !== 'GET' });
    }
    try {
      if (id === null) {
        if (req.method !== 'POST') return sendError(res, 405, 'Method not allowed', { head, headers: { Allow: 'POST' } });
        return await upload(req, res, blobs);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return sendError(res, 405, 'Method not allowed', { headers: { Allow: 'GET, HEAD' } });
      }
      return await download(req, res, blobs, id, head);
    } catch (error) {
      log.error('blob request failed', { error: (error as Error).message });
      if (!res.headersSent) sendError(res, 503, 'Storage unavailable', { head });
      else res.destroy();
    }
  };
}
