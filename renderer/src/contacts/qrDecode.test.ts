/**
 * Opening a QR code image that cannot be read says why and what to do instead, in real Chromium
 * (createImageBitmap decides what is an image).
 */
import { describe, expect, it } from 'vitest';
import { decodeQrImageFile } from './qrDecode.js';

describe('decodeQrImageFile', () => {
  it('refuses a file that is no image, and a too large one, each with the next step', async () => {
    const garbage = new Blob([new Uint8Array(3000).map((_, i) => (i * 7919) % 251)], { type: 'image/png' });
    expect(await decodeQrImageFile(garbage)).toEqual({
      ok: false,
      reason: 'That file is not an image Deaddrop can read. Open a PNG or JPEG picture of the QR code, or paste the contact code instead.',
    });
    const huge = new Blob([new Uint8Array(20 * 1024 * 1024 + 1)], { type: 'image/png' });
    expect(await decodeQrImageFile(huge)).toEqual({ ok: false, reason: expect.stringMatching(/^That image is too large to read \(over 20 MB\)\. .*paste the contact code instead\.$/) });
  });
});
