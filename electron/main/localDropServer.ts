import { promises as fs } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import path from 'node:path';
import type { LocalServerStatus, ParsedRequestOf } from '../../shared/ipc/contract.js';
import { createLogger } from '../../shared/log.js';
import { ApiFailure } from '../../shared/ipc/result.js';

const log = createLogger('local-server');

/** The slice of `server/index.ts` the shell uses; the real `startDropServer` satisfies it. */
export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}
export type StartServer = (options: { host: string; port: number; db: string }) => Promise<RunningServer>;

export interface LocalServerDeps {
  startServer: StartServer;
  /** The profile's drop-server folder; the SQLite file lives there. */
  dataDir: string;
  /** `os.networkInterfaces`, injected so tests can pretend to have a LAN. */
  networkInterfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** Told the port and exposure after every start and null after a stop, so launch can restore it. */
  onChange?: (running: { port: number; expose: boolean } | null) => Promise<void> | void;
}

/** The `localServer/*` handlers main puts over core's `unavailable` ones. */
export interface LocalServerController {
  status(): Promise<LocalServerStatus>;
  start(request: ParsedRequestOf<'localServer/start'>): Promise<LocalServerStatus>;
  stop(): Promise<LocalServerStatus>;
  /** Stops for app shutdown: unlike `stop`, the server comes back at the next launch. */
  close(): Promise<void>;
}

/** The server's path part (`/tools/drop` or empty), so our URLs keep it when we swap the host. */
function basePathOf(url: string): string {
  return new URL(url).pathname.replace(/\/+$/, '');
}

/** Addresses friends on the local network can reach: IPv4, not loopback, not link-local. */
export function lanAddresses(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  const found: string[] = [];
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      if (info.family === 'IPv4' && !info.internal && !info.address.startsWith('169.254.')) found.push(info.address);
    }
  }
  return [...new Set(found)].sort();
}

/** A sentence the user can act on for the usual reasons a start fails. */
export function startFailureMessage(err: unknown, port: number): string {
  const text = err instanceof Error ? `${err.message} ${String((err as { code?: unknown }).code)}` : String(err);
  // errno codes from an in-process server; the drop server CLI's words from a child process.
  if (/EADDRINUSE|is already in use/.test(text)) return `Port ${port} is already in use.`;
  if (/EACCES|no permission to listen/.test(text)) return `Port ${port} needs privileges this app does not have: choose a port above 1024.`;
  // Running from source, better-sqlite3 is built for Node's ABI, not Electron's (packaged builds rebuild it).
  if (/NODE_MODULE_VERSION|compiled against a different Node\.js version/.test(text)) {
    return 'The SQLite driver is built for Node.js, not for this Electron: run `npx electron-rebuild -f -o better-sqlite3`.';
  }
  return 'The local drop server could not start.';
}

/**
 * Runs at most one drop server in the app process: loopback by default, all interfaces when the user
 * exposes it (then it lists the LAN URLs to give to friends). Starting again with other settings
 * restarts it; start and stop calls are serialised so a double click cannot start two servers.
 */
export function createLocalServerController(deps: LocalServerDeps): LocalServerController {
  let running: { server: RunningServer; expose: boolean } | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  const serialised = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  const statusNow = (): LocalServerStatus => {
    if (!running) return { running: false, url: null, shareUrls: [] };
    const { server, expose } = running;
    const basePath = basePathOf(server.url);
    return {
      running: true,
      url: `http://127.0.0.1:${server.port}${basePath}`,
      shareUrls: expose ? lanAddresses(deps.networkInterfaces()).map((address) => `http://${address}:${server.port}${basePath}`) : [],
    };
  };

  const stopNow = async () => {
    const current = running;
    running = null;
    if (current) await current.server.close();
  };

  return {
    status: async () => statusNow(),
    start: (request) =>
      serialised(async () => {
        if (running && running.expose === request.expose && (request.port === 0 || request.port === running.server.port)) {
          return statusNow();
        }
        await stopNow();
        try {
          await fs.mkdir(deps.dataDir, { recursive: true });
          const server = await deps.startServer({
            host: request.expose ? '0.0.0.0' : '127.0.0.1',
            port: request.port,
            db: `sqlite:${path.join(deps.dataDir, 'drops.db')}`,
          });
          running = { server, expose: request.expose };
        } catch (err) {
          log.warn('local drop server did not start', { error: err instanceof Error ? err.message : 'unknown' });
          throw new ApiFailure('unavailable', startFailureMessage(err, request.port));
        }
        await deps.onChange?.({ port: running.server.port, expose: running.expose });
        return statusNow();
      }),
    stop: () =>
      serialised(async () => {
        await stopNow();
        await deps.onChange?.(null);
        return statusNow();
      }),
    close: () => serialised(stopNow),
  };
}
