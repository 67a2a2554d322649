import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
let files: { secretFile: string; passphraseMarkerFile: string };
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-secret-'));
  files = { secretFile: path.join(dir, 'keystore-secret.bin'), passphraseMarkerFile: path.join(dir, 'keystore-uses-passphrase') };
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
    const other = await chooseSecret(fakeStorage(true, 'kwallet5'), { secretFile: path.join(dir, 'b'), passphraseMarkerFile: path.join(dir, 'm') }, 'linux');
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
});
