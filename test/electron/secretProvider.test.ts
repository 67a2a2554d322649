import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomicExclusive } from '../../electron/core/state/atomicFile.js';
import { type SecretStorage, chooseSecret, keyringUsable } from '../../electron/main/secretProvider.js';

type Backend = ReturnType<SecretStorage['getSelectedStorageBackend']>;

/** safeStorage with a reversible "encryption" so the test can see what was stored. */
function fakeStorage(available: boolean, backend: Backend): SecretStorage & { encrypted: string[] } {
  const encrypted: string[] = [];
  return {
    encrypted,
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString: (text: string) => {
      encrypted.push(text);
      return Buffer.from(`sealed:${text}`);
    },
    decryptString: (data: Buffer) => {
      const text = data.toString();
      if (!text.startsWith('sealed:')) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
      return text.slice('sealed:'.length);
    },
  };
}

let dir: string;
let files: { secretFile: string; passphraseMarkerFile: string; engineStateFile: string };
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-secret-'));
  files = {
    secretFile: path.join(dir, 'keystore-secret.bin'),
    passphraseMarkerFile: path.join(dir, 'keystore-uses-passphrase'),
    engineStateFile: path.join(dir, 'engine', 'engine-state.json'),
  };
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('secret provider', () => {
  it('creates a random secret, stores it only encrypted, and reads the same one next time', async () => {
    const storage = fakeStorage(true, 'gnome_libsecret');
    const first = await chooseSecret(storage, files, 'linux');
    expect(first.mode).toBe('keyring');
    expect(first.secret).toMatch(/^[-_A-Za-z0-9]{43}$/);
    expect(await readFile(files.secretFile, 'utf8')).toBe(`sealed:${first.secret}`);
    expect(await chooseSecret(storage, files, 'linux')).toEqual(first);
    const other = await chooseSecret(fakeStorage(true, 'kwallet5'), { secretFile: path.join(dir, 'b'), passphraseMarkerFile: path.join(dir, 'm'), engineStateFile: path.join(dir, 's') }, 'linux');
    expect(other.secret).not.toBe(first.secret);
  });
  it('asks for a passphrase where Linux has only basic_text or the backend is unknown', async () => {
    for (const backend of ['basic_text', 'unknown'] as const) {
      const storage = fakeStorage(true, backend);
      const choice = await chooseSecret(storage, files, 'linux');
      expect(choice).toMatchObject({ mode: 'passphrase', secret: null });
      expect(storage.encrypted).toEqual([]);
      await rm(files.passphraseMarkerFile);
    }
  });
  it('asks for a passphrase when encryption is unavailable, on any platform', async () => {
    for (const platform of ['win32', 'darwin', 'linux'] as const) {
      expect(keyringUsable(fakeStorage(false, 'unknown'), platform)).toBe(false);
    }
    expect(keyringUsable(fakeStorage(true, 'unknown'), 'darwin')).toBe(true);
    expect(await chooseSecret(fakeStorage(false, 'unknown'), files, 'win32')).toMatchObject({ mode: 'passphrase', secret: null });
  });
  it('keeps a passphrase profile on passphrase when a keyring appears later', async () => {
    await chooseSecret(fakeStorage(true, 'basic_text'), files, 'linux');
    const storage = fakeStorage(true, 'gnome_libsecret');
    expect(await chooseSecret(storage, files, 'linux')).toMatchObject({ mode: 'passphrase', secret: null });
    expect(storage.encrypted).toEqual([]);
  });
  it('fails clearly, and keeps the file, when the keyring cannot decrypt the stored secret', async () => {
    await writeFile(files.secretFile, 'garbage from another keyring');
    await expect(chooseSecret(fakeStorage(true, 'gnome_libsecret'), files, 'linux')).rejects.toThrow(/keyring/);
    await expect(chooseSecret(fakeStorage(false, 'unknown'), files, 'linux')).rejects.toThrow(/keyring/);
    expect(await readFile(files.secretFile, 'utf8')).toBe('garbage from another keyring');
  });
  it('refuses a decrypted secret of the wrong shape instead of using it', async () => {
    await writeFile(files.secretFile, 'sealed:');
    await expect(chooseSecret(fakeStorage(true, 'gnome_libsecret'), files, 'linux')).rejects.toThrow(/damaged/);
    await writeFile(files.secretFile, 'sealed:short');
    await expect(chooseSecret(fakeStorage(true, 'kwallet5'), files, 'linux')).rejects.toThrow(/damaged/);
    expect(await readFile(files.secretFile, 'utf8')).toBe('sealed:short');
  });
  it('stores nothing when the keyring fails to seal, or seals what it cannot open again', async () => {
    const throwing = { ...fakeStorage(true, 'gnome_libsecret'), encryptString: () => { throw new Error('keyring locked'); } };
    await expect(chooseSecret(throwing, files, 'linux')).rejects.toThrow(/did not accept/);
    const forgetful = { ...fakeStorage(true, 'gnome_libsecret'), decryptString: () => 'something else' };
    await expect(chooseSecret(forgetful, files, 'linux')).rejects.toThrow(/did not accept/);
    expect(await readdir(dir)).toEqual([]);
  });
  it('never makes a new secret for a profile whose engine keys exist but whose secret file is gone', async () => {
    await mkdir(path.dirname(files.engineStateFile), { recursive: true });
    await writeFile(files.engineStateFile, '{}');
    const storage = fakeStorage(true, 'gnome_libsecret');
    expect(await chooseSecret(storage, files, 'linux')).toMatchObject({ mode: 'passphrase', secret: null });
    expect(storage.encrypted).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['engine']);
  });
  it('writes a secret file only where none exists, leaving no temp file either way', async () => {
    await writeFileAtomicExclusive(files.secretFile, 'first');
    await expect(writeFileAtomicExclusive(files.secretFile, 'second')).rejects.toThrow(/EEXIST/);
    expect(await readFile(files.secretFile, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['keystore-secret.bin']);
  });
});
