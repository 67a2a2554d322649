/**
 * The data key that encrypts private keys at rest. It is random, sealed once with the key-encryption
 * secret (an expensive passphrase KDF), so unlocking derives once and saving derives never.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;

export class DataKey {
  private constructor(private readonly key: Buffer) {}

  static generate(): DataKey {
    return new DataKey(randomBytes(32));
  }

  static fromBytes(bytes: Uint8Array): DataKey {
    if (bytes.length !== 32) throw new RangeError('A data key has 32 bytes.');
    return new DataKey(Buffer.from(bytes));
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.key);
  }

  /**
   * A 32-byte key for another purpose, derived with HKDF-SHA256 under `purpose`: the same for the
   * life of the data key (a passphrase change rewraps the data key, it does not replace it).
   */
  derive(purpose: string): Uint8Array {
    return new Uint8Array(hkdfSync('sha256', this.key, new Uint8Array(0), purpose, 32));
  }

  /** base64 of nonce || ciphertext || tag; `context` binds the secret to its owner (AAD). */
  seal(plaintext: Uint8Array, context: string): string {
    const nonce = randomBytes(NONCE_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
  }

  /** @throws Error when the text was not sealed by this key for this context. */
  open(sealed: string, context: string): Uint8Array {
    const bytes = Buffer.from(sealed, 'base64');
    if (bytes.length < NONCE_LENGTH + TAG_LENGTH) throw new Error('Sealed key material is truncated.');
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, NONCE_LENGTH));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_LENGTH));
    const body = bytes.subarray(NONCE_LENGTH, bytes.length - TAG_LENGTH);
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  }
}
