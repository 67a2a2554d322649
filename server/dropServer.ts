/** Assembles one drop server instance: store, HTTP server, push hub, sweeper; and takes it down again. */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolveOptions, type DropServerOptions } from './config/options.js';
import { createTokenCheck } from './http/accessTokens.js';
import { createDropHandler } from './http/dropHandler.js';
import { createRequestListener, createUpgradeListener } from './http/requestListener.js';
import { createRouter } from './http/routes.js';
import { createMetrics } from './metrics.js';
import { createPushHub } from './push/pushHub.js';
import { setServerLogLevel } from './serverLog.js';
import { openStore } from './store/openStore.js';
import { createSweeper, type SweepResult } from './sweeper.js';

/** Requests still running this long after `close()` are cut off. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningDropServer {
  /** `http://host:port/basepath` without trailing slash (`http://127.0.0.1:8080` for the root path). */
  url: string;
  port: number;
  /** Stops accepting, lets requests in flight finish, closes WebSockets and the database. */
  close(): Promise<void>;
  /** Runs the expiry and quota sweep now (tests use it with a fake clock). */
  sweepNow(): Promise<SweepResult>;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Starts a drop server with `options` over the defaults.
 * @throws OptionError for bad options, StoreConfigError or the driver's error for an unusable
 *   database, the listen error (e.g. EADDRINUSE) when the port cannot be bound
 */
export async function startDropServer(partial: Partial<DropServerOptions> = {}): Promise<RunningDropServer> {
  const options = resolveOptions(partial);
  setServerLogLevel(options.logLevel);
  const store = await openStore(options.db, {
    dropCaps: { maxMessages: options.dropMaxMessages, maxBytes: options.dropMaxBytes },
  });
  const metrics = createMetrics();
  const ttlMs = options.ttlSeconds * 1000;
  const sweeper = createSweeper({
    store,
    clock: options.clock,
    ttlMs,
    quotaBytes: options.quotaBytes,
    intervalMs: options.sweepIntervalMs,
  });
  const tokenOk = createTokenCheck(options.tokens);
  const hub = createPushHub({ store, metrics, maxSubscribers: options.maxSubscribers, authorized: tokenOk });
  const handleDrop = createDropHandler({
    store,
    clock: options.clock,
    metrics,
    maxMessageBytes: options.maxMessageBytes,
    pageSize: options.pageSize,
    ttlMs,
    tokensRequired: options.tokens.length > 0,
    afterAppend: () => sweeper.checkQuotaSoon(),
  });

  const sockets = new Set<Socket>();
  const deps = {
    route: createRouter(options.basePath),
    handleDrop,
    hub,
    store,
    metrics,
    tokenOk,
    openConnections: () => sockets.size,
  };
  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, options.headersTimeoutMs),
    },
    createRequestListener(deps),
  );
  server.maxConnections = options.maxConnections;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('upgrade', createUpgradeListener(deps));
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  let port: number;
  try {
    port = await listen(server, options.host, options.port);
  } catch (error) {
    hub.close();
    await sweeper.stop();
    await store.close();
    throw error;
  }

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    hub.close();
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections become idle as their last response goes out; close them as they do.
    server.closeIdleConnections();
    const reaper = setInterval(() => server.closeIdleConnections(), 50);
    const cutOff = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    await stopped;
    clearInterval(reaper);
    clearTimeout(cutOff);
    await sweeper.stop();
    await store.close();
  };

  return {
    url: `http://${urlHost(options.host)}:${port}${options.basePath}`,
    port,
    close: () => (closing ??= close()),
    sweepNow: () => sweeper.sweepNow(),
  };
}
