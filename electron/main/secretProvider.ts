import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { SafeStorage } from 'electron';
import { writeFileAtomic, writeFileAtomicExclusive } from '../core/state/atomicFile.js';

/** The parts of Electron's safeStorage the provider needs. */
export type SecretStorage = Pick<
  SafeStorage,
  'isEncryptionAvailable' | 'encryptString' | 'decryptString' | 'getSelectedStorageBackend'
>;

export interface SecretFiles {
  secretFile: string;
  passphraseMarkerFile: string;
  /** The engine's state store state; if it exists, its keys are already sealed under some secret. */
  engineStateFile: string;
}

/**
 * `keyring`: a random secret kept encrypted by the OS keyring, the engine starts unlocked.
 * `passphrase`: no usable keyring, the engine starts locked and the UI asks for a passphrase.
 */
export type SecretChoice =
  | { mode: 'keyring'; secret: string }
  | { mode: 'passphrase'; secret: null; reason: string };

/** 32 random bytes, base64url: the only thing this provider ever stores, so anything else is damage. */
const secretPattern = /^[-_A-Za-z0-9]{43}$/;

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

async function readKeyringSecret(storage: SecretStorage, secretFile: string): Promise<string> {
  if (!storage.isEncryptionAvailable()) {
    throw new Error('The system keyring that protects this profile is not available. Unlock it and start Deaddrop again.');
  }
  let secret: string;
  try {
    secret = storage.decryptString(await fs.readFile(secretFile));
  } catch {
    throw new Error("The system keyring could not decrypt this profile's key. Was the keyring reset?");
  }
  if (!secretPattern.test(secret)) throw new Error("The system keyring returned a damaged key for this profile. Was the keyring reset?");
  return secret;
}

/**
 * Seals a new secret with the keyring, checks the keyring gives it back, and stores it without ever
 * replacing an existing file. Any keyring failure throws: nothing is stored then.
 */
async function createKeyringSecret(storage: SecretStorage, secretFile: string): Promise<string> {
  const secret = randomBytes(32).toString('base64url');
  let sealed: Buffer;
  try {
    sealed = storage.encryptString(secret);
    if (storage.decryptString(sealed) !== secret) throw new Error('round trip mismatch');
  } catch {
    throw new Error('The system keyring did not accept a key for this profile. Unlock the keyring and start Deaddrop again.');
  }
  await writeFileAtomicExclusive(secretFile, sealed);
  return secret;
}

/**
 * Chooses where the engine's key-encryption secret comes from, once per profile, and sticks to it:
 * a profile that started with a passphrase keeps asking for it even if a keyring appears later,
 * because its keys are encrypted under that passphrase. An existing secret that the keyring can no
 * longer decrypt is an error (never silently replaced: the keys depend on it), and so is a keyring
 * that fails while creating one. A new secret is only made for a profile without engine keys; one
 * whose secret file went missing asks for a passphrase instead of sealing its keys' absence over.
 */
export async function chooseSecret(storage: SecretStorage, files: SecretFiles, platform: NodeJS.Platform): Promise<SecretChoice> {
  if (await exists(files.secretFile)) return { mode: 'keyring', secret: await readKeyringSecret(storage, files.secretFile) };
  if (await exists(files.passphraseMarkerFile)) {
    return { mode: 'passphrase', secret: null, reason: 'This profile is protected by a passphrase.' };
  }
  if (await exists(files.engineStateFile)) {
    return { mode: 'passphrase', secret: null, reason: "This profile's keyring key is missing; its keys open only with the secret they were sealed with." };
  }
  if (!keyringUsable(storage, platform)) {
    await writeFileAtomic(files.passphraseMarkerFile, 'The engine keys of this profile are protected by a passphrase.\n');
    return { mode: 'passphrase', secret: null, reason: 'No system keyring is available to keep the key safely.' };
  }
  return { mode: 'keyring', secret: await createKeyringSecret(storage, files.secretFile) };
}
