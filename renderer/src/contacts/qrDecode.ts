import jsQR from 'jsqr';

/** Large photos are scaled down first: QR codes stay readable and decoding stays quick. */
const MAX_DECODE_EDGE = 1600;
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

export type QrImageResult = { ok: true; text: string } | { ok: false; reason: string };

/** Reads the QR code in an image file (PNG, JPEG, …). */
export async function decodeQrImageFile(file: Blob): Promise<QrImageResult> {
  if (file.size > MAX_IMAGE_BYTES) {
    return { ok: false, reason: 'That image is too large to read (over 20 MB). Open a smaller picture or a screenshot of the code, or paste the contact code instead.' };
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return { ok: false, reason: 'That file is not an image Deaddrop can read. Open a PNG or JPEG picture of the QR code, or paste the contact code instead.' };
  }
  try {
    const scale = Math.min(1, MAX_DECODE_EDGE / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d');
    if (!context) return { ok: false, reason: 'This window cannot read images.' };
    context.drawImage(bitmap, 0, 0, width, height);
    const text = decodeQrPixels(context.getImageData(0, 0, width, height));
    return text === null ? { ok: false, reason: 'No QR code was found in that image. Try a sharper picture showing the whole code, or paste the contact code instead.' } : { ok: true, text };
  } finally {
    bitmap.close();
  }
}

/** Decodes a QR code from raw pixels (an image or a camera frame); null when there is none. */
export function decodeQrPixels(image: ImageData): string | null {
  const code = jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' });
  return code && code.data.length > 0 ? code.data : null;
}
