/**
 * Which shared images are shown inline, and which are fetched without a click. Only raster formats
 * the browser decodes without running anything: never SVG (it can carry script), whatever the sender
 * calls it. The announced type is a claim: the bytes must start like that format too.
 */
import type { EncryptedFileRef } from '../../../shared/modules/share.js';
import type { ContactStatus } from '../db/records.js';

export const INLINE_IMAGE_TYPES: readonly string[] = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

export function isInlineImageType(mime: string | null): boolean {
  return mime !== null && INLINE_IMAGE_TYPES.includes(mime.toLowerCase());
}

const MB = 1024 * 1024;

/**
 * Whether a file from a contact is downloaded as soon as its card shows: an image in a format shown
 * inline, from a contact the user accepted or verified, announced no larger than the user's limit
 * (`limitMb`, 0 = never). A stranger's request never makes the app fetch anything.
 */
export function shouldAutoDownload(file: {
  direction: 'in' | 'out';
  contactStatus: ContactStatus | null;
  ref: EncryptedFileRef | null;
  mime: string | null;
  limitMb: number;
}): boolean {
  if (file.direction !== 'in' || file.ref === null || !isInlineImageType(file.mime)) return false;
  if (file.contactStatus !== 'accepted' && file.contactStatus !== 'verified') return false;
  if (!Number.isFinite(file.limitMb) || file.limitMb <= 0) return false;
  return file.ref.size <= file.limitMb * MB;
}

/** The image format the bytes start with, among those shown inline; null for anything else. */
export function sniffImageType(head: Uint8Array): string | null {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x47, 0x49, 0x46, 0x38) && (head[4] === 0x37 || head[4] === 0x39) && head[5] === 0x61) return 'image/gif';
  if (starts(0x52, 0x49, 0x46, 0x46) && head[8] === 0x57 && head[9] === 0x45 && head[10] === 0x42 && head[11] === 0x50) return 'image/webp';
  return null;
}
