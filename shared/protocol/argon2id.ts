/**
 * Argon2id, the passphrase KDF (libsodium's crypto_pwhash, sumo build: the standard build lacks it),
 * run in the calling thread. It costs a third of a second at our defaults and seconds at the most a
 * file may ask for, so the engine runs it in a crypto worker (`PassphraseKdf` over its pool), never
 * on Electron's main thread.
 */
import sodium from 'libsodium-wrappers-sumo';

/** Argon2id cost. Stored in the envelope, so files keep opening when defaults change. */
export interface PassphraseLimits {
  /** Passes over memory (libsodium opslimit). */
  opsLimit: number;
  /** Bytes of memory (libsodium memlimit). */
  memLimit: number;
}

/**
 * Derives `length` key bytes from a passphrase (UTF-8, normalised by the caller) and a salt. An
 * injected KDF lets a host move the work to another thread; `argon2id` below runs it in place.
 */
export type PassphraseKdf = (passphrase: Uint8Array, salt: Uint8Array, limits: PassphraseLimits, length: number) => Promise<Uint8Array>;

let sodiumReady: Promise<void> | null = null;

/** Argon2id version 1.3 in the calling thread. */
export const argon2id: PassphraseKdf = async (passphrase, salt, limits, length) => {
  sodiumReady ??= sodium.ready;
  await sodiumReady;
  return sodium.crypto_pwhash(length, passphrase, salt, limits.opsLimit, limits.memLimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
};
