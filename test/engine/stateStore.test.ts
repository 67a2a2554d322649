import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dispatch } from '../../shared/ipc/dispatch.js';
import { TEST_PASSPHRASE_LIMITS, decryptIdentityBackup, encryptIdentityBackup } from '../../shared/protocol/identityBackup.js';
import { formatDropUrl, generateDropId } from '../../shared/protocol/dropId.js';
import { fromBase64Url } from '../../shared/protocol/encoding.js';
import { createEngine } from '../../electron/core/engine.js';
import { writeFileAtomic } from '../../electron/core/state/atomicFile.js';
import { STATE_FILE_NAME } from '../../electron/core/state/stateSchema.js';
import { removeDir, startTestEngine, tempDir } from './helpers/testEngine.js';

const dirs: string[] = [];
const freshDir = () => {
  const dir = tempDir('deaddrop-state-');
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

const SERVER = 'http://127.0.0.1:9/drops';

async function engineWithIdentity(dataDir: string) {
  const engine = await startTestEngine({ dataDir, autoPoll: false });
  const identity = await engine.call('identities/create', { alias: 'kim', serverUrl: SERVER, dropBits: 12 });
  await engine.close();
  return identity;
}

describe('state store', () => {
  it('keeps identities across restarts, with the private key encrypted at rest', async () => {
    const dataDir = freshDir();
    const identity = await engineWithIdentity(dataDir);
    expect(identity.dropUrls[0]).toMatch(/^http:\/\/127\.0\.0\.1:9\/drops\/[-_A-Za-z0-9]{43}$/);
    const again = await startTestEngine({ dataDir, autoPoll: false });
    expect(await again.call('identities/list', {})).toEqual([identity]);
    const exported = await again.call('identities/export', { identityId: identity.id, passphrase: 'export passphrase' });
    await again.close();
    const state = readFileSync(join(dataDir, STATE_FILE_NAME), 'utf8');
    expect(state).toContain(identity.publicKey);
    // The backup opens to the same identity elsewhere; its private key appears nowhere in the state file.
    const other = await startTestEngine({ autoPoll: false });
    dirs.push(other.dataDir);
    await expect(other.call('identities/import', { backup: exported.content, passphrase: 'wrong passphrase' })).rejects.toThrow(/bad_passphrase/);
    const imported = await other.call('identities/import', { backup: exported.content, passphrase: 'export passphrase' });
    expect(imported).toMatchObject({ alias: 'kim', publicKey: identity.publicKey, dropUrls: identity.dropUrls });
    // The backup records the range exactly (not estimated from the drop ID's trailing zero bits).
    expect(imported.dropBits).toBe(12);
    expect((await decryptIdentityBackup(exported.content, 'export passphrase')).dropBits).toBe(12);
    expect(exported.fileName).toBe('kim.qid');
    await other.close();
    const { privateKey } = await decryptIdentityBackup(exported.content, 'export passphrase');
    for (const stateFile of [state, readFileSync(join(other.dataDir, STATE_FILE_NAME), 'utf8')]) {
      expect(stateFile).not.toContain(privateKey);
      expect(stateFile).not.toContain(Buffer.from(privateKey, 'hex').toString('base64').slice(0, 40));
    }
  });

  it('refuses a wrong secret, and unlocks later with the right one', async () => {
    const dataDir = freshDir();
    const identity = await engineWithIdentity(dataDir);
    await expect(startTestEngine({ dataDir, secret: 'not the secret' })).rejects.toMatchObject({ code: 'bad_passphrase' });

    const locked = await createEngine({ dataDir, secret: null, host: 'direct', workers: 1, passphraseLimits: TEST_PASSPHRASE_LIMITS, autoPoll: false });
    try {
      expect(await dispatch(locked.handlers, 'app/info', {})).toMatchObject({ ok: true, value: { locked: true } });
      expect(await dispatch(locked.handlers, 'identities/list', {})).toMatchObject({ ok: false, error: { code: 'locked' } });
      expect(await dispatch(locked.handlers, 'app/databaseKey', {})).toMatchObject({ ok: false, error: { code: 'locked' } });
      expect(await dispatch(locked.handlers, 'app/unlock', { passphrase: 'wrong' })).toMatchObject({ ok: false, error: { code: 'bad_passphrase' } });
      expect(await dispatch(locked.handlers, 'app/unlock', { passphrase: 'test secret' })).toMatchObject({ ok: true, value: { locked: false } });
      expect(await dispatch(locked.handlers, 'identities/list', {})).toEqual({ ok: true, value: [identity] });
      // The UI's database key: 32 bytes, the same at every unlock, never in the state file.
      const answer = await dispatch(locked.handlers, 'app/databaseKey', {});
      if (!answer.ok) throw new Error(answer.error.message);
      const { key } = answer.value as { key: string };
      expect(Buffer.from(key, 'base64')).toHaveLength(32);
      const again = await startTestEngine({ dataDir, autoPoll: false });
      expect(await again.call('app/databaseKey', {})).toEqual({ key });
      await again.close();
      expect(readFileSync(join(dataDir, STATE_FILE_NAME), 'utf8')).not.toContain(key);
    } finally {
      await locked.close();
    }
  });

  it('estimates the drop range of a backup that does not record it, from the drop ID', async () => {
    const source = await startTestEngine({ autoPoll: false });
    dirs.push(source.dataDir);
    const created = await source.call('identities/create', { alias: 'old', serverUrl: SERVER, dropBits: 256 });
    const exported = await source.call('identities/export', { identityId: created.id, passphrase: 'export passphrase' });
    const { privateKey } = await decryptIdentityBackup(exported.content, 'export passphrase');
    await source.close();
    // An older writer: a 12-bit drop ID (the 13th bit is random, so it may be zero too), no drop_bits.
    const dropId = generateDropId(12);
    const legacy = await encryptIdentityBackup(
      { alias: 'old', publicKey: created.publicKey, privateKey, dropUrls: [formatDropUrl(SERVER, dropId)] },
      'legacy passphrase',
      TEST_PASSPHRASE_LIMITS,
    );
    const target = await startTestEngine({ autoPoll: false });
    dirs.push(target.dataDir);
    const imported = await target.call('identities/import', { backup: legacy, passphrase: 'legacy passphrase' });
    await target.close();
    expect(imported.dropBits).toBeLessThanOrEqual(12);
    expect(imported.dropBits).toBeGreaterThanOrEqual(1);
    expect(fromBase64Url(dropId)[1]! & 0x0f).toBe(0); // bits 13-16 are zero: the estimate cannot exceed 12
  });

  it.each([
    ['not JSON', '{"format": "deaddrop-engine-st', /not valid JSON/],
    ['a foreign file', '{"hello":"world"}', /not a Deaddrop engine state file/],
  ])('stops with a clear error on %s and never overwrites it', async (_what, contents, error) => {
    const dataDir = freshDir();
    writeFileSync(join(dataDir, STATE_FILE_NAME), contents);
    await expect(startTestEngine({ dataDir })).rejects.toThrow(error);
    expect(readFileSync(join(dataDir, STATE_FILE_NAME), 'utf8')).toBe(contents);
  });

  it('stops on a damaged private key and leaves the file as it was', async () => {
    const dataDir = freshDir();
    await engineWithIdentity(dataDir);
    const path = join(dataDir, STATE_FILE_NAME);
    const state = JSON.parse(readFileSync(path, 'utf8')) as { identities: { sealedPrivateKey: string }[] };
    const sealed = Buffer.from(state.identities[0]!.sealedPrivateKey, 'base64');
    sealed[20]! ^= 1;
    state.identities[0]!.sealedPrivateKey = sealed.toString('base64');
    const damaged = JSON.stringify(state);
    writeFileSync(path, damaged);
    await expect(startTestEngine({ dataDir })).rejects.toThrow(/cannot be decrypted/);
    expect(readFileSync(path, 'utf8')).toBe(damaged);
  });
});

describe('atomic writes', () => {
  it('never shows a torn file and leaves no temp files behind', async () => {
    const dir = freshDir();
    const path = join(dir, 'state.json');
    await writeFileAtomic(path, JSON.stringify({ n: -1, pad: 'x'.repeat(100_000) }));
    const writes = Array.from({ length: 20 }, (_, n) => writeFileAtomic(path, JSON.stringify({ n, pad: 'y'.repeat(100_000 + n) })));
    const reads: number[] = [];
    for (let i = 0; i < 50; i++) {
      reads.push((JSON.parse(readFileSync(path, 'utf8')) as { n: number }).n);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(writes);
    expect(reads.every((n) => n >= -1 && n < 20)).toBe(true);
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('keeps the old file when the replacement cannot be put in place', async () => {
    const dir = freshDir();
    const target = join(dir, 'taken');
    mkdirSync(join(target, 'child'), { recursive: true });
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(readdirSync(target)).toEqual(['child']);
  });
});
