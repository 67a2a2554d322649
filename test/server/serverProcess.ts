/** Test helper: runs `server/cli.ts` as a child process in a fresh data folder, the way users do. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnDropServer } from '../../server/index.js';

export const repoRoot = join(import.meta.dirname, '..', '..');
const START_TIMEOUT_MS = 20_000;

export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  dataDir: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait (a crash). */
  kill9(): Promise<void>;
}

export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'deaddrop-server-test-'));
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs the CLI with `args` to completion (for bad-flag cases); resolves with code and output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli.ts', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts the server on a free port with a SQLite database in `dataDir` unless `--db` is given. */
export async function startServerProcess(dataDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const fullArgs = ['--port', '0', '--log-level', 'info', ...args];
  if (!args.includes('--db')) fullArgs.push('--db', `sqlite:${join(dataDir, 'drops.db')}`);
  const server = await spawnDropServer({
    command: process.execPath,
    args: ['--import', 'tsx', 'server/cli.ts', ...fullArgs],
    cwd: repoRoot,
    env: { ...process.env, ...env },
    startTimeoutMs: START_TIMEOUT_MS,
  });
  return { ...server, dataDir };
}
