import fc from 'fast-check';
import { hkdfSync } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import { describe, expect, it } from 'vitest';
import {
  FILE_CHUNK_BYTES,
  FileCipherError,
  FileDecryptor,
  ciphertextSize,
  decryptFile,
  encryptFile,
  newFileKey,
  plaintextSize,
} from '../../electron/core/files/fileCipher.js';

async function* pieces(bytes: Uint8Array, cuts: number[] = []): AsyncIterable<Uint8Array> {
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    yield bytes.subarray(start, cut);
    start = cut;
  }
  yield bytes.subarray(start);
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return join(parts);
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((byte, i) => byte === b[i]);

const encrypt = (key: Uint8Array, plain: Uint8Array, cuts?: number[]) => collect(encryptFile(key, pieces(plain, cuts)));
const decrypt = (key: Uint8Array, cipher: Uint8Array, cuts?: number[]) => collect(decryptFile(key, pieces(cipher, cuts)));

function random(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7919 + (i >> 8) * 31) & 0xff;
  return bytes;
}

describe('deaddrop-file-1', () => {
  it.each([0, 1, FILE_CHUNK_BYTES - 1, FILE_CHUNK_BYTES, FILE_CHUNK_BYTES + 1, 3 * FILE_CHUNK_BYTES, 3 * FILE_CHUNK_BYTES + 17])(
    'round-trips %i bytes with the size the notice announces',
    async (size) => {
      const key = newFileKey();
      const plain = random(size);
      const cipher = await encrypt(key, plain);
      expect(cipher.length).toBe(ciphertextSize(size));
      expect(plaintextSize(cipher.length)).toBe(size);
      expect(same(await decrypt(key, cipher), plain)).toBe(true);
    },
  );

  it('round-trips whatever the pieces the file and the ciphertext arrive in', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 * FILE_CHUNK_BYTES + 100 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        async (size, plainCuts, cipherCuts) => {
          const key = newFileKey();
          const plain = random(size);
          const cipher = await encrypt(key, plain, plainCuts.map((c) => Math.floor(c * size)));
          const back = await decrypt(key, cipher, cipherCuts.map((c) => Math.floor(c * cipher.length)));
          expect(same(back, plain)).toBe(true);
        },
      ),
      { seed: 20261130, numRuns: 40 },
    );
  });

  it('follows its description: salt, HKDF-SHA-256 payload key, ChaCha20-Poly1305 with an 11-byte counter and a last flag (checked with libsodium)', async () => {
    await sodium.ready;
    const key = newFileKey();
    const plain = random(FILE_CHUNK_BYTES + 100);
    const cipher = await encrypt(key, plain);
    const salt = cipher.subarray(0, 16);
    const payloadKey = new Uint8Array(hkdfSync('sha256', key, salt, 'deaddrop-file-1 payload', 32));
    const nonceOf = (index: number, last: boolean) => Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, index, last ? 1 : 0);
    const first = cipher.subarray(16, 16 + FILE_CHUNK_BYTES + 16);
    const second = cipher.subarray(16 + FILE_CHUNK_BYTES + 16);
    const open = (chunk: Uint8Array, nonce: Uint8Array) => sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, chunk, null, nonce, payloadKey);
    expect(same(open(first, nonceOf(0, false)), plain.subarray(0, FILE_CHUNK_BYTES))).toBe(true);
    expect(same(open(second, nonceOf(1, true)), plain.subarray(FILE_CHUNK_BYTES))).toBe(true);
    expect(() => open(second, nonceOf(1, false))).toThrow();
  });

  it('two encryptions of one file under one key differ (a fresh salt, so a fresh payload key, each time)', async () => {
    const key = newFileKey();
    const plain = random(100);
    expect(same(await encrypt(key, plain), await encrypt(key, plain))).toBe(false);
  });

  it('refuses a wrong key, a changed byte anywhere, a stream cut short at a chunk boundary, an extended one and swapped chunks', async () => {
    const key = newFileKey();
    const plain = random(2 * FILE_CHUNK_BYTES + 10);
    const cipher = await encrypt(key, plain);
    await expect(decrypt(newFileKey(), cipher)).rejects.toBeInstanceOf(FileCipherError);
    for (const at of [0, 15, 16, 100, 16 + FILE_CHUNK_BYTES + 16, cipher.length - 1]) {
      const changed = cipher.slice();
      changed[at]! ^= 1;
      await expect(decrypt(key, changed), `byte ${at}`).rejects.toBeInstanceOf(FileCipherError);
    }
    const chunk = FILE_CHUNK_BYTES + 16;
    await expect(decrypt(key, cipher.subarray(0, 16 + chunk))).rejects.toThrow('ends in the middle');
    await expect(decrypt(key, cipher.subarray(0, 16 + chunk + 16))).rejects.toBeInstanceOf(FileCipherError);
    await expect(decrypt(key, cipher.subarray(0, 16 + chunk + 5))).rejects.toBeInstanceOf(FileCipherError);
    await expect(decrypt(key, cipher.subarray(0, 10))).rejects.toThrow('shorter than its header');
    const other = await encrypt(key, random(10));
    await expect(decrypt(key, join([cipher, other.subarray(16)]))).rejects.toBeInstanceOf(FileCipherError);
    const swapped = join([cipher.subarray(0, 16), cipher.subarray(16 + chunk, 16 + 2 * chunk), cipher.subarray(16, 16 + chunk), cipher.subarray(16 + 2 * chunk)]);
    await expect(decrypt(key, swapped)).rejects.toBeInstanceOf(FileCipherError);
  });

  it('a decryptor takes nothing after its final chunk', async () => {
    const key = newFileKey();
    const cipher = await encrypt(key, random(5));
    const decryptor = new FileDecryptor(key);
    decryptor.push(cipher);
    decryptor.finish();
    expect(() => decryptor.push(Uint8Array.of(1))).toThrow('after its final chunk');
  });

  it('sizes: no plaintext has a ciphertext shorter than one empty chunk or with a dangling partial tag', () => {
    expect(ciphertextSize(0)).toBe(16 + 16);
    expect(plaintextSize(16 + 16)).toBe(0);
    expect(plaintextSize(16 + 15)).toBeNull();
    expect(plaintextSize(16 + FILE_CHUNK_BYTES + 16 + 5)).toBeNull();
    expect(plaintextSize(-1)).toBeNull();
    for (const size of [1, 1000, FILE_CHUNK_BYTES, 5 * FILE_CHUNK_BYTES - 1, 500_000_000]) expect(plaintextSize(ciphertextSize(size))).toBe(size);
  });

});
