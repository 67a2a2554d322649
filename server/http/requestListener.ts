/** Dispatches HTTP requests and WebSocket upgrades to the drop, push and operational endpoints. */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { renderMetrics, type ServerMetrics } from '../metrics.js';
import { refuseUpgrade, type PushHub } from '../push/pushHub.js';
import type { DropStore } from '../store/dropStore.js';
import { discardRestAndClose } from './limitedBody.js';
import { NO_STORE, sendError } from './responses.js';
import type { Route } from './routes.js';

export interface ListenerDeps {
  route(rawUrl: string): Route;
  handleDrop(req: IncomingMessage, res: ServerResponse, dropId: string): Promise<void>;
  hub: PushHub;
  store: DropStore;
  metrics: ServerMetrics;
  tokenOk(authorization: string | undefined): boolean;
  openConnections(): number;
}

const isRead = (method: string | undefined): boolean => method === 'GET' || method === 'HEAD';

function refuseUnauthorized(req: IncomingMessage, res: ServerResponse, metrics: ServerMetrics): void {
  metrics.rejected.unauthorized++;
  const close = !isRead(req.method);
  sendError(res, 401, 'Unauthorized', { head: req.method === 'HEAD', close, headers: { 'WWW-Authenticate': 'Bearer' } });
  if (close) discardRestAndClose(req);
}

async function sendMetrics(res: ServerResponse, deps: ListenerDeps, head: boolean): Promise<void> {
  const text = renderMetrics(deps.metrics, await deps.store.storedBytes(), deps.openConnections());
  res.writeHead(200, {
    ...NO_STORE,
    'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(head ? undefined : text);
}

/** 200 while the store takes writes, else 503, so a load balancer can route around the instance. */
async function sendHealth(res: ServerResponse, store: DropStore, head: boolean): Promise<void> {
  const healthy = await store.isHealthy();
  const body = healthy ? '{"status":"ok"}' : '{"status":"unavailable"}';
  res.writeHead(healthy ? 200 : 503, { ...NO_STORE, 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
  res.end(head ? undefined : body);
}

export function createRequestListener(deps: ListenerDeps): RequestListener {
  return (req, res) => {
    const route = deps.route(req.url ?? '/');
    const head = req.method === 'HEAD';
    switch (route.kind) {
      case 'drop':
        if (!deps.tokenOk(req.headers.authorization)) return refuseUnauthorized(req, res, deps.metrics);
        void deps.handleDrop(req, res, route.dropId);
        return;
      case 'health':
        if (!isRead(req.method)) return sendError(res, 405, 'Method not allowed', { headers: { Allow: 'GET, HEAD' } });
        void sendHealth(res, deps.store, head);
        return;
      case 'metrics':
        if (!deps.tokenOk(req.headers.authorization)) return refuseUnauthorized(req, res, deps.metrics);
        if (!isRead(req.method)) return sendError(res, 405, 'Method not allowed', { headers: { Allow: 'GET, HEAD' } });
        sendMetrics(res, deps, head).catch(() => sendError(res, 503, 'Storage unavailable', { head }));
        return;
      case 'push':
        return sendError(res, 426, 'WebSocket upgrade required', { head, headers: { Upgrade: 'websocket' } });
      case 'notFound':
        return sendError(res, 404, 'Not found', { head });
    }
  };
}

/** The `upgrade` event handler: only push routes may become WebSockets. */
export function createUpgradeListener(deps: ListenerDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const route = deps.route(req.url ?? '/');
    if (route.kind !== 'push' || req.method !== 'GET') return refuseUpgrade(socket, 404, 'Not Found', 'Not found');
    deps.hub.handleUpgrade(req, socket, head, route.dropId);
  };
}
