/**
 * The drop service mounted in an existing Node application: a `node:http` request listener and a
 * Connect/Express-style middleware for the same service, plus push attached to the host's server.
 *
 * ```ts
 * const drops = await createDropHandler({ basePath: '/tools/drop', db: 'sqlite:./drops.db' });
 * app.use(drops.middleware);            // Express: drop paths under /tools/drop, the rest passes on
 * const server = app.listen(8080);
 * drops.attach(server);                 // WebSocket push on /tools/drop/<dropId>/ws
 * ```
 * The host owns the connections: the per-client connection limits of a server of its own do not
 * apply (push subscribers are still capped per client). `/health` and `/metrics` answer under the
 * base path only, the root stays the host's.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { resolveOptions, type DropServerOptions } from './config/options.js';
import { createDropService } from './dropService.js';
import { sendError } from './http/responses.js';
import type { SweepResult } from './sweeper.js';

/** What Connect and Express hand to a middleware as its third argument. */
export type NextFunction = (error?: unknown) => void;

export interface MountedDropHandler {
  /** For `http.createServer(listener)`: our paths are served, every other path gets 404. */
  listener: RequestListener;
  /** For `app.use(middleware)`: our paths are served, every other request goes to `next()`. */
  middleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** Serves WebSocket push on the host's server; other upgrade requests are left to the host's listeners. */
  attach(server: Server): void;
  /** Runs the expiry and quota sweep now. */
  sweepNow(): Promise<SweepResult>;
  /** Closes push sockets, the sweeper and the database. Close the host's server first. */
  close(): Promise<void>;
}

/**
 * Express strips its mount path from `req.url` and keeps the full path in `req.originalUrl`: route
 * on the full path, so `basePath` means the same mounted or not.
 */
function fullUrl(req: IncomingMessage): string {
  return (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
}

/**
 * Opens the store and returns the handler for `options` (host, port and metrics-listener options
 * are ignored: the host application listens).
 * @throws OptionError, StoreConfigError or the driver's error, as `startDropServer` does
 */
export async function createDropHandler(partial: Partial<DropServerOptions> = {}): Promise<MountedDropHandler> {
  const options = resolveOptions(partial);
  const service = await createDropService(options, { operationalAtRoot: false, openConnections: () => null });
  const attached = new Set<Server>();
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    service.upgrade(req, socket, head);
  };
  return {
    listener: (req, res) => service.handle(req, res, () => sendError(res, 404, 'Not found', { head: req.method === 'HEAD' })),
    middleware(req, res, next) {
      service.handle(req, res, () => next(), fullUrl(req));
    },
    attach(server) {
      if (attached.has(server)) return;
      attached.add(server);
      server.on('upgrade', onUpgrade);
    },
    sweepNow: () => service.sweepNow(),
    async close() {
      for (const server of attached) server.off('upgrade', onUpgrade);
      attached.clear();
      service.closePush();
      await service.close();
    },
  };
}
