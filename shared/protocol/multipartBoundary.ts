/** Multipart boundaries (RFC 2046 section 5.1.1): which are legal, and reading one from a Content-Type. */
import { ProtocolError } from './errors.js';

/** RFC 2046 `bchars`: 1 to 70 of these, not ending in a space. */
const BOUNDARY_PATTERN = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
/** Content-Type headers longer than this are not worth parsing. */
const MAX_CONTENT_TYPE_LENGTH = 1024;

/** True when `boundary` is a legal RFC 2046 boundary. */
export function isValidBoundary(boundary: string): boolean {
  return typeof boundary === 'string' && BOUNDARY_PATTERN.test(boundary);
}

/** Splits `; name=value` parameters, honouring quoted strings with backslash escapes. */
function parseParameters(text: string): Map<string, string> | null {
  const params = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === ';') i++;
    if (i >= text.length) break;
    const eq = text.indexOf('=', i);
    if (eq < 0) return null;
    const name = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const c = text[i]!;
        if (c === '\\' && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
        } else if (c === '"') {
          closed = true;
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) return null;
      while (text[i] === ' ' || text[i] === '\t') i++;
      if (i < text.length && text[i] !== ';') return null;
    } else {
      const end = text.indexOf(';', i);
      value = text.slice(i, end < 0 ? text.length : end).trim();
      i = end < 0 ? text.length : end;
    }
    if (!params.has(name)) params.set(name, value);
  }
  return params;
}

/**
 * The boundary of a `multipart/*` Content-Type header (quoted or bare), or null when the header is
 * missing, not multipart, or carries no legal boundary.
 */
export function boundaryFromContentType(header: string | null | undefined): string | null {
  if (typeof header !== 'string' || header.length > MAX_CONTENT_TYPE_LENGTH) return null;
  const semicolon = header.indexOf(';');
  if (semicolon < 0) return null;
  const mediaType = header.slice(0, semicolon).trim().toLowerCase();
  if (!/^multipart\/[a-z0-9!#$&^_.+-]+$/.test(mediaType)) return null;
  const boundary = parseParameters(header.slice(semicolon + 1))?.get('boundary');
  return boundary !== undefined && isValidBoundary(boundary) ? boundary : null;
}

/** @throws ProtocolError 'invalid_multipart' for an illegal boundary. */
export function assertValidBoundary(boundary: string): void {
  if (!isValidBoundary(boundary)) throw new ProtocolError('invalid_multipart', 'The multipart boundary is not valid.');
}
