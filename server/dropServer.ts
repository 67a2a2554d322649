/** One drop server instance with listeners of its own: the drop service, its HTTP server, and the optional metrics listener. */
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { resolveOptions, type DropServerOptions } from './config/options.js';
import { createDropService, type DropService } from './dropService.js';
import { guardConnections } from './http/connectionGuard.js';
import { refuseUpgrade } from './push/pushHub.js';
import { NO_STORE, sendError } from './http/responses.js';
import type { SweepResult } from './sweeper.js';

/** Requests still running this long after `close()` are cut off. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningDropServer {
  /** `http://host:port/basepath` without trailing slash (`http://127.0.0.1:8080` for the root path). */
  url: string;
  port: number;
  /** `http://host:port/metrics` of the metrics listener, when `metricsPort` was set. */
  metricsUrl: string | null;
  /** Stops accepting, lets requests in flight finish, closes WebSockets and the database. */
  close(): Promise<void>;
  /** Runs the expiry and quota sweep now (tests use it with a fake clock). */
  sweepNow(): Promise<SweepResult>;
}

/** The port is taken, with the flag that changes it named (for the CLI's one-line error). */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  readonly code = 'EADDRINUSE';
  constructor(
    readonly port: number,
    flag: string,
  ) {
    super(`port ${port} is already in use: stop the program using it, or choose another with ${flag} (0 picks a free one)`);
  }
}

function listen(server: Server, host: string, port: number, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void => reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, flag) : error);
    server.once('error', failed);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', failed);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return void socket.destroy();
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

const BLOB_REQUEST_TIMEOUT_MS = 3_600_000;

function createDropHttpServer(options: DropServerOptions, service: DropService): Server {
  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      // A blob upload of 100 MB takes longer than a message: give whole requests an hour then. A
      // stalled upload is still cut after `socketTimeoutMs` without traffic.
      requestTimeout: options.blobs ? Math.max(options.requestTimeoutMs, BLOB_REQUEST_TIMEOUT_MS) : options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, options.headersTimeoutMs),
    },
    (req, res) => service.handle(req, res, () => sendError(res, 404, 'Not found', { head: req.method === 'HEAD' })),
  );
  server.maxConnections = options.maxConnections;
  // A response nobody reads (a stalled client) must not hold its socket and buffers for good.
  server.setTimeout(options.socketTimeoutMs);
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    if (!service.upgrade(req, socket, head)) {
      socket.on('error', () => socket.destroy());
      refuseUpgrade(socket, 404, 'Not Found', 'Not found');
    }
  });
  server.on('clientError', answerClientError);
  return server;
}

/** `/metrics` alone, on a listener of its own (loopback by default): nothing else is served there. */
function createMetricsServer(service: DropService): Server {
  return createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') return sendError(res, 404, 'Not found', { head: req.method === 'HEAD' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'Method not allowed', { headers: { Allow: 'GET, HEAD' } });
    service.metricsText().then(
      (text) => {
        res.writeHead(200, { ...NO_STORE, 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => sendError(res, 503, 'Storage unavailable'),
    );
  });
}

/** Stops accepting, lets keep-alive connections go as their last response is sent, cuts off the rest after a grace period. */
async function stopServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const reaper = setInterval(() => server.closeIdleConnections(), 50);
  const cutOff = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  await stopped;
  clearInterval(reaper);
  clearTimeout(cutOff);
}

/**
 * Starts a drop server with `options` over the defaults.
 * @throws OptionError for bad options, StoreConfigError or the driver's error for an unusable
 *   database, PortInUseError or the listen error (e.g. EACCES) when a port cannot be bound
 */
export async function startDropServer(partial: Partial<DropServerOptions> = {}): Promise<RunningDropServer> {
  const options = resolveOptions(partial);
  let connections: { size(): number } | null = null;
  const service = await createDropService(options, { operationalAtRoot: true, openConnections: () => connections?.size() ?? 0 });
  const server = createDropHttpServer(options, service);
  connections = guardConnections(server, {
    maxConnectionsPerClient: options.maxConnectionsPerClient,
    idleConnectionMs: options.idleConnectionMs,
    trustedProxies: new Set(options.trustedProxies),
    refused: () => void service.metrics.connectionsRefused++,
  });
  const metricsServer = options.metricsPort === null ? null : createMetricsServer(service);

  let port: number;
  let metricsPort: number | null = null;
  try {
    port = await listen(server, options.host, options.port, '--port');
    if (metricsServer) metricsPort = await listen(metricsServer, options.metricsHost, options.metricsPort!, '--metrics-port');
  } catch (error) {
    await Promise.all([stopServer(server), metricsServer && stopServer(metricsServer)]);
    await service.close();
    throw error;
  }

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    service.closePush();
    await Promise.all([stopServer(server), metricsServer && stopServer(metricsServer)]);
    await service.close();
  };
  return {
    url: `http://${urlHost(options.host)}:${port}${options.basePath}`,
    port,
    metricsUrl: metricsPort === null ? null : `http://${urlHost(options.metricsHost)}:${metricsPort}/metrics`,
    close: () => (closing ??= close()),
    sweepNow: () => service.sweepNow(),
  };
}
