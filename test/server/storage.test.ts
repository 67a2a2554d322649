/** The SQLite store on disk: files only its owner can read, and a full disk that /health reports and that heals. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDropServer } from '../../server/index.js';
import { deposit, fetchDrop, newDropId, postMessage } from './dropClient.js';
import { serversPerTest } from './inProcessServer.js';
import { makeDataDir, removeDataDir } from './serverProcess.js';

const { cleanups } = serversPerTest(afterEach);
const mode = (path: string): number => statSync(path).mode & 0o777;

describe('database files', () => {
  it('are created readable and writable by their owner only', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const folder = join(dataDir, 'deaddrop-data');
    const file = join(folder, 'drops.db');
    const s = await startDropServer({ port: 0, db: `sqlite:${file}`, logLevel: 'warn' });
    cleanups.push(() => s.close());
    await deposit(`${s.url}/${newDropId()}`, Uint8Array.of(1));
    expect(mode(folder)).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    expect(mode(`${file}-wal`)).toBe(0o600);
  });
});

/** A small tmpfs is a real full disk; mounting one needs root (CI runs as root). */
function mountSmallDisk(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('a full disk', () => {
  it('answers 503 to POSTs, reports it on /health, keeps serving reads, and heals when space comes back', async (context) => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const disk = join(dataDir, 'disk');
    mkdirSync(disk);
    if (!mountSmallDisk(disk, '4m')) {
      console.warn('full-disk test skipped: cannot mount a tmpfs here (needs root)');
      context.skip();
    }
    cleanups.push(() => void execFileSync('umount', ['-l', disk], { stdio: 'ignore' }));
    const s = await startDropServer({ port: 0, db: `sqlite:${join(disk, 'drops.db')}`, logLevel: 'silent' });
    cleanups.push(() => s.close());
    const url = `${s.url}/${newDropId()}`;
    await deposit(url, new Uint8Array(2149).fill(1));
    // Leave a few pages free, then post until the disk is full.
    const filler = join(disk, 'filler');
    const free = Number(execFileSync('df', ['--output=avail', '-B1', disk]).toString().trim().split('\n')[1]);
    writeFileSync(filler, Buffer.alloc(Math.max(0, free - 64 * 1024)));
    let refused: Response | null = null;
    for (let i = 0; i < 500 && !refused; i++) {
      const res = await postMessage(url, new Uint8Array(2149).fill(2));
      if (res.status !== 200) refused = res;
    }
    expect(refused?.status).toBe(503);
    expect(await refused!.json()).toEqual({ error: 'Storage unavailable' });
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { status: string }).status).toBe('unavailable');
    // What was stored is still served.
    expect((await fetchDrop(url)).parts[0]!.body[0]).toBe(1);

    rmSync(filler);
    await expect.poll(async () => (await fetch(`${s.url}/health`)).status, { timeout: 10_000, interval: 250 }).toBe(200);
    expect((await postMessage(url, new Uint8Array(2149).fill(3))).status).toBe(200);
  });
});
