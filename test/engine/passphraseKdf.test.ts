/**
 * Argon2id in the engine runs in the crypto worker pool, never on the engine's thread (Electron's
 * main process): unlock, `.qid` import and export give the same results as before, and a `.qid`
 * asking for more than the caps is refused before any derivation, with a message naming its demand.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PassphraseKdf } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS, decryptIdentityBackup, encryptIdentityBackup } from '../../shared/protocol/identityBackup.js';
import { formatDropUrl, generateDropId } from '../../shared/protocol/dropId.js';
import { toHex } from '../../shared/protocol/encoding.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';

/** Counts Argon2id runs on this thread; the worker threads load their own, uncounted copy. */
const onThisThread = vi.hoisted(() => ({ runs: 0 }));
vi.mock('../../shared/protocol/argon2id.js', async (importOriginal) => {
  const real = await importOriginal<{ argon2id: PassphraseKdf }>();
  const counted: PassphraseKdf = (...args) => {
    onThisThread.runs++;
    return real.argon2id(...args);
  };
  return { ...real, argon2id: counted };
});

const engines: TestEngine[] = [];
afterEach(async () => {
  for (const engine of engines.splice(0)) {
    await engine.close();
    removeDir(engine.dataDir);
  }
});

async function engineAt(dataDir?: string): Promise<TestEngine> {
  const engine = await startTestEngine({ autoPoll: false, ...(dataDir ? { dataDir } : {}) });
  engines.push(engine);
  return engine;
}

const pair = generateNativeKeyPair();
const identity = {
  alias: 'kim',
  publicKey: toHex(pair.publicKey),
  privateKey: toHex(pair.privateKey),
  dropUrls: [formatDropUrl('http://127.0.0.1:9/drops', generateDropId(12))],
  dropBits: 12,
};

describe('passphrase key derivation in the engine', () => {
  it('unlocks, imports and exports with Argon2id in a worker, with the same results as in place', async () => {
    const written = await encryptIdentityBackup(identity, 'import passphrase', TEST_PASSPHRASE_LIMITS);
    expect(onThisThread.runs).toBe(1); // the count sees runs on this thread
    onThisThread.runs = 0;

    const first = await engineAt();
    const imported = await first.call('identities/import', { backup: written, passphrase: 'import passphrase' });
    expect(imported).toMatchObject({ alias: 'kim', publicKey: identity.publicKey, dropUrls: identity.dropUrls, dropBits: 12 });
    await expect(first.call('identities/import', { backup: written, passphrase: 'wrong passphrase' })).rejects.toThrow(/bad_passphrase/);
    const exported = await first.call('identities/export', { identityId: imported.id, passphrase: 'export passphrase' });
    await first.close();
    // The state file written under the worker's key opens again (unlock through the worker).
    const again = await engineAt(first.dataDir);
    expect(await again.call('identities/list', {})).toEqual([imported]);
    expect(onThisThread.runs).toBe(0);

    // What the worker sealed opens in place: the same derivation.
    expect(await decryptIdentityBackup(exported.content, 'export passphrase')).toEqual(identity);
  });

  it('refuses a .qid asking for huge Argon2id limits at once, naming its demand', async () => {
    const written = JSON.parse(await encryptIdentityBackup(identity, 'import passphrase', TEST_PASSPHRASE_LIMITS)) as { kdf: object };
    const hostile = JSON.stringify({ ...written, kdf: { ...written.kdf, memlimit: 2 ** 32, opslimit: 4_000_000 } });
    const engine = await engineAt();
    await expect(engine.call('identities/import', { backup: hostile, passphrase: 'import passphrase' })).rejects.toThrow(
      'identities/import: bad_input: The backup asks for Argon2id with 4096 MiB of memory and 4000000 passes; at most 256 MiB and 8 passes are accepted',
    );
    expect(await engine.call('identities/list', {})).toEqual([]);
  });
});
