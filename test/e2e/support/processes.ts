import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface StartedProcess {
  child: ChildProcess;
  /** The first stdout line that matched. */
  match: RegExpMatchArray;
  /** Everything the process wrote to stderr so far (for failure messages). */
  stderr: () => string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop: (graceMs?: number) => Promise<void>;
  /** Immediate SIGKILL: a crash, no clean shutdown. */
  kill: () => Promise<void>;
}

/**
 * Runs a TypeScript entry point under tsx and waits (bounded) for a stdout line matching `ready`.
 */
export function startTsProcess(
  entry: string,
  args: string[],
  ready: RegExp,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<StartedProcess> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 5000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      void kill();
      reject(new Error(`${entry} did not become ready within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    lines.on('line', (line) => {
      const match = line.match(ready);
      if (!match) return;
      clearTimeout(timer);
      resolve({ child, match, stderr: () => stderr, stop, kill });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited (${code}) before it was ready: ${stderr}`));
    });
  });
}
