/**
 * Runs `deaddrop-server` as a child process and waits for its first line, `listening on <url>`: the
 * desktop app does so when it runs from source, and tests and benchmarks that want a server of its
 * own process. Failures quote the child's first line of stderr, which names the cause.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const READY_LINE = /^listening on (http:\/\/\S+?)\/?$/;
/** Output kept for `output()` and error messages. */
const MAX_OUTPUT_CHARS = 64 * 1024;

export interface SpawnServerOptions {
  /** The program: usually `process.execPath` (Node). */
  command: string;
  /** Its arguments, ending with the server's flags (`--port 0 --db …`). */
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Standard input: a pipe lets the child notice when this process goes away. */
  stdin?: 'ignore' | 'pipe';
  startTimeoutMs?: number;
  /** After SIGTERM, SIGKILL follows this late. */
  stopTimeoutMs?: number;
}

export interface SpawnedDropServer {
  /** `http://host:port[/basepath]` as the server printed it. */
  url: string;
  port: number;
  child: ChildProcess;
  /** What the server wrote so far (stdout and stderr, interleaved as read). */
  output(): string;
  /** SIGTERM (SIGKILL after the stop timeout); resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash. */
  kill9(): Promise<void>;
}

/**
 * Starts the server and resolves once it listens.
 * @throws Error when it exits, times out or prints something else first (with its own first error line)
 */
export function spawnDropServer(options: SpawnServerOptions): Promise<SpawnedDropServer> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (text: string) => {
    if (output.length < MAX_OUTPUT_CHARS) output += text;
  };
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', keep);
  // 'close' comes after the output is read to the end, so a failure can quote it.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<number | null> => {
    if (running()) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), options.stopTimeoutMs ?? 10_000);
    const code = await exited;
    clearTimeout(killer);
    return code;
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      const said = output.split('\n').find((line) => line !== '' && !line.startsWith('listening on')) ?? '';
      reject(new Error(`${reason} ${said}`.trim()));
    };
    const timer = setTimeout(() => fail('the drop server did not start in time.'), options.startTimeoutMs ?? 30_000);
    child.once('error', (error) => fail(error.message));
    void exited.then((code) => fail(`the drop server exited (${String(code ?? child.signalCode)}).`));
    const lines = createInterface({ input: child.stdout! });
    let first = true;
    lines.on('line', (line) => {
      keep(line + '\n');
      if (!first) return;
      first = false;
      const match = READY_LINE.exec(line);
      if (!match) return fail(`the drop server printed something unexpected: ${line}`);
      settled = true;
      clearTimeout(timer);
      const url = match[1]!;
      resolve({
        url,
        port: Number(new URL(url).port),
        child,
        output: () => output,
        stop,
        async kill9() {
          if (running()) child.kill('SIGKILL');
          await exited;
        },
      });
    });
  });
}
