/**
 * The web-platform APIs shared/ may use, the same in Node, browsers and workers: shared/ compiles
 * against these instead of the DOM library (tsconfig.shared.json), so anything else it reaches for
 * fails to compile. Declared as narrowly as shared/ uses them; widen one here on purpose, never by
 * adding a library. The other tsconfigs exclude this file: they get the real declarations from the
 * DOM library or @types/node.
 */
/* eslint-disable no-var -- a global declared with var is also a property of globalThis, as at run time */

interface TextEncoder {
  encode(input: string): Uint8Array<ArrayBuffer>;
}
declare var TextEncoder: { new (): TextEncoder };

interface TextDecoder {
  decode(input: Uint8Array): string;
}
declare var TextDecoder: { new (label: 'utf-8', options: { fatal: boolean; ignoreBOM: boolean }): TextDecoder };

/** A parsed absolute URL (WHATWG URL Standard); read-only here. */
interface URL {
  readonly protocol: string;
  readonly username: string;
  readonly password: string;
  readonly hostname: string;
  readonly origin: string;
  readonly pathname: string;
  readonly search: string;
  readonly hash: string;
}
declare var URL: { new (url: string): URL };

/** An opaque WebCrypto key handle. */
interface CryptoKey {
  readonly type: 'secret' | 'private' | 'public';
}
type BufferSource = ArrayBuffer | Uint8Array<ArrayBuffer>;
interface AesGcmParams {
  name: string;
  iv: BufferSource;
  additionalData?: BufferSource;
  tagLength?: number;
}
/** The WebCrypto operations of the box (HMAC-SHA512, AES-256-GCM) and of content hashes (SHA-256). */
interface SubtleCrypto {
  importKey(
    format: 'raw',
    keyData: BufferSource,
    algorithm: 'AES-GCM' | { name: 'HMAC'; hash: 'SHA-512' },
    extractable: false,
    keyUsages: ('encrypt' | 'decrypt' | 'sign')[],
  ): Promise<CryptoKey>;
  sign(algorithm: 'HMAC', key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  encrypt(algorithm: AesGcmParams, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  decrypt(algorithm: AesGcmParams, key: CryptoKey, data: BufferSource): Promise<ArrayBuffer>;
  digest(algorithm: 'SHA-256', data: BufferSource): Promise<ArrayBuffer>;
}
interface Crypto {
  getRandomValues<T extends Uint8Array>(array: T): T;
  /** Absent outside a secure context in browsers: shared/protocol/x25519.ts checks before use. */
  readonly subtle: SubtleCrypto;
}
declare var crypto: Crypto;

/** Only the logger (shared/log.ts) writes here. */
declare var console: {
  log(line: string): void;
  error(line: string): void;
};
