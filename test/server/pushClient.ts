/** Test helper: a WebSocket subscriber that queues push frames and waits for them with a bound. */
import WebSocket from 'ws';

export interface PushFrame {
  latest: string;
  lastModified: string;
  body: Buffer;
}

export function parsePushFrame(data: Buffer): PushFrame {
  const end = data.indexOf('\n\n');
  if (end < 0) throw new Error('push frame without header end');
  const headers = Object.fromEntries(
    data
      .subarray(0, end)
      .toString('latin1')
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
  );
  return { latest: headers['X-Qabel-Latest']!, lastModified: headers['Last-Modified']!, body: data.subarray(end + 2) };
}

export interface Subscriber {
  socket: WebSocket;
  /** Headers of the 101 response. */
  upgradeHeaders: Record<string, string | string[] | undefined>;
  /** The next frame, or an error after `timeoutMs`. */
  next(timeoutMs?: number): Promise<PushFrame>;
  close(): Promise<void>;
}

/** Opens a push socket on `dropUrl` (from `localAddress` when given: another client of the same machine). */
export async function subscribe(dropUrl: string, headers: Record<string, string> = {}, localAddress?: string): Promise<Subscriber> {
  const socket = new WebSocket(dropUrl.replace(/^http/, 'ws') + '/ws', { headers, ...(localAddress ? { localAddress } : {}) });
  const frames: PushFrame[] = [];
  const waiters: ((frame: PushFrame) => void)[] = [];
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) throw new Error('push frames must be binary');
    const frame = parsePushFrame(data);
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  let upgradeHeaders: Record<string, string | string[] | undefined> = {};
  socket.once('upgrade', (res) => (upgradeHeaders = res.headers));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
  });
  return {
    socket,
    upgradeHeaders,
    next(timeoutMs = 5000) {
      const queued = frames.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const waiter = (frame: PushFrame) => {
          clearTimeout(timer);
          resolve(frame);
        };
        // A waiter that timed out leaves the queue, so the next frame goes to the next caller, not to it.
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error('no push frame in time'));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    close() {
      return new Promise((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close();
      });
    },
  };
}
