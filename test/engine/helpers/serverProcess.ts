/** Runs the real drop server as a child process (`server/cli.ts`), on a fixed port when restarted. */
import { fileURLToPath } from 'node:url';
import { type SpawnedDropServer, spawnDropServer } from '../../../server/index.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServerProcess {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Starts it again on the same port and database. */
  restart(): Promise<void>;
}

export interface ServerProcessOptions {
  /** Store encrypted files (`--blobs`). */
  blobs?: boolean;
}

function launch(port: number, db: string, options: ServerProcessOptions): Promise<SpawnedDropServer> {
  return spawnDropServer({
    command: process.execPath,
    args: ['--import', 'tsx', 'server/cli.ts', '--port', String(port), '--db', db, '--log-level', 'error', ...(options.blobs ? ['--blobs'] : [])],
    cwd: repoRoot,
    startTimeoutMs: 20_000,
    stopTimeoutMs: 5000,
  });
}

/** `db` defaults to an in-memory SQLite; pass `sqlite:<file>` to survive restarts. */
export async function startServerProcess(db = 'sqlite::memory:', options: ServerProcessOptions = {}): Promise<ServerProcess> {
  let running = await launch(0, db, options);
  const server: ServerProcess = {
    url: running.url,
    port: running.port,
    async stop() {
      await running.stop();
    },
    async restart() {
      await running.stop();
      running = await launch(server.port, db, options);
    },
  };
  return server;
}
