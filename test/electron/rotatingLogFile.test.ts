import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, setLogWriter, consoleLogWriter } from '../../shared/log.js';
import { debugLogExport, installLogFile } from '../../electron/main/debugLog.js';
import { LOG_FILE_NAME, createRotatingLogFile } from '../../electron/main/rotatingLogFile.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-log-'));
});
afterEach(async () => {
  setLogWriter(consoleLogWriter);
  await rm(dir, { recursive: true, force: true });
});

const line = (n: number) => `2026-01-01T00:00:00.000Z info [test] line ${String(n).padStart(4, '0')} ${'x'.repeat(40)}`;
/** Each test line on disk, newline included. */
const LINE_BYTES = Buffer.byteLength(line(0)) + 1;

describe('rotating log file', () => {
  it('keeps at most `files` files of at most `maxBytes` each, the newest lines in the current file', async () => {
    const logDir = path.join(dir, 'logs');
    const file = createRotatingLogFile({ dir: logDir, maxBytes: 1000, files: 3 });
    for (let n = 0; n < 200; n++) file.write(line(n));
    await file.close();

    const names = (await readdir(logDir)).sort();
    expect(names).toEqual([LOG_FILE_NAME, `${LOG_FILE_NAME}.1`, `${LOG_FILE_NAME}.2`]);
    for (const name of names) expect((await stat(path.join(logDir, name))).size).toBeLessThanOrEqual(1000);
    const current = await readFile(path.join(logDir, LOG_FILE_NAME), 'utf8');
    expect(current.trimEnd().split('\n').at(-1)).toBe(line(199));
    // Two full files and the current one's remainder survive, oldest first; the rest rotated out.
    const perFile = Math.floor(1000 / LINE_BYTES);
    const expected = 2 * perFile + (200 % perFile || perFile);
    const kept = (await createRotatingLogFile({ dir: logDir, maxBytes: 1000, files: 3 }).read()).trimEnd().split('\n');
    expect(kept).toEqual(Array.from({ length: expected }, (_, i) => line(200 - expected + i)));
  });

  it('rotates at the size bound also across flushes and restarts', async () => {
    const first = createRotatingLogFile({ dir, maxBytes: 500, files: 2 });
    for (let n = 0; n < 5; n++) first.write(line(n));
    await first.close();
    expect(6 * LINE_BYTES).toBeGreaterThan(500);
    expect((await stat(path.join(dir, LOG_FILE_NAME))).size).toBe(5 * LINE_BYTES);
    // A second run appends to the same file until the bound, then starts a new one.
    const second = createRotatingLogFile({ dir, maxBytes: 500, files: 2 });
    second.write(line(5));
    await second.flush();
    expect((await readFile(path.join(dir, `${LOG_FILE_NAME}.1`), 'utf8')).split('\n').length - 1).toBe(5);
    expect(await readFile(path.join(dir, LOG_FILE_NAME), 'utf8')).toBe(line(5) + '\n');
    await second.close();
  });

  it('writes lines together after a delay, not one append per line', async () => {
    const file = createRotatingLogFile({ dir, flushDelayMs: 60_000 });
    for (let n = 0; n < 10; n++) file.write(line(n));
    await expect(stat(path.join(dir, LOG_FILE_NAME))).rejects.toMatchObject({ code: 'ENOENT' });
    await file.flush();
    expect((await readFile(path.join(dir, LOG_FILE_NAME), 'utf8')).split('\n')).toHaveLength(11);
    await file.close();
  });

  it('cuts a runaway line and keeps the file bound', async () => {
    const file = createRotatingLogFile({ dir, maxBytes: 300, files: 2 });
    file.write('é'.repeat(1000));
    file.write('next');
    await file.close();
    const text = await readFile(path.join(dir, `${LOG_FILE_NAME}.1`), 'utf8');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(300);
    expect(text.endsWith('é [cut]\n')).toBe(true);
    expect(await readFile(path.join(dir, LOG_FILE_NAME), 'utf8')).toBe('next\n');
  });

  it.skipIf(process.platform === 'win32')('lets only the owner read the files and the folder', async () => {
    const logDir = path.join(dir, 'logs');
    const file = createRotatingLogFile({ dir: logDir, maxBytes: 200, files: 2 });
    for (let n = 0; n < 4; n++) file.write(line(n));
    await file.close();
    expect((await stat(logDir)).mode & 0o777).toBe(0o700);
    for (const name of await readdir(logDir)) expect((await stat(path.join(logDir, name))).mode & 0o777).toBe(0o600);
  });

  it('turns itself off when its folder cannot be made, without throwing, and says why', async () => {
    // A file where the folder should be: fails for every user, root included.
    const blocked = path.join(dir, 'logs');
    await writeFile(blocked, 'not a folder');
    const problems: string[] = [];
    const file = createRotatingLogFile({ dir: blocked, onProblem: (p) => problems.push(p) });
    file.write(line(1));
    await file.flush();
    file.write(line(2));
    await file.close();
    expect(problems).toHaveLength(1);
    expect(file.problem()).toMatch(/EEXIST|ENOTDIR/);
    expect(await readFile(blocked, 'utf8')).toBe('not a folder');
    await expect(
      debugLogExport(file, { version: '1.2.3', platform: 'linux', arch: 'x64' })['logs/export']({}),
    ).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/^No log was written: .*terminal/) });
  });
});

describe('the log file as the app installs it', () => {
  it('receives every logger line redacted: no keys, no drop IDs', async () => {
    const file = installLogFile({ dir, flushDelayMs: 10 });
    const secretKey = 'ab'.repeat(32);
    const dropId = 'A'.repeat(43);
    createLogger('poller').warn(`poll of ${dropId} failed`, { key: secretKey, url: `https://drop.example/${dropId}` });
    createLogger('main').info('engine starts locked');
    const exported = await debugLogExport(file, {
      version: '1.2.3',
      platform: 'linux',
      arch: 'x64',
      now: () => new Date('2026-02-03T04:05:06Z'),
    })['logs/export']({});
    await file.close();

    expect(exported.fileName).toBe('deaddrop-debug-2026-02-03-04-05-06.log');
    expect(exported.content.startsWith('Deaddrop 1.2.3 on linux x64, exported 2026-02-03T04:05:06.000Z\n\n')).toBe(true);
    const onDisk = await readFile(path.join(dir, LOG_FILE_NAME), 'utf8');
    expect(exported.content.endsWith(onDisk)).toBe(true);
    expect(onDisk).toMatch(/warn \[poller\] poll of \[drop\] failed \{"key":"\[key\]","url":"https:\/\/drop\.example\/\[drop\]"\}\n/);
    expect(onDisk).toMatch(/info \[main\] engine starts locked\n$/);
    expect(onDisk).not.toContain(secretKey);
    expect(onDisk).not.toContain(dropId);
  });
});
