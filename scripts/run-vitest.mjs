#!/usr/bin/env node
/**
 * `npm test`'s Vitest part: the Node project, then the browser project, each watched.
 *
 * Vitest can wait for ever with no CPU use when a worker or a browser tester stops answering
 * (vitest-dev/vitest#11243: a browser test iframe that never fires `load` under CPU pressure; we saw
 * the same silent stall about once in five full runs on a loaded 2-core machine). A test that fails
 * still fails the run. What this script adds: when a project prints nothing for STALL_MS, it prints
 * the files that were running (test/support/inflightReporter.ts) and the process states, stops that
 * Vitest, and runs the project once more; a second stall fails the run. Extra arguments go to both
 * Vitest runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const STALL_MS = Number(process.env.DEADDROP_VITEST_STALL_MS ?? 5 * 60_000);
const extra = process.argv.slice(2);
const scratch = mkdtempSync(path.join(tmpdir(), 'deaddrop-vitest-'));

function runProject(project, attempt) {
  const inflight = path.join(scratch, `${project}-${attempt}.txt`);
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['node_modules/vitest/vitest.mjs', 'run', '--project', project, '--reporter=default', '--reporter=./test/support/inflightReporter.ts', ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, DEADDROP_INFLIGHT_FILE: inflight } },
    );
    let timer;
    let stalled = false;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        let running = '';
        try {
          running = readFileSync(inflight, 'utf8');
        } catch {
          running = '(none recorded)';
        }
        console.error(`\nrun-vitest: the ${project} project printed nothing for ${STALL_MS / 1000} s. Files still running:\n${running || '(none)'}`);
        const ps = spawnSync('ps', ['-o', 'pid,ppid,stat,wchan:20,etime,args', '--forest', '-g', String(child.pid)], { encoding: 'utf8' });
        console.error(ps.stdout || ps.stderr || '(ps unavailable)');
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, STALL_MS);
    };
    arm();
    child.stdout.on('data', (chunk) => {
      arm();
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      arm();
      process.stderr.write(chunk);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 1 : 0), stalled });
    });
  });
}

// vitest.config.ts defines the browser project only where test/support/chromium.ts's Chromium exists
// (and says so); asking for it by name elsewhere would be an error.
const projects = existsSync('/usr/bin/chromium') ? ['node', 'browser'] : ['node'];
let status = 0;
for (const project of projects) {
  let result = await runProject(project, 1);
  if (result.stalled) {
    console.error(`run-vitest: running the ${project} project again after a stall (a second stall fails the run)`);
    result = await runProject(project, 2);
    if (result.stalled) result.code = 1;
  }
  if (result.code !== 0) status = result.code;
}
rmSync(scratch, { recursive: true, force: true });
process.exit(status);
