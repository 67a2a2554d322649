/** Finding a byte pattern inside binary data (multipart boundaries). */

/**
 * Index of the first occurrence of `needle` in `haystack` at or after `from`, or -1.
 * Jumps between occurrences of the needle's first byte with the native `indexOf`; when that byte
 * occurs nowhere else in the needle (true for a multipart delimiter, which starts with CR), the
 * total work is linear in the haystack.
 */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  if (needle.length === 0) return from <= haystack.length ? from : -1;
  const first = needle[0]!;
  const lastStart = haystack.length - needle.length;
  let i = haystack.indexOf(first, from);
  while (i !== -1 && i <= lastStart) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i = haystack.indexOf(first, i + 1);
  }
  return -1;
}

/**
 * Where a possible partial match of `needle` starts in the tail of `haystack` (the needle's prefix
 * runs to the end of the haystack), or `haystack.length` when there is none. Streaming parsers keep
 * those bytes back until the next chunk decides.
 */
export function partialMatchStart(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  if (first === undefined) return haystack.length;
  const windowStart = Math.max(0, haystack.length - needle.length + 1);
  for (let i = haystack.indexOf(first, windowStart); i !== -1; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (i + j < haystack.length && haystack[i + j] === needle[j]) j++;
    if (i + j === haystack.length) return i;
  }
  return haystack.length;
}
