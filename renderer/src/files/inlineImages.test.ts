import { describe, expect, it } from 'vitest';
import type { EncryptedFileRef } from '../../../shared/ipc/contract.js';
import { isInlineImageType, shouldAutoDownload, sniffImageType } from './inlineImages.js';

const MB = 1024 * 1024;
const ref = (size: number): EncryptedFileRef => ({
  scheme: 'deaddrop-file-1',
  url: `http://127.0.0.1:1/blobs/${'a'.repeat(43)}`,
  key: 'k'.repeat(43),
  size,
  cipherSize: size + 100,
  hash: 'h'.repeat(43),
});
const image = { direction: 'in' as const, contactStatus: 'accepted' as const, ref: ref(2 * MB), mime: 'image/png', limitMb: 5 };

describe('automatic image downloads', () => {
  it('fetches an image from an accepted or verified contact up to the limit', () => {
    expect(shouldAutoDownload(image)).toBe(true);
    expect(shouldAutoDownload({ ...image, contactStatus: 'verified' })).toBe(true);
    expect(shouldAutoDownload({ ...image, ref: ref(5 * MB) })).toBe(true);
    expect(shouldAutoDownload({ ...image, ref: ref(5 * MB + 1) })).toBe(false);
    expect(shouldAutoDownload({ ...image, limitMb: 0.5, ref: ref(MB / 2) })).toBe(true);
  });

  it('never for a limit of 0, a stranger, a blocked contact, our own file or a notice it cannot open', () => {
    expect(shouldAutoDownload({ ...image, limitMb: 0 })).toBe(false);
    expect(shouldAutoDownload({ ...image, limitMb: Number.NaN })).toBe(false);
    for (const contactStatus of ['unknown', 'ignored', 'blocked', null] as const) expect(shouldAutoDownload({ ...image, contactStatus })).toBe(false);
    expect(shouldAutoDownload({ ...image, direction: 'out' })).toBe(false);
    expect(shouldAutoDownload({ ...image, ref: null })).toBe(false);
  });

  it('only for PNG, JPEG, GIF and WebP: never SVG, whatever else the notice says', () => {
    for (const mime of ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'IMAGE/PNG']) expect(isInlineImageType(mime)).toBe(true);
    for (const mime of ['image/svg+xml', 'text/html', 'application/pdf', 'image/bmp', null]) {
      expect(isInlineImageType(mime)).toBe(false);
      expect(shouldAutoDownload({ ...image, mime })).toBe(false);
    }
  });
});

describe('sniffImageType', () => {
  const bytes = (...values: number[]) => new Uint8Array([...values, ...new Array<number>(16).fill(0)]);
  it('knows the four formats by their first bytes', () => {
    expect(sniffImageType(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toBe('image/png');
    expect(sniffImageType(bytes(0xff, 0xd8, 0xff, 0xe0))).toBe('image/jpeg');
    expect(sniffImageType(new TextEncoder().encode('GIF89a...'))).toBe('image/gif');
    expect(sniffImageType(new TextEncoder().encode('GIF87a...'))).toBe('image/gif');
    expect(sniffImageType(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
  });

  it('refuses anything else, an SVG sent as image/png among them', () => {
    expect(sniffImageType(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script>'))).toBeNull();
    expect(sniffImageType(new TextEncoder().encode('RIFF\0\0\0\0WAVEfmt '))).toBeNull();
    expect(sniffImageType(new TextEncoder().encode('GIF8'))).toBeNull();
    expect(sniffImageType(new Uint8Array())).toBeNull();
  });
});
