import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64Url } from './encoding.js';
import { ProtocolError } from './errors.js';
import { DROP_ID_LENGTH, formatDropUrl, generateDropId, isValidDropId, parseDropUrl } from './dropId.js';

const ID = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP-';

function leadingRandomBitsAreTheOnlyOnes(id: string, bits: number): boolean {
  const bytes = fromBase64Url(id);
  for (let bit = bits; bit < 256; bit++) {
    if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return false;
  }
  return true;
}

describe('drop IDs', () => {
  it('validates exactly 43 base64url characters', () => {
    expect(DROP_ID_LENGTH).toBe(43);
    expect(isValidDropId(ID)).toBe(true);
    for (const bad of [ID.slice(1), `${ID}a`, `${ID.slice(1)}=`, `${ID.slice(1)}+`, `${ID.slice(1)}/`, `${ID.slice(1)}é`, ` ${ID.slice(1)}`, 42, null, undefined, {}]) {
      expect(isValidDropId(bad)).toBe(false);
    }
  });
  it('generates valid, distinct 256-bit IDs that decode to 32 bytes', () => {
    const a = generateDropId();
    const b = generateDropId();
    expect(isValidDropId(a)).toBe(true);
    expect(a).not.toBe(b);
    expect(fromBase64Url(a).length).toBe(32);
  });
  it('keeps only the first b bits random for the anonymity setting', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 256 }), (bits) => {
      const id = generateDropId(bits);
      expect(isValidDropId(id)).toBe(true);
      expect(leadingRandomBitsAreTheOnlyOnes(id, bits)).toBe(true);
    }));
    // With 1 bit there are only two possible drops.
    const seen = new Set<string>();
    for (let i = 0; i < 64; i++) seen.add(generateDropId(1));
    expect(seen.size).toBeLessThanOrEqual(2);
    expect(() => generateDropId(0)).toThrow(RangeError);
    expect(() => generateDropId(257)).toThrow(RangeError);
    expect(() => generateDropId(1.5)).toThrow(RangeError);
  });
});

describe('drop URLs', () => {
  it('splits server URL and drop ID for any service path', () => {
    expect(parseDropUrl(`http://localhost:5000/${ID}`)).toEqual({ serverUrl: 'http://localhost:5000', dropId: ID });
    expect(parseDropUrl(`https://drop.example.org/tools/drop/${ID}`)).toEqual({ serverUrl: 'https://drop.example.org/tools/drop', dropId: ID });
    expect(parseDropUrl(`https://Drop.Example.org:443/${ID}`)).toEqual({ serverUrl: 'https://drop.example.org', dropId: ID });
    expect(parseDropUrl(`http://[::1]:8080/x/${ID}`)).toEqual({ serverUrl: 'http://[::1]:8080/x', dropId: ID });
  });
  it('rejects anything that is not an http(s) drop URL with invalid_drop_url', () => {
    const bad = [
      '', ID, `ftp://host/${ID}`, `http://host/${ID}/`, `http://host/${ID}?x=1`, `http://host/${ID}#f`, `http://user:pw@host/${ID}`,
      `http://host/${ID.slice(1)}`, `http://host/${ID}x`, `javascript:alert(1)//${ID}`, ` http://host/${ID}`, `http://host/${'a'.repeat(3000)}/${ID}`,
    ];
    for (const url of bad) {
      expect(() => parseDropUrl(url), url).toThrow(ProtocolError);
      try {
        parseDropUrl(url);
      } catch (error) {
        expect((error as ProtocolError).code).toBe('invalid_drop_url');
      }
    }
  });
  it('formats and parses back, with or without a trailing slash on the server URL', () => {
    fc.assert(fc.property(
      fc.constantFrom('http://localhost:5000', 'https://example.org/', 'https://example.org/tools/drop', 'http://127.0.0.1:1/a/b/'),
      fc.integer({ min: 1, max: 256 }),
      (server, bits) => {
        const id = generateDropId(bits);
        const url = formatDropUrl(server, id);
        expect(url.endsWith(`/${id}`)).toBe(true);
        const parsed = parseDropUrl(url);
        expect(parsed.dropId).toBe(id);
        expect(formatDropUrl(parsed.serverUrl, parsed.dropId)).toBe(url);
        expect(parsed.serverUrl.endsWith('/')).toBe(false);
      },
    ));
    expect(() => formatDropUrl('http://host', 'short')).toThrow(ProtocolError);
    expect(() => formatDropUrl('mailto:x@y', ID)).toThrow(ProtocolError);
  });
  it('throws only ProtocolError on arbitrary text', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.webUrl().map((u) => `${u}/${ID}`)), (text) => {
      try {
        const { serverUrl, dropId } = parseDropUrl(text);
        expect(isValidDropId(dropId)).toBe(true);
        expect(serverUrl).toMatch(/^https?:\/\//);
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
      }
    }));
  });
});
