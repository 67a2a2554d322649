/**
 * A file name someone else chose, made safe to create in a folder the user picked: never a path
 * (separators and `..` cannot climb out), no control, bidi or reserved characters (a name must not
 * pretend to end in another extension), not a device name Windows reserves, at most 200 characters,
 * never empty.
 */
const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

export function safeFileName(name: string, fallback = 'file'): string {
  let clean = name
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
    .replace(/[/\\:*?"<>|]/g, '_')
    .trim()
    // Leading dots would hide the file or, alone, name a folder; trailing dots and spaces vanish on Windows.
    .replace(/^\.+/, '')
    .replace(/[. ]+$/, '');
  if (RESERVED.test(clean)) clean = `_${clean}`;
  if (clean.length > 200) {
    const dot = clean.lastIndexOf('.');
    const extension = dot > 0 && clean.length - dot <= 16 ? clean.slice(dot) : '';
    clean = clean.slice(0, 200 - extension.length) + extension;
  }
  return clean.length > 0 ? clean : fallback;
}
