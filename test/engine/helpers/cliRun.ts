/** Test helper: runs the built `deaddrop` command-line client as a child process. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './serverProcess.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function deaddrop(args: string[], passphrase = 'cli test passphrase'): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin/deaddrop.mjs'), ...args],
      { cwd: repoRoot, env: { ...process.env, DEADDROP_PASSPHRASE: passphrase }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export const lines = (run: Run) => run.stdout.trim().split('\n');
