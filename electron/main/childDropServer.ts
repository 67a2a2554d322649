import { spawnDropServer } from '../../server/index.js';
import type { StartServer } from './localDropServer.js';

/** How long the server may take to print its listening line, and to exit after SIGTERM. */
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Preloaded into the child: when its stdin (a pipe from the app) ends, because the app quit or crashed,
 * the server gets SIGTERM and shuts down cleanly, releasing its port and its database lock.
 */
export const PARENT_WATCH_IMPORT =
  'data:text/javascript,process.stdin.resume();process.stdin.on("end",()=>process.kill(process.pid,"SIGTERM"));';

export interface ChildServerCommand {
  /** A Node.js binary (not Electron's): its ABI is the one better-sqlite3 was built for by `npm ci`. */
  node: string;
  /** `bin/deaddrop-server.mjs` of the checkout. */
  serverScript: string;
  cwd: string;
}

/**
 * Starts the project's drop server in a Node.js child process instead of in Electron's process. Used only
 * when the app runs from source (`npm start`, `npm run dev`): there better-sqlite3 is built for Node's
 * ABI, not Electron's, so the in-process server cannot open its database. Packaged apps rebuild the
 * addon for Electron and run the server in-process.
 */
export function childProcessServerStarter(command: ChildServerCommand): StartServer {
  return async ({ host, port, db }) => {
    const server = await spawnDropServer({
      command: command.node,
      args: ['--import', PARENT_WATCH_IMPORT, command.serverScript, '--host', host, '--port', String(port), '--db', db, '--log-level', 'warn'],
      cwd: command.cwd,
      stdin: 'pipe',
      startTimeoutMs: START_TIMEOUT_MS,
      stopTimeoutMs: STOP_TIMEOUT_MS,
    });
    return {
      url: server.url,
      port: server.port,
      close: async () => void (await server.stop()),
    };
  };
}
