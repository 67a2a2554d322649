import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeadlessMain, startHeadlessMain } from './fakes/headlessMain.js';

// A profile whose log folder cannot be made (a file stands in its place): the app starts and works
// without a log file, and "Export debug log" says why there is none and where the log goes instead.

describe('main with a log folder it cannot write', () => {
  let main: HeadlessMain;

  beforeAll(async () => {
    main = await startHeadlessMain(
      'nolog',
      (dir) => writeFile(path.join(dir, 'index.html'), '<!doctype html><title>Deaddrop</title>'),
      (profileDir) => writeFile(path.join(profileDir, 'logs'), 'in the way'),
    );
  }, 120_000);
  afterAll(async () => main?.stop());

  it('starts, serves the engine and answers the export with what to do', async () => {
    expect(main.fake.errors).toEqual([]);
    expect(await main.call('app/info', {})).toMatchObject({ ok: true, value: { locked: false } });
    expect(await main.call('identities/list', {})).toEqual({ ok: true, value: [] });
    expect(await main.call('logs/export', {})).toMatchObject({
      ok: false,
      error: { code: 'unavailable', message: expect.stringMatching(/^No log was written: its folder cannot be written \(.+\)\. Start Deaddrop from a terminal/) },
    });
    expect(await readFile(path.join(main.userData, 'profiles', 'nolog', 'logs'), 'utf8')).toBe('in the way');
  }, 60_000);
});
