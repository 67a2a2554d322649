import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { SafeStorage } from 'electron';
import { writeFileAtomic } from './atomicFile.js';

/** The parts of Electron's safeStorage the provider needs. */
export type SecretStorage = Pick<
  SafeStorage,
  'isEncryptionAvailable' | 'encryptString' | 'decryptString' | 'getSelectedStorageBackend'
>;

export interface SecretFiles {
  secretFile: string;
  passphraseMarkerFile: string;
}

/**
 * `keyring`: a random secret kept encrypted by the OS keyring, the engine starts unlocked.
 * `passphrase`: no usable keyring, the engine starts locked and the UI asks for a passphrase.
 */
export type SecretChoice =
  | { mode: 'keyring'; secret: string }
  | { mode: 'passphrase'; secret: null; reason: string };

/** True when safeStorage really protects data (on Linux `basic_text` means a hard-coded key). */
export function keyringUsable(storage: SecretStorage, platform: NodeJS.Platform): boolean {
  if (!storage.isEncryptionAvailable()) return false;
  if (platform !== 'linux') return true;
  const backend = storage.getSelectedStorageBackend();
  return backend !== 'basic_text' && backend !== 'unknown';
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Chooses where the engine's key-encryption secret comes from, once per profile, and sticks to it:
 * a profile that started with a passphrase keeps asking for it even if a keyring appears later,
 * because its keys are encrypted under that passphrase. An existing secret that the keyring can no
 * longer decrypt is an error (never silently replaced: the keys depend on it).
 */
export async function chooseSecret(
  storage: SecretStorage,
  files: SecretFiles,
  platform: NodeJS.Platform,
): Promise<SecretChoice> {
  if (await exists(files.secretFile)) {
    if (!storage.isEncryptionAvailable()) {
      throw new Error('The system keyring that protects this profile is not available. Unlock it and start Deaddrop again.');
    }
    try {
      return { mode: 'keyring', secret: storage.decryptString(await fs.readFile(files.secretFile)) };
    } catch {
      throw new Error('The system keyring could not decrypt this profile\'s key. Was the keyring reset?');
    }
  }
  if (await exists(files.passphraseMarkerFile)) {
    return { mode: 'passphrase', secret: null, reason: 'This profile is protected by a passphrase.' };
  }
  if (!keyringUsable(storage, platform)) {
    await writeFileAtomic(files.passphraseMarkerFile, 'The engine keys of this profile are protected by a passphrase.\n');
    return { mode: 'passphrase', secret: null, reason: 'No system keyring is available to keep the key safely.' };
  }
  const secret = randomBytes(32).toString('base64url');
  await writeFileAtomic(files.secretFile, storage.encryptString(secret));
  return { mode: 'keyring', secret };
}
