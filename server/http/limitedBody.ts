/** Reads a request body up to a byte limit, refusing early instead of buffering hostile uploads. */
import type { IncomingMessage } from 'node:http';

export type BodyResult = { kind: 'ok'; body: Buffer } | { kind: 'tooLarge' } | { kind: 'aborted' };

/** After refusing, this much of the rest is read and thrown away so the refusal reaches the client. */
const DISCARD_BYTES = 64 * 1024;
const DISCARD_MS = 1000;

/**
 * Resolves with the whole body when it is at most `limit` bytes; with `tooLarge` as soon as the
 * declared Content-Length or the bytes received so far exceed it.
 */
export function readLimitedBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve({ kind: 'tooLarge' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        resolve({ kind: 'tooLarge' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ kind: 'ok', body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    };
    const onAbort = (): void => {
      cleanup();
      resolve({ kind: 'aborted' });
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}

/**
 * After a refusal with `Connection: close`: swallow a bounded amount of the unread body, then drop
 * the connection. Closing at once with unread bytes pending would make the kernel reset the
 * connection, and many clients would then never see the 413.
 */
export function discardRestAndClose(req: IncomingMessage): void {
  let discarded = 0;
  const socket = req.socket;
  // The response already went out and the connection was let go (the whole body had arrived).
  if (!socket) return;
  const timer = setTimeout(() => socket.destroy(), DISCARD_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DISCARD_BYTES) socket.destroy();
  });
  req.on('end', () => clearTimeout(timer));
  req.resume();
}
