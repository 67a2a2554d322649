import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './fakes/headlessMain.js';

// `npm run dev` with a stand-in Electron binary (electron's own ELECTRON_OVERRIDE_DIST_PATH): the
// runner must start Vite, pass the dev server URL and the command-line arguments to Electron,
// restart Electron when main/preload change, and leave nothing running when stopped.

const onPosix = process.platform !== 'win32';
if (!onPosix) console.warn('Dev runner test skipped: the stand-in Electron is a POSIX shell script.');

describe.skipIf(!onPosix)('dev runner', () => {
  let fakeDist: string;
  let runner: ChildProcess;
  let output = '';
  const launchesFile = () => path.join(fakeDist, 'launches.log');
  const launches = async () => (await readFile(launchesFile(), 'utf8').catch(() => '')).split('\n').filter(Boolean);

  beforeAll(async () => {
    fakeDist = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-fake-electron-'));
    // Records "PID ARGS URL", then becomes a long sleep under the same PID (so killing it ends it).
    const script = `#!/bin/sh\necho "$$ $* $DEADDROP_DEV_SERVER_URL" >> "${launchesFile()}"\nexec sleep 60\n`;
    await writeFile(path.join(fakeDist, 'electron'), script);
    await chmod(path.join(fakeDist, 'electron'), 0o755);
    runner = spawn(process.execPath, ['scripts/dev-electron.mjs', '--profile', 'devtest'], {
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: fakeDist },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    runner.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    runner.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  });

  afterAll(async () => {
    if (runner.exitCode === null) runner.kill('SIGKILL');
    await rm(fakeDist, { recursive: true, force: true });
  });

  it('launches Electron on the Vite dev server with the given arguments', async () => {
    await until('the first launch', async () => (await launches()).length === 1, 60_000);
    const [launch] = await launches();
    const match = /^\d+ \. --profile devtest (http:\/\/\S+)$/.exec(launch ?? '');
    expect(match, `${launch}\n${output}`).not.toBeNull();
    const page = await fetch(match![1]!);
    expect(await page.text()).toContain('id="root"');
  }, 90_000);

  it('restarts Electron when the preload changes, and stops everything on SIGTERM', async () => {
    const preload = path.resolve('electron/preload/preload.ts');
    const now = new Date();
    await utimes(preload, now, now);
    await until('the restart', async () => (await launches()).length === 2, 30_000);
    const electronPids = (await launches()).map((line) => Number(line.split(' ')[0]));
    const exited = new Promise<void>((resolve) => runner.once('exit', () => resolve()));
    runner.kill('SIGTERM');
    await exited;
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until('every Electron stand-in to end', () => !electronPids.some(alive), 10_000);
  }, 60_000);
});
