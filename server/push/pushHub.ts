/**
 * WebSocket push on `<servicepath>/<dropId>/ws` (PROTOCOL.md section 2): for each message committed
 * after the socket opened, one binary frame `X-Qabel-Latest: <v>\nLast-Modified: <date>\n\n<raw>`.
 * Push is only a hint: a slow or dead subscriber is dropped, never waited for.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { createServerLogger } from '../serverLog.js';
import { isValidDropId } from '../../shared/protocol/dropId.js';
import { formatHttpDate } from '../../shared/protocol/httpDate.js';
import type { ServerMetrics } from '../metrics.js';
import type { AppendNotice, DropStore, StoredMessage } from '../store/dropStore.js';

const log = createServerLogger('server/push');
/** A subscriber that has this much unsent data is too slow to be worth keeping. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const PING_INTERVAL_MS = 30_000;

export interface PushHubDeps {
  store: DropStore;
  metrics: ServerMetrics;
  maxSubscribers: number;
  /** Subscribers of one client (see `clientAddress.ts`) beyond this are refused with 429. */
  maxSubscribersPerClient: number;
  /** Access-token check of the upgrade request. */
  authorized(authorization: string | undefined): boolean;
}

export interface PushHub {
  /** Takes over an HTTP upgrade request for `dropId` (validated here) from `client` (its per-client key). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, dropId: string, client: string): void;
  close(): void;
}

/** Writes a minimal HTTP error response on a raw socket and closes it. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, error: string): void {
  const body = JSON.stringify({ error });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n` +
      `Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export function pushFrame(message: StoredMessage): Buffer {
  const head = `X-Qabel-Latest: ${message.position}\nLast-Modified: ${formatHttpDate(new Date(message.receivedAtMs))}\n\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), message.body]);
}

export function createPushHub(deps: PushHubDeps): PushHub {
  const { store, metrics } = deps;
  // Clients only listen; a tiny payload limit keeps hostile client frames from costing memory.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, clientTracking: false, perMessageDeflate: false });
  wss.on('headers', (headers: string[]) => headers.push('Cache-Control: no-store'));
  const subscribers = new Map<string, Set<WebSocket>>();
  const alive = new WeakSet<WebSocket>();
  const perClient = new Map<string, number>();
  let count = 0;
  let closed = false;

  const release = (client: string): void => {
    count--;
    const left = (perClient.get(client) ?? 1) - 1;
    if (left > 0) perClient.set(client, left);
    else perClient.delete(client);
    metrics.websocketConnections = count;
  };
  const remove = (dropId: string, ws: WebSocket, client: string): void => {
    const set = subscribers.get(dropId);
    if (!set?.delete(ws)) return;
    if (set.size === 0) subscribers.delete(dropId);
    release(client);
  };

  const deliver = async (notice: AppendNotice): Promise<void> => {
    if (!subscribers.has(notice.dropId)) return;
    const message = notice.message ?? (await store.messageAt(notice.dropId, notice.position));
    const set = subscribers.get(notice.dropId);
    if (!message || !set) return;
    const frame = pushFrame(message);
    for (const ws of set) {
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        ws.terminate();
        continue;
      }
      ws.send(frame, { binary: true });
      metrics.messagesDelivered++;
    }
  };
  const unsubscribe = store.onAppended((notice) => {
    deliver(notice).catch((error: Error) => log.warn('push delivery failed', { error: error.message }));
  });

  const pinger = setInterval(() => {
    for (const set of subscribers.values()) {
      for (const ws of set) {
        if (!alive.has(ws)) ws.terminate();
        else {
          alive.delete(ws);
          ws.ping();
        }
      }
    }
  }, PING_INTERVAL_MS);
  pinger.unref();

  return {
    handleUpgrade(req, socket, head, dropId, client) {
      if (!deps.authorized(req.headers.authorization)) return refuseUpgrade(socket, 401, 'Unauthorized', 'Unauthorized');
      if (!isValidDropId(dropId)) return refuseUpgrade(socket, 400, 'Bad Request', 'Invalid drop id');
      if (count >= deps.maxSubscribers) {
        metrics.connectionsRefused++;
        return refuseUpgrade(socket, 503, 'Service Unavailable', 'Too many subscribers');
      }
      if ((perClient.get(client) ?? 0) >= deps.maxSubscribersPerClient) {
        metrics.connectionsRefused++;
        return refuseUpgrade(socket, 429, 'Too Many Requests', 'Too many subscriptions from this address');
      }
      // Counted before the handshake completes, so a burst of upgrades cannot slip past the caps.
      count++;
      perClient.set(client, (perClient.get(client) ?? 0) + 1);
      let settled = false;
      const handshakeFailed = (): void => {
        if (settled) return;
        settled = true;
        release(client);
      };
      socket.once('close', handshakeFailed);
      wss.handleUpgrade(req, socket, head, (ws) => {
        settled = true;
        socket.off('close', handshakeFailed);
        metrics.websocketConnections = count;
        let set = subscribers.get(dropId);
        if (!set) subscribers.set(dropId, (set = new Set()));
        set.add(ws);
        alive.add(ws);
        ws.on('pong', () => alive.add(ws));
        ws.on('close', () => remove(dropId, ws, client));
        ws.on('error', () => ws.terminate());
      });
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(pinger);
      unsubscribe();
      for (const set of subscribers.values()) for (const ws of set) ws.terminate();
      subscribers.clear();
      perClient.clear();
      count = 0;
      metrics.websocketConnections = 0;
      wss.close();
    },
  };
}
