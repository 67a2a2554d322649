import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { RunningServer, StartServer } from './localDropServer.js';

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
  return ({ host, port, db }) =>
    new Promise<RunningServer>((resolve, reject) => {
      const args = ['--import', PARENT_WATCH_IMPORT, command.serverScript, '--host', host, '--port', String(port), '--db', db, '--log-level', 'warn'];
      const child = spawn(command.node, args, { cwd: command.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        if (stderr.length < 4096) stderr += chunk;
      });
      // 'close' comes after the child's output is read to the end, so a failure can quote it.
      const exited = new Promise<void>((done) => child.once('close', () => done()));
      let settled = false;
      const fail = (reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        // The child's own words carry the errno code (EADDRINUSE, EACCES) the caller explains.
        reject(new Error(`${reason} ${stderr.trim().split('\n')[0] ?? ''}`.trim()));
      };
      const timer = setTimeout(() => fail('the drop server did not start in time.'), START_TIMEOUT_MS);
      child.once('error', (err) => fail(err.message));
      void exited.then(() => fail(`the drop server exited (${String(child.exitCode ?? child.signalCode)}).`));
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => {
        const match = /^listening on (http:\/\/\S+)$/.exec(line);
        if (!match) return fail('the drop server printed something unexpected.');
        settled = true;
        clearTimeout(timer);
        const url = match[1]!;
        resolve({
          url,
          port: Number(new URL(url).port),
          close: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
            await exited;
            clearTimeout(killer);
          },
        });
      });
    });
}
