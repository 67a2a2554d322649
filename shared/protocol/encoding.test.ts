import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import {
  bytesEqual, concatBytes, fromBase64Url, fromHex, randomBytes, sha256Hex, toBase64Url, toHex, utf8Decode, utf8Encode,
} from './encoding.js';

describe('hex', () => {
  it('round-trips any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const hex = toHex(bytes);
      expect(hex).toMatch(/^[0-9a-f]*$/);
      expect(fromHex(hex)).toEqual(bytes);
      expect(fromHex(hex.toUpperCase())).toEqual(bytes);
    }));
  });
  it('rejects odd length, non-hex characters and a wrong expected length with ProtocolError', () => {
    for (const bad of ['a', 'zz', '0g', ' 00', '00 ', '0x00']) expect(() => fromHex(bad)).toThrow(ProtocolError);
    expect(() => fromHex('0011', 3)).toThrow(ProtocolError);
    expect(fromHex('0011', 2)).toEqual(Uint8Array.of(0, 0x11));
  });
  it('never throws anything but ProtocolError on arbitrary text', () => {
    fc.assert(fc.property(fc.string(), (text) => {
      try {
        fromHex(text);
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
      }
    }));
  });
});

describe('base64url', () => {
  it('matches RFC 4648 test vectors (url alphabet, no padding)', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of vectors) {
      expect(toBase64Url(utf8Encode(plain))).toBe(encoded);
      expect(utf8Decode(fromBase64Url(encoded))).toBe(plain);
    }
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
  });
  it('round-trips any bytes and agrees with the platform encoder', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const text = toBase64Url(bytes);
      expect(fromBase64Url(text)).toEqual(bytes);
      let binary = '';
      for (const b of bytes) binary += String.fromCharCode(b);
      expect(text).toBe(btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
    }));
  });
  it('decodes arbitrary text either canonically or with a ProtocolError', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('A', 'g', 'Q', 'z', '0', '-', '_', '=', '+', '/', ' ', 'é') }), (text) => {
      try {
        expect(toBase64Url(fromBase64Url(text))).toBe(text);
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
      }
    }));
  });
  it('rejects padding, foreign characters, impossible lengths and non-canonical trailing bits', () => {
    for (const bad of ['Zg==', 'Zm9v+', 'Zm9v/', 'Z', 'Zm9vY', 'Zh', 'Zm9']) expect(() => fromBase64Url(bad)).toThrow(ProtocolError);
  });
});

describe('utf8', () => {
  it('round-trips well-formed strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (text) => {
      expect(utf8Decode(utf8Encode(text))).toBe(text);
    }));
  });
  it('decodes arbitrary bytes either losslessly or with a ProtocolError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        expect(utf8Encode(utf8Decode(bytes))).toEqual(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
      }
    }));
  });
  it('rejects invalid UTF-8 instead of replacing it', () => {
    for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      expect(() => utf8Decode(Uint8Array.from(bad))).toThrow(ProtocolError);
    }
  });
});

describe('random, concat, equality and hashing', () => {
  it('draws the requested number of bytes, also beyond the 65536-byte WebCrypto limit', () => {
    const big = randomBytes(200_000);
    expect(big.length).toBe(200_000);
    // The last chunk must be filled too: 20 000 zero bytes at the end is not plausible randomness.
    expect(big.subarray(180_000).some((b) => b !== 0)).toBe(true);
    expect(randomBytes(0).length).toBe(0);
    expect(bytesEqual(randomBytes(32), randomBytes(32))).toBe(false);
    expect(() => randomBytes(-1)).toThrow(RangeError);
  });
  it('concatenates and compares', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 5 }), (parts) => {
      const joined = concatBytes(...parts);
      expect(Array.from(joined)).toEqual(parts.flatMap((p) => Array.from(p)));
      expect(bytesEqual(joined, joined.slice())).toBe(true);
      if (joined.length > 0) {
        const changed = joined.slice();
        changed[0] = changed[0]! ^ 1;
        expect(bytesEqual(joined, changed)).toBe(false);
      }
    }));
    expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 0))).toBe(false);
  });
  it('hashes with SHA-256', async () => {
    expect(await sha256Hex(utf8Encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await sha256Hex(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
