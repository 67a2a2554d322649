import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeadlessMain, startHeadlessMain } from './fakes/headlessMain.js';

// Main on a Linux session whose safeStorage has only `basic_text`: no secret is stored, the engine
// starts locked, and the passphrase the UI asks for unlocks it.

const exists = (file: string) => access(file).then(() => true, () => false);
const onLinux = process.platform === 'linux';
if (!onLinux) console.warn('Keyring-less main test skipped: safeStorage backends (basic_text) exist only on Linux.');

describe.skipIf(!onLinux)('main without an OS keyring', () => {
  let main: HeadlessMain;

  beforeAll(async () => {
    process.env.FAKE_SAFE_STORAGE_BACKEND = 'basic_text';
    main = await startHeadlessMain('nokeyring', (dir) => writeFile(path.join(dir, 'index.html'), '<!doctype html><title>Deaddrop</title>'));
  }, 120_000);

  afterAll(async () => {
    await main?.stop();
    delete process.env.FAKE_SAFE_STORAGE_BACKEND;
  });

  it('stores no secret, starts locked, and unlocks with the passphrase', async () => {
    const profile = path.join(main.userData, 'profiles', 'nokeyring');
    expect(await exists(path.join(profile, 'keystore-secret.bin'))).toBe(false);
    expect(await exists(path.join(profile, 'keystore-uses-passphrase'))).toBe(true);
    expect(await main.call('app/info', {})).toMatchObject({ ok: true, value: { locked: true } });
    expect(await main.call('identities/list', {})).toMatchObject({ ok: false, error: { code: 'locked' } });
    expect(await main.call('app/unlock', { passphrase: 'a long enough passphrase' })).toMatchObject({ ok: true, value: { locked: false } });
    expect(await main.call('identities/list', {})).toEqual({ ok: true, value: [] });
    // The log says why the engine started locked, and never what unlocked it.
    const exported = await main.call('logs/export', {});
    expect(exported.ok).toBe(true);
    expect(exported.value?.content).toMatch(/info \[main\] engine starts locked/);
    expect(exported.value?.content).not.toContain('a long enough passphrase');
  }, 60_000);
});
