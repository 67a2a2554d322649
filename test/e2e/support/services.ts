import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnDropServer } from '../../../server/index.js';
import { type StartedProcess, startTsProcess } from './processes.js';

/** A real drop server on a free loopback port, in-memory SQLite; `flags` are further server options. */
export interface DropServer {
  url: string;
  stop(): Promise<void>;
}

export async function startDropServer(flags: string[] = []): Promise<DropServer> {
  const server = await spawnDropServer({
    command: process.execPath,
    args: ['--import', 'tsx', 'server/cli.ts', '--host', '127.0.0.1', '--port', '0', '--db', 'sqlite::memory:', ...flags],
  });
  return { url: server.url, stop: async () => void (await server.stop()) };
}

/** One user's engine host: its own process, its own data folder, on a port kept across restarts. */
export interface EngineHost {
  /** http URL that serves the renderer. */
  readonly httpUrl: string;
  /** The page URL, pointing the renderer at this host's WebSocket. */
  readonly appUrl: string;
  readonly dataDir: string;
  /** Crash: SIGKILL, no clean shutdown. */
  kill(): Promise<void>;
  /** Start again on the same port and data folder. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `locked`: the engine starts without its secret, so the UI must unlock it with a passphrase. */
export async function startEngineHost(name: string, options: { locked?: boolean } = {}): Promise<EngineHost> {
  const dataDir = await mkdtemp(join(tmpdir(), `deaddrop-e2e-${name}-`));
  const ready = /^host ready (http:\/\/127\.0\.0\.1:(\d+)\/)/;
  const launch = (port: string) =>
    startTsProcess('tools/webHost/engineHost.ts', ['--data-dir', dataDir, '--port', port, ...(options.locked ? ['--locked'] : ['--secret', `secret-${name}`])], ready, {
      timeoutMs: 60_000,
    });
  let proc: StartedProcess = await launch('0');
  const port = proc.match[2]!;
  const httpUrl = proc.match[1]!;
  return {
    httpUrl,
    appUrl: `${httpUrl}?host=${encodeURIComponent(`ws://127.0.0.1:${port}/ws`)}`,
    dataDir,
    kill: () => proc.kill(),
    async restart() {
      await proc.kill();
      proc = await launch(port);
    },
    async stop() {
      await proc.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
