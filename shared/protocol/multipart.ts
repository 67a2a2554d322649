/**
 * The GET 200 body of the drop server (PROTOCOL.md section 2): `multipart/mixed`, one part per
 * message, raw 8-bit bytes. This file builds it and finds its boundary; `multipartParser.ts` reads it.
 */
import { indexOfBytes } from './byteSearch.js';
import { concatBytes, randomBytes, toBase64Url } from './encoding.js';
import { formatHttpDate } from './httpDate.js';

export { boundaryFromContentType, isValidBoundary } from './multipartBoundary.js';
export { MultipartParser, parseMultipart, type MultipartLimits, type MultipartPart } from './multipartParser.js';

/** 24 random bytes: 32 base64url characters, all of them legal boundary characters. */
const BOUNDARY_RANDOM_BYTES = 24;
/** A random 192-bit boundary colliding with a part is never expected; this only bounds the loop. */
const MAX_BOUNDARY_ATTEMPTS = 8;

const encoder = new TextEncoder();

/** The two bytes that end every part's body. */
export const PART_TAIL: Uint8Array = Uint8Array.of(13, 10);

/** A fresh random boundary that occurs in none of `parts`, so raw bytes can go in unescaped. */
export function chooseBoundary(parts: readonly Uint8Array[]): string {
  for (let attempt = 0; attempt < MAX_BOUNDARY_ATTEMPTS; attempt++) {
    const boundary = toBase64Url(randomBytes(BOUNDARY_RANDOM_BYTES));
    const needle = encoder.encode(boundary);
    if (parts.every((part) => indexOfBytes(part, needle) === -1)) return boundary;
  }
  throw new Error('chooseBoundary: no boundary found that avoids every part');
}

/**
 * `--B\r\nContent-Type: application/octet-stream\r\nDate: <date>\r\n\r\n`: what precedes a part's bytes,
 * with `extra` header lines (`Name: value`) before the blank line when given.
 */
export function encodePartHead(boundary: string, date: Date, extra = ''): Uint8Array {
  return encoder.encode(`--${boundary}\r\nContent-Type: application/octet-stream\r\nDate: ${formatHttpDate(date)}\r\n${extra && `${extra}\r\n`}\r\n`);
}

/** `--B--\r\n`: closes the body. */
export function encodeClose(boundary: string): Uint8Array {
  return encoder.encode(`--${boundary}--\r\n`);
}

/** The Content-Type header value announcing `boundary`. */
export function multipartContentType(boundary: string): string {
  return `multipart/mixed; boundary="${boundary}"`;
}

/** A complete multipart body for `parts` (in the given order) with a boundary that avoids them all. */
export function buildMultipart(parts: readonly { body: Uint8Array; date: Date }[]): {
  boundary: string;
  contentType: string;
  body: Uint8Array;
} {
  const boundary = chooseBoundary(parts.map((part) => part.body));
  const pieces: Uint8Array[] = [];
  for (const part of parts) pieces.push(encodePartHead(boundary, part.date), part.body, PART_TAIL);
  pieces.push(encodeClose(boundary));
  return { boundary, contentType: multipartContentType(boundary), body: concatBytes(...pieces) };
}
