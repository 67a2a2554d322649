/**
 * Streaming reader of the drop server's `multipart/mixed` GET body. Treats the stream as hostile:
 * chunks may split anywhere (also inside a boundary), every size is bounded before it is buffered,
 * work is linear in the input, and anything malformed is a ProtocolError, never another exception.
 */
import { indexOfBytes, partialMatchStart } from './byteSearch.js';
import { concatBytes } from './encoding.js';
import { ProtocolError } from './errors.js';
import { assertValidBoundary } from './multipartBoundary.js';

/** Bounds on what one body may make the parser hold or return. */
export interface MultipartLimits {
  maxParts: number;
  maxPartBytes: number;
  /** Every byte pushed counts, preamble and epilogue included. */
  maxTotalBytes: number;
  /**
   * What a part larger than `maxPartBytes` does: 'fail' (the default) ends the parse with a
   * 'multipart_limit' error; 'skip' drops that part while streaming, without buffering it, and goes on
   * with the next one (`skippedParts` counts them).
   */
  oversizedParts?: 'fail' | 'skip';
}

/** One part: its headers (names lower-cased) and its raw bytes. */
export interface MultipartPart {
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A part's header block; ours are ~80 bytes. */
const MAX_HEADER_BYTES = 8192;
/** RFC 2046 transport padding (spaces or tabs after a boundary) tolerated before its CRLF. */
const MAX_TRANSPORT_PADDING = 256;
const CR = 13;
const LF = 10;
const DASH = 45;
const HEADER_END = Uint8Array.of(CR, LF, CR, LF);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

type State = 'preamble' | 'body' | 'afterDelimiter' | 'headers' | 'epilogue';

function limitError(message: string): ProtocolError {
  return new ProtocolError('multipart_limit', message);
}

function malformed(message: string): ProtocolError {
  return new ProtocolError('invalid_multipart', message);
}

/** Header block bytes (ASCII; other bytes kept as Latin-1) to a header map. */
function parseHeaderBlock(block: Uint8Array): Record<string, string> {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  // One call for the whole block (at most MAX_HEADER_BYTES arguments): this runs once per message.
  const text = String.fromCharCode(...block);
  let lastName: string | null = null;
  for (const line of text.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && lastName !== null) {
      // Obsolete line folding: the line continues the previous header's value.
      headers[lastName] = `${headers[lastName]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!HEADER_NAME.test(name)) throw malformed('A multipart part has a malformed header line.');
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
    lastName = key;
  }
  return headers;
}

/**
 * Push chunks as they arrive; each call returns the parts completed by that chunk. Call `finish()`
 * at the end of the stream: it throws when the closing delimiter never came (a truncated body).
 */
export class MultipartParser {
  /** `\r\n--B`: the delimiter that ends a part (RFC 2046 gives the CRLF to the delimiter). */
  private readonly delimiter: Uint8Array;
  private state: State = 'preamble';
  /** Bytes not yet decided on; bounded by the delimiter, header or padding limit. */
  private pending: Uint8Array;
  private headerScanFrom = 0;
  private headers: Record<string, string> = {};
  private bodyPieces: Uint8Array[] = [];
  private bodyLength = 0;
  /** The current part is over `maxPartBytes` and being skipped. */
  private skipping = false;
  private skipped = 0;
  private partCount = 0;
  private totalBytes = 0;
  private failed: ProtocolError | null = null;

  constructor(
    boundary: string,
    private readonly limits: MultipartLimits,
  ) {
    assertValidBoundary(boundary);
    this.delimiter = new TextEncoder().encode(`\r\n--${boundary}`);
    // A virtual CRLF in front lets the first boundary at the very start match the same delimiter.
    this.pending = Uint8Array.of(CR, LF);
  }

  /** Feeds the next chunk; returns the parts it completed. */
  push(chunk: Uint8Array): MultipartPart[] {
    if (this.failed) throw this.failed;
    try {
      if (!(chunk instanceof Uint8Array)) throw malformed('A multipart chunk must be bytes.');
      // Bytes within the budget are read first, so a malformed body fails the same way however it is
      // chunked; only then does an over-long body fail on the limit.
      const allowed = Math.max(0, this.limits.maxTotalBytes - this.totalBytes);
      const overLimit = chunk.length > allowed;
      const accepted = overLimit ? chunk.subarray(0, allowed) : chunk;
      this.totalBytes += accepted.length;
      let parts: MultipartPart[] = [];
      if (this.state !== 'epilogue' && accepted.length > 0) {
        this.pending = this.pending.length === 0 ? accepted : concatBytes(this.pending, accepted);
        parts = this.run();
        // Never keep a view into the caller's chunk: stream implementations may reuse its memory.
        if (this.pending.buffer === chunk.buffer) this.pending = this.pending.slice();
      }
      if (overLimit) throw limitError('The multipart body is larger than allowed.');
      return parts;
    } catch (error) {
      this.failed = error instanceof ProtocolError ? error : malformed('The multipart body could not be read.');
      throw this.failed;
    }
  }

  /** Parts dropped for being larger than `maxPartBytes` (with `oversizedParts: 'skip'`). */
  get skippedParts(): number {
    return this.skipped;
  }

  /** Ends the stream; throws 'invalid_multipart' when it stopped before the closing boundary. */
  finish(): MultipartPart[] {
    if (this.failed) throw this.failed;
    if (this.state !== 'epilogue') {
      this.failed = malformed('The multipart body ended before its closing boundary.');
      throw this.failed;
    }
    return [];
  }

  private run(): MultipartPart[] {
    const done: MultipartPart[] = [];
    for (;;) {
      const progressed =
        this.state === 'preamble' || this.state === 'body'
          ? this.seekDelimiter(done)
          : this.state === 'afterDelimiter'
            ? this.readAfterDelimiter()
            : this.state === 'headers'
              ? this.readHeaders()
              : this.discardEpilogue();
      if (!progressed) return done;
    }
  }

  /** Returns true when the state changed and the loop should go on. */
  private seekDelimiter(done: MultipartPart[]): boolean {
    const at = indexOfBytes(this.pending, this.delimiter);
    if (at >= 0) {
      if (this.state === 'body') {
        this.appendBody(this.pending.subarray(0, at));
        if (this.skipping) this.skipped++;
        // The pieces are copies already: a part within one chunk (the usual case) needs no other.
        else done.push({ headers: this.headers, body: this.bodyPieces.length === 1 ? this.bodyPieces[0]! : concatBytes(...this.bodyPieces) });
        this.bodyPieces = [];
        this.bodyLength = 0;
        this.skipping = false;
      }
      this.pending = this.pending.subarray(at + this.delimiter.length);
      this.state = 'afterDelimiter';
      return true;
    }
    // Keep back only a tail that could still become the delimiter; the rest is decided.
    const keepFrom = partialMatchStart(this.pending, this.delimiter);
    if (this.state === 'body') this.appendBody(this.pending.subarray(0, keepFrom));
    this.pending = this.pending.slice(keepFrom);
    return false;
  }

  private appendBody(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.skipping) return;
    if (this.bodyLength + bytes.length > this.limits.maxPartBytes) {
      if (this.limits.oversizedParts !== 'skip') throw limitError('A multipart part is larger than allowed.');
      this.skipping = true;
      this.bodyPieces = [];
      this.bodyLength = 0;
      return;
    }
    // Copied, so a caller reusing its chunk buffer cannot change a part after the fact.
    this.bodyPieces.push(bytes.slice());
    this.bodyLength += bytes.length;
  }

  private readAfterDelimiter(): boolean {
    const p = this.pending;
    if (p.length < 2) return false;
    if (p[0] === DASH && p[1] === DASH) {
      this.state = 'epilogue';
      this.pending = new Uint8Array(0);
      return false;
    }
    let i = 0;
    while (i < p.length && (p[i] === 32 || p[i] === 9)) i++;
    if (i > MAX_TRANSPORT_PADDING) throw malformed('A multipart boundary line is followed by too much padding.');
    if (i + 2 > p.length) return false;
    if (p[i] !== CR || p[i + 1] !== LF) throw malformed('A multipart boundary is followed by unexpected bytes.');
    if (this.partCount >= this.limits.maxParts) throw limitError('The multipart body has more parts than allowed.');
    this.partCount++;
    this.pending = p.subarray(i + 2);
    this.headerScanFrom = 0;
    this.state = 'headers';
    return true;
  }

  private readHeaders(): boolean {
    const p = this.pending;
    if (p.length < 2) return false;
    let blockEnd: number;
    let bodyStart: number;
    if (p[0] === CR && p[1] === LF) {
      blockEnd = 0;
      bodyStart = 2;
    } else {
      const at = indexOfBytes(p, HEADER_END, this.headerScanFrom);
      if (at < 0) {
        if (p.length > MAX_HEADER_BYTES) throw limitError('A multipart part has too many header bytes.');
        this.headerScanFrom = Math.max(0, p.length - HEADER_END.length + 1);
        return false;
      }
      if (at > MAX_HEADER_BYTES) throw limitError('A multipart part has too many header bytes.');
      blockEnd = at;
      bodyStart = at + HEADER_END.length;
    }
    this.headers = blockEnd === 0 ? (Object.create(null) as Record<string, string>) : parseHeaderBlock(p.subarray(0, blockEnd));
    this.pending = p.subarray(bodyStart);
    this.bodyPieces = [];
    this.bodyLength = 0;
    this.skipping = false;
    this.state = 'body';
    return true;
  }

  private discardEpilogue(): boolean {
    this.pending = new Uint8Array(0);
    return false;
  }
}

/** Parses a complete body in one go. */
export function parseMultipart(body: Uint8Array, boundary: string, limits: MultipartLimits): MultipartPart[] {
  const parser = new MultipartParser(boundary, limits);
  const parts = parser.push(body);
  parser.finish();
  return parts;
}
