/** Dispatches HTTP requests and WebSocket upgrades to the drop, push and operational endpoints. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { refuseUpgrade, type PushHub } from '../push/pushHub.js';
import type { DropStore } from '../store/dropStore.js';
import { requestClient } from './clientAddress.js';
import { discardRestAndClose } from './limitedBody.js';
import { NO_STORE, sendError } from './responses.js';
import type { Route } from './routes.js';

export interface ListenerDeps {
  route(rawUrl: string): Route;
  handleDrop(req: IncomingMessage, res: ServerResponse, dropId: string): Promise<void>;
  handleBlob(req: IncomingMessage, res: ServerResponse, blobId: string | null): Promise<void>;
  handlePolicy(req: IncomingMessage, res: ServerResponse, dropId: string): Promise<void>;
  hub: PushHub;
  store: DropStore;
  /** Access-token check of drop and push requests (always true on an open server). */
  tokenOk(authorization: string | undefined): boolean;
  /** Whether `/metrics` is served here to a request with this Authorization header: yes, no (401), or not at all (404). */
  metricsAccess(authorization: string | undefined): 'allowed' | 'unauthorized' | 'hidden';
  metricsText(): Promise<string>;
  countUnauthorized(): void;
  trustedProxies: ReadonlySet<string>;
  /** What `GET <servicepath>` answers (serviceDescription.ts). */
  serviceDescription: string;
  /** What `GET <servicepath>/.well-known/deaddrop` answers (paddedPage.ts). */
  discoveryDocument: string;
}

const isRead = (method: string | undefined): boolean => method === 'GET' || method === 'HEAD';

function refuseUnauthorized(req: IncomingMessage, res: ServerResponse, deps: ListenerDeps): void {
  deps.countUnauthorized();
  const close = !isRead(req.method);
  sendError(res, 401, 'Unauthorized', { head: req.method === 'HEAD', close, headers: { 'WWW-Authenticate': 'Bearer' } });
  if (close) discardRestAndClose(req);
}

function sendJson(res: ServerResponse, status: number, body: string, head: boolean): void {
  res.writeHead(status, { ...NO_STORE, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(head ? undefined : body);
}

async function sendMetrics(res: ServerResponse, deps: ListenerDeps, head: boolean): Promise<void> {
  const text = await deps.metricsText();
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
  sendJson(res, healthy ? 200 : 503, healthy ? '{"status":"ok"}' : '{"status":"unavailable","reason":"storage is not taking writes"}', head);
}

const readOnly = (res: ServerResponse): void => sendError(res, 405, 'Method not allowed', { headers: { Allow: 'GET, HEAD' } });

/**
 * Serves one request; `pass()` is called for a path that is not ours (a server of its own answers
 * 404 there, a handler mounted in another application hands it on).
 */
export function createRequestHandler(deps: ListenerDeps): (req: IncomingMessage, res: ServerResponse, pass: () => void, url?: string) => void {
  return (req, res, pass, url = req.url ?? '/') => {
    const route = deps.route(url);
    const head = req.method === 'HEAD';
    switch (route.kind) {
      case 'drop':
        if (!deps.tokenOk(req.headers.authorization)) return refuseUnauthorized(req, res, deps);
        void deps.handleDrop(req, res, route.dropId);
        return;
      case 'policy':
        if (!deps.tokenOk(req.headers.authorization)) return refuseUnauthorized(req, res, deps);
        void deps.handlePolicy(req, res, route.dropId);
        return;
      case 'blob':
        if (!deps.tokenOk(req.headers.authorization)) return refuseUnauthorized(req, res, deps);
        void deps.handleBlob(req, res, route.blobId);
        return;
      case 'discovery':
        if (!isRead(req.method)) return readOnly(res);
        return sendJson(res, 200, deps.discoveryDocument, head);
      case 'info':
        if (!isRead(req.method)) return readOnly(res);
        return sendJson(res, 200, deps.serviceDescription, head);
      case 'health':
        if (!isRead(req.method)) return readOnly(res);
        sendHealth(res, deps.store, head).catch(() => sendJson(res, 503, '{"status":"unavailable"}', head));
        return;
      case 'metrics': {
        const access = deps.metricsAccess(req.headers.authorization);
        if (access === 'hidden') return pass();
        if (access === 'unauthorized') return refuseUnauthorized(req, res, deps);
        if (!isRead(req.method)) return readOnly(res);
        sendMetrics(res, deps, head).catch(() => sendError(res, 503, 'Storage unavailable', { head }));
        return;
      }
      case 'push':
        return sendError(res, 426, 'WebSocket upgrade required', { head, headers: { Upgrade: 'websocket' } });
      case 'notFound':
        return pass();
    }
  };
}

/** Takes over an upgrade on a push path and returns true; returns false (socket untouched) otherwise. */
export function createUpgradeHandler(deps: ListenerDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean {
  return (req, socket, head) => {
    const route = deps.route(req.url ?? '/');
    if (route.kind !== 'push') return false;
    socket.on('error', () => socket.destroy());
    if (req.method !== 'GET') {
      refuseUpgrade(socket, 405, 'Method Not Allowed', 'Method not allowed');
      return true;
    }
    const client = requestClient(req.socket.remoteAddress, req.headers['x-forwarded-for'], deps.trustedProxies);
    deps.hub.handleUpgrade(req, socket, head, route.dropId, client);
    return true;
  };
}
