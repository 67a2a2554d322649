/** Runs the real drop server as a child process (`server/cli.ts`), on a fixed port when restarted. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServerProcess {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Starts it again on the same port and database. */
  restart(): Promise<void>;
}

async function launch(port: number, db: string): Promise<{ child: ChildProcess; url: string; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli.ts', '--port', String(port), '--db', db, '--log-level', 'error'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('drop server did not start within 20 s')), 20_000);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const match = /^listening on (http:\/\/\S+?)\/?$/.exec(line);
      if (match) resolve(match[1]!);
      else reject(new Error(`unexpected first line from the drop server: ${line}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`drop server exited early (${code})`));
    });
  });
  return { child, url, port: Number(new URL(url).port) };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** `db` defaults to an in-memory SQLite; pass `sqlite:<file>` to survive restarts. */
export async function startServerProcess(db = 'sqlite::memory:'): Promise<ServerProcess> {
  let running = await launch(0, db);
  const server: ServerProcess = {
    url: running.url,
    port: running.port,
    async stop() {
      await kill(running.child);
    },
    async restart() {
      await kill(running.child);
      running = await launch(server.port, db);
    },
  };
  return server;
}
