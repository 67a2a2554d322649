import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, utf8Encode } from './encoding.js';
import { ProtocolError } from './errors.js';
import {
  boundaryFromContentType, buildMultipart, chooseBoundary, encodeClose, encodePartHead, MultipartParser, PART_TAIL,
  parseMultipart, type MultipartLimits, type MultipartPart,
} from './multipart.js';

const LIMITS: MultipartLimits = { maxParts: 1000, maxPartBytes: 4096, maxTotalBytes: 1 << 20 };
const text = (s: string): Uint8Array => utf8Encode(s);

/** Part bodies made of the bytes that stress a multipart reader most. */
const trickyBody = fc.array(
  fc.oneof(
    fc.constantFrom(text('\r\n'), text('--'), text('\r\n--'), text('\r'), text('-'), text('\n'), new Uint8Array(0)),
    fc.uint8Array({ maxLength: 40 }),
  ),
  { maxLength: 8 },
).map((pieces) => concatBytes(...pieces));

const partsArb = fc.array(fc.record({ body: trickyBody, date: fc.integer({ min: 0, max: 4e12 }).map((t) => new Date(t)) }), { maxLength: 6 });

function feedInChunks(body: Uint8Array, boundary: string, cuts: number[], limits = LIMITS): MultipartPart[] {
  const parser = new MultipartParser(boundary, limits);
  const out: MultipartPart[] = [];
  let from = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    out.push(...parser.push(body.subarray(from, cut)));
    from = cut;
  }
  out.push(...parser.push(body.subarray(from)));
  out.push(...parser.finish());
  return out;
}

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return error.code;
  }
}

describe('multipart writer', () => {
  it('writes the exact framing of PROTOCOL.md section 2', () => {
    const date = new Date(Date.UTC(2016, 0, 1));
    expect(new TextDecoder().decode(encodePartHead('B', date))).toBe('--B\r\nContent-Type: application/octet-stream\r\nDate: Fri, 01 Jan 2016 00:00:00 GMT\r\n\r\n');
    expect(Array.from(PART_TAIL)).toEqual([13, 10]);
    expect(new TextDecoder().decode(encodeClose('B'))).toBe('--B--\r\n');
    const built = buildMultipart([{ body: text('x'), date }]);
    expect(built.contentType).toBe(`multipart/mixed; boundary="${built.boundary}"`);
    expect(new TextDecoder().decode(built.body)).toBe(`--${built.boundary}\r\nContent-Type: application/octet-stream\r\nDate: Fri, 01 Jan 2016 00:00:00 GMT\r\n\r\nx\r\n--${built.boundary}--\r\n`);
  });
  it('chooses a fresh boundary that occurs in no part', () => {
    const a = chooseBoundary([]);
    const b = chooseBoundary([text(a)]);
    expect(a).not.toBe(b);
    expect(boundaryFromContentType(`multipart/mixed; boundary=${a}`)).toBe(a);
  });
});

describe('boundaryFromContentType', () => {
  it('reads quoted and bare boundaries with RFC 2046 characters', () => {
    expect(boundaryFromContentType('multipart/mixed; boundary="abc"')).toBe('abc');
    expect(boundaryFromContentType('multipart/mixed;boundary=abc')).toBe('abc');
    expect(boundaryFromContentType('Multipart/Mixed; charset=x; BOUNDARY="a b:c=?"')).toBe('a b:c=?');
    expect(boundaryFromContentType('multipart/mixed; x="a;boundary=no"; boundary=yes')).toBe('yes');
    expect(boundaryFromContentType('multipart/mixed; boundary="a\\"b"')).toBeNull();
    expect(boundaryFromContentType(`multipart/mixed; boundary=${'a'.repeat(70)}`)).toBe('a'.repeat(70));
  });
  it('returns null for missing, non-multipart or illegal boundaries', () => {
    for (const bad of [null, undefined, '', 'application/json', 'text/plain; boundary=abc', 'multipart/mixed', 'multipart/mixed; boundary=',
      'multipart/mixed; boundary="abc', 'multipart/mixed; boundary="abc "', `multipart/mixed; boundary=${'a'.repeat(71)}`, 'multipart/mixed; boundary=a\u00e9']) {
      expect(boundaryFromContentType(bad)).toBeNull();
    }
    fc.assert(fc.property(fc.string(), (header) => {
      const boundary = boundaryFromContentType(header);
      expect(boundary === null || (boundary.length >= 1 && boundary.length <= 70)).toBe(true);
    }));
  });
});

describe('multipart parser', () => {
  it('round-trips any parts, including CRLF and -- inside bodies, split at random positions', () => {
    fc.assert(fc.property(partsArb, fc.array(fc.nat(), { maxLength: 10 }), (parts, rawCuts) => {
      const built = buildMultipart(parts);
      const cuts = rawCuts.map((c) => c % (built.body.length + 1));
      const out = feedInChunks(built.body, built.boundary, cuts);
      expect(out.map((p) => Array.from(p.body))).toEqual(parts.map((p) => Array.from(p.body)));
      out.forEach((p, i) => {
        expect(p.headers['content-type']).toBe('application/octet-stream');
        expect(new Date(p.headers.date!).getTime()).toBe(Math.floor(parts[i]!.date.getTime() / 1000) * 1000);
      });
    }));
  });
  it('accepts a body split at every single position, also inside the boundary', () => {
    const built = buildMultipart([{ body: text('a\r\n--b\r\n'), date: new Date(0) }, { body: text('\r\n'), date: new Date(0) }]);
    for (let cut = 0; cut <= built.body.length; cut++) {
      expect(feedInChunks(built.body, built.boundary, [cut]).map((p) => new TextDecoder().decode(p.body))).toEqual(['a\r\n--b\r\n', '\r\n']);
    }
    const byteByByte = feedInChunks(built.body, built.boundary, Array.from({ length: built.body.length }, (_, i) => i));
    expect(byteByByte.length).toBe(2);
  });
  it('treats a part that contains the boundary only as a prefix of a longer word correctly', () => {
    // The delimiter is CRLF--B; "--B" not preceded by CRLF is body content, and CRLF--BX is malformed.
    const body = text('--B\r\n\r\nx--B y\r\n--B--\r\n');
    expect(parseMultipart(body, 'B', LIMITS).map((p) => new TextDecoder().decode(p.body))).toEqual(['x--B y']);
    expect(codeOf(() => parseMultipart(text('--B\r\n\r\nx\r\n--BX\r\n--B--'), 'B', LIMITS))).toBe('invalid_multipart');
  });
  it('tolerates a preamble, an epilogue, transport padding, header-less parts and a missing final CRLF', () => {
    const body = text('preamble --B\r\n--B \t\r\n\r\none\r\n--B\r\nX-A: 1\r\nx-a: 2\r\n\r\ntwo\r\n--B--epilogue\r\n--B\r\nignored');
    const parts = parseMultipart(body, 'B', LIMITS);
    expect(parts.map((p) => new TextDecoder().decode(p.body))).toEqual(['one', 'two']);
    expect({ ...parts[1]!.headers }).toEqual({ 'x-a': '1, 2' });
    expect(parseMultipart(text('--B--'), 'B', LIMITS)).toEqual([]);
  });
  it('rejects truncated bodies at every position with invalid_multipart', () => {
    const built = buildMultipart([{ body: text('hello'), date: new Date(0) }, { body: text('world'), date: new Date(0) }]);
    const closeStart = built.body.length - encodeClose(built.boundary).length;
    for (let end = 0; end < closeStart + 2 + built.boundary.length + 2; end++) {
      expect(codeOf(() => parseMultipart(built.body.subarray(0, end), built.boundary, LIMITS)), `end ${end}`).toBe('invalid_multipart');
    }
  });
  it('rejects malformed headers and a boundary line followed by junk', () => {
    expect(codeOf(() => parseMultipart(text('--B\r\nno colon here\r\n\r\nx\r\n--B--'), 'B', LIMITS))).toBe('invalid_multipart');
    expect(codeOf(() => parseMultipart(text('--B\r\n: empty name\r\n\r\nx\r\n--B--'), 'B', LIMITS))).toBe('invalid_multipart');
    expect(codeOf(() => parseMultipart(text('--Bjunk\r\n\r\nx\r\n--B--'), 'B', LIMITS))).toBe('invalid_multipart');
    expect(codeOf(() => parseMultipart(text(`--B${' '.repeat(300)}\r\n\r\nx\r\n--B--`), 'B', LIMITS))).toBe('invalid_multipart');
    expect(codeOf(() => new MultipartParser('', LIMITS))).toBe('invalid_multipart');
    expect(codeOf(() => new MultipartParser('a\r\nb', LIMITS))).toBe('invalid_multipart');
  });
  it('enforces every limit before buffering', () => {
    const built = buildMultipart([{ body: new Uint8Array(100), date: new Date(0) }, { body: new Uint8Array(10), date: new Date(0) }]);
    expect(codeOf(() => parseMultipart(built.body, built.boundary, { ...LIMITS, maxParts: 1 }))).toBe('multipart_limit');
    expect(codeOf(() => parseMultipart(built.body, built.boundary, { ...LIMITS, maxPartBytes: 99 }))).toBe('multipart_limit');
    expect(parseMultipart(built.body, built.boundary, { ...LIMITS, maxPartBytes: 100 }).length).toBe(2);
    expect(codeOf(() => parseMultipart(built.body, built.boundary, { ...LIMITS, maxTotalBytes: built.body.length - 1 }))).toBe('multipart_limit');
    // A header block that never ends, fed in small chunks, is cut off at the header limit.
    const parser = new MultipartParser('B', { ...LIMITS, maxTotalBytes: 1 << 24 });
    parser.push(text('--B\r\n'));
    expect(codeOf(() => { for (let i = 0; i < 1000; i++) parser.push(text('X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n')); })).toBe('multipart_limit');
    // A body that never reaches its next boundary is cut off at the part limit, not buffered forever.
    const endless = new MultipartParser('B', { maxParts: 10, maxPartBytes: 1000, maxTotalBytes: 1 << 24 });
    endless.push(text('--B\r\n\r\n'));
    expect(codeOf(() => { for (let i = 0; i < 100; i++) endless.push(new Uint8Array(100).fill(13)); })).toBe('multipart_limit');
  });
  it('skips oversized parts while streaming when asked to, and goes on with the next part', () => {
    const skip: MultipartLimits = { ...LIMITS, maxPartBytes: 100, maxTotalBytes: 1 << 26, oversizedParts: 'skip' };
    const big = new Uint8Array(10_000).fill(0x41);
    const built = buildMultipart([{ body: text('small'), date: new Date(0) }, { body: big, date: new Date(0) }, { body: new Uint8Array(100), date: new Date(0) }]);
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: built.body.length }), { maxLength: 12 }), (cuts) => {
      const parser = new MultipartParser(built.boundary, skip);
      const parts: MultipartPart[] = [];
      let from = 0;
      for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
        parts.push(...parser.push(built.body.subarray(from, cut)));
        from = cut;
      }
      parts.push(...parser.push(built.body.subarray(from)), ...parser.finish());
      expect(parts.map((p) => p.body.length)).toEqual([5, 100]);
      expect(parser.skippedParts).toBe(1);
    }));
    // A part of 32 MB fed in 64 KB chunks is skipped without being held.
    const parser = new MultipartParser('B', skip);
    parser.push(text('--B\r\n\r\n'));
    const chunk = new Uint8Array(64 * 1024).fill(0x42);
    for (let i = 0; i < 512; i++) expect(parser.push(chunk)).toEqual([]);
    expect(parser.push(text('\r\n--B\r\n\r\nok\r\n--B--\r\n')).map((p) => new TextDecoder().decode(p.body))).toEqual(['ok']);
    expect(parser.skippedParts).toBe(1);
  });
  it('keeps no view into a chunk after push returns (callers may reuse their buffers)', () => {
    const built = buildMultipart([{ body: text('first part'), date: new Date(0) }, { body: text('second'), date: new Date(0) }]);
    const parser = new MultipartParser(built.boundary, LIMITS);
    const buffer = new Uint8Array(built.body.length);
    const parts: MultipartPart[] = [];
    for (let i = 0; i < built.body.length; i += 7) {
      const piece = built.body.subarray(i, i + 7);
      buffer.set(piece);
      parts.push(...parser.push(buffer.subarray(0, piece.length)));
      buffer.fill(0x2d);
    }
    parser.finish();
    expect(parts.map((p) => new TextDecoder().decode(p.body))).toEqual(['first part', 'second']);
    expect(parts.map((p) => p.headers['content-type'])).toEqual(['application/octet-stream', 'application/octet-stream']);
  });
  it('stays failed after an error', () => {
    const parser = new MultipartParser('B', LIMITS);
    expect(codeOf(() => parser.push(text('--Bxy')))).toBe('invalid_multipart');
    expect(codeOf(() => parser.push(text('\r\n')))).toBe('invalid_multipart');
    expect(codeOf(() => parser.finish())).toBe('invalid_multipart');
  });
  it('gives the same parts or the same error however the input is split (also for malformed input)', () => {
    const valid = buildMultipart([{ body: text('a\r\n--'), date: new Date(0) }, { body: text(''), date: new Date(0) }]);
    const outcome = (body: Uint8Array, cuts: number[]): unknown => {
      try {
        return feedInChunks(body, valid.boundary, cuts, { maxParts: 4, maxPartBytes: 64, maxTotalBytes: 512 }).map((p) => [{ ...p.headers }, Array.from(p.body)]);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        return error.code;
      }
    };
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.constantFrom(valid.body, text('\r\n'), text('--'), text(`--${valid.boundary}`), text(' '), text(':')), fc.uint8Array({ maxLength: 12 })), { maxLength: 8 })
        .map((pieces) => concatBytes(...pieces)),
      fc.array(fc.nat(), { maxLength: 12 }),
      (body, rawCuts) => {
        expect(outcome(body, rawCuts.map((c) => c % (body.length + 1)))).toEqual(outcome(body, []));
      },
    ), { numRuns: 300 });
  });
  it('throws only ProtocolError on random and mutated input, never hangs', () => {
    const valid = buildMultipart([{ body: text('abc\r\n--'), date: new Date(0) }, { body: text('x'), date: new Date(0) }]);
    fc.assert(fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, len, byte]) => {
          const copy = valid.body.slice(0, valid.body.length - (len % 8));
          if (copy.length > 0) copy[at % copy.length] = byte;
          return copy;
        }),
      ),
      fc.array(fc.nat(), { maxLength: 5 }),
      (body, rawCuts) => {
        const cuts = rawCuts.map((c) => c % (body.length + 1));
        const code = codeOf(() => feedInChunks(body, valid.boundary, cuts, { maxParts: 4, maxPartBytes: 64, maxTotalBytes: 512 }));
        expect([null, 'invalid_multipart', 'multipart_limit']).toContain(code);
      },
    ));
  });
});
