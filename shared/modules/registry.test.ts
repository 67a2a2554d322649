import { describe, expect, it } from 'vitest';
import { PAYLOAD_LENGTH } from '../protocol/boxTypes.js';
import { ProtocolError } from '../protocol/errors.js';
import { encodeDropMessage } from '../protocol/message.js';
import { type BuildContext, type SendContent, buildMessages, decodePayload, knownPayloadTypes, sendContentSchema } from './registry.js';
import { type ShareListing, SHARE_LISTING_FORMAT, listingChanges, parseShareListing } from './shareListing.js';

const sender = 'a'.repeat(64);
let ids = 0;
const context: BuildContext = {
  sender,
  identity: { alias: 'Alice', dropUrls: ['http://127.0.0.1:1/' + 'A'.repeat(43), 'http://127.0.0.1:2/' + 'B'.repeat(43)] },
  meta: { alias: 'Alice', dropUrl: 'http://127.0.0.1:1/' + 'A'.repeat(43), publicKey: sender },
  wantReceipt: true,
  now: 1_700_000_000_000,
  newId: () => `id-${++ids}`,
};
const ref = {
  scheme: 'deaddrop-file-1' as const,
  url: `http://127.0.0.1:1/blobs/${'b'.repeat(43)}`,
  key: 'k'.repeat(43),
  size: 1234,
  cipherSize: 1234 + 32,
  hash: 'h'.repeat(43),
};

/** Builds, encodes to the 2048-byte payload, and decodes again by the module. */
function roundTrip(request: SendContent) {
  return buildMessages(sendContentSchema.parse(request), context).map((message) => {
    expect(encodeDropMessage(message)).toHaveLength(PAYLOAD_LENGTH);
    return decodePayload(message.drop_payload_type, message.drop_payload);
  });
}

function codeOf(work: () => unknown): string | null {
  try {
    work();
    return null;
  } catch (error) {
    return error instanceof ProtocolError ? error.code : 'other';
  }
}

describe('the payload module registry', () => {
  it('knows every type we send and read', () => {
    expect([...knownPayloadTypes].sort()).toEqual(['box_ack', 'box_contact_update', 'box_key_rotate', 'box_message', 'box_microblog', 'box_share_notification', 'box_sync']);
  });

  it('reads a key rotation only with every field in shape', () => {
    const good = { key: 'c3'.repeat(32), drops: ['https://drop.example/x'], at: 5, proof: 'ab'.repeat(32) };
    expect(decodePayload('box_key_rotate', JSON.stringify(good))).toEqual({ type: 'box_key_rotate', ...good });
    for (const bad of [{ ...good, key: 'C3'.repeat(32) }, { ...good, drops: [] }, { ...good, drops: ['javascript:alert(1)'] }, { ...good, at: -1 }, { ...good, proof: 'ab' }]) {
      expect(() => decodePayload('box_key_rotate', JSON.stringify(bad))).toThrow(/fields its module expects/);
    }
  });

  it('round-trips every module through the wire format', () => {
    expect(roundTrip({ type: 'box_message', text: 'hi' })).toEqual([{ type: 'box_message', msg: 'hi', part: null }]);
    expect(roundTrip({ type: 'box_microblog', text: 'a post', postId: 'p-1' })).toEqual([{ type: 'box_microblog', msg: 'a post', postId: 'p-1' }]);
    expect(roundTrip({ type: 'box_contact_update' })).toEqual([
      { type: 'box_contact_update', alias: 'Alice', dropUrls: context.identity.dropUrls, revision: context.now },
    ]);
    expect(roundTrip({ type: 'box_share_notification', file: 'a.png', text: 'look', mime: 'image/png', ref, share: null })).toEqual([
      { type: 'box_share_notification', msg: 'look', file: 'a.png', url: ref.url, key: ref.key, size: ref.size, ref, mime: 'image/png', share: null },
    ]);
    const folder = roundTrip({ type: 'box_share_notification', file: 'Holiday', text: '', mime: null, ref, share: { id: 's-1', revision: 3, removed: false } });
    expect(folder[0]).toMatchObject({ ref, share: { id: 's-1', revision: 3, removed: false } });
    const removed = roundTrip({ type: 'box_share_notification', file: 'Holiday', text: '', mime: null, ref: null, share: { id: 's-1', revision: 4, removed: true } });
    expect(removed[0]).toMatchObject({ ref: null, url: '', share: { id: 's-1', revision: 4, removed: true } });
  });

  it('splits a long chat text, and refuses a post or caption that cannot fit', () => {
    expect(roundTrip({ type: 'box_message', text: 'x'.repeat(5000) }).length).toBeGreaterThan(2);
    expect(sendContentSchema.safeParse({ type: 'box_microblog', text: 'x'.repeat(501), postId: 'p' }).success).toBe(false);
    expect(sendContentSchema.safeParse({ type: 'box_share_notification', file: 'a', text: '', mime: null, ref: null }).success).toBe(false);
    expect(sendContentSchema.safeParse({ type: 'box_share_notification', file: 'a', text: '', mime: null, ref, share: { id: 's', revision: 1, removed: true } }).success).toBe(false);
    // A 500-character post of characters JSON must escape does not fit one message: a clear error, not a cut.
    expect(codeOf(() => buildMessages({ type: 'box_microblog', text: '\u0001'.repeat(500), postId: 'p' }, context))).toBe('message_too_long');
  });

  it('drops a payload that fails its schema, and keeps unknown types raw', () => {
    expect(codeOf(() => decodePayload('box_microblog', '{"msg":"x"}'))).toBe('invalid_message');
    expect(codeOf(() => decodePayload('box_contact_update', '{"alias":"x","drop_urls":[],"revision":1}'))).toBe('invalid_message');
    expect(codeOf(() => decodePayload('box_contact_update', '{"alias":"x","drop_urls":["file:///etc/passwd"],"revision":1}'))).toBe('invalid_message');
    expect(codeOf(() => decodePayload('box_message', 'not json'))).toBe('invalid_message');
    expect(codeOf(() => decodePayload('box_share_notification', '{"file":"a"}'))).toBe('invalid_message');
    expect(decodePayload('box_poll', '{"q":1}')).toEqual({ type: 'unsupported', payloadType: 'box_poll', payload: '{"q":1}' });
  });

  it('reads a Qabel share notice as a file this app cannot open, and a notice of ours with a broken reference the same way', () => {
    const qabel = decodePayload('box_share_notification', JSON.stringify({ msg: 'hi', file: 'doc.pdf', url: 'https://qabel.de/x', key: '00ff', size: '99' }));
    expect(qabel).toMatchObject({ file: 'doc.pdf', size: 99, ref: null, share: null });
    const bent = decodePayload('box_share_notification', JSON.stringify({ file: 'a', url: ref.url, key: 'short', size: 1, scheme: 'deaddrop-file-1', hash: ref.hash, cipher_size: 33 }));
    expect(bent).toMatchObject({ ref: null });
    const foreignScheme = decodePayload('box_share_notification', JSON.stringify({ file: 'a', url: ref.url, key: ref.key, size: 1, scheme: 'other-2', hash: ref.hash, cipher_size: 33 }));
    expect(foreignScheme).toMatchObject({ ref: null });
  });
});

describe('share listings', () => {
  const listing = (files: [string, string][]): ShareListing => ({
    format: SHARE_LISTING_FORMAT,
    version: 1,
    name: 'Holiday',
    files: files.map(([path, hash]) => ({ path, mime: null, ref: { ...ref, hash: hash.repeat(43) } })),
  });

  it('parses only listings of ours, with safe relative paths', () => {
    expect(parseShareListing(JSON.stringify(listing([['a.jpg', 'a']])))).not.toBeNull();
    expect(parseShareListing('nope')).toBeNull();
    for (const path of ['../etc/passwd', '/abs', 'a//b', 'a/./b', 'a\\b', 'x\u202Etxt.exe', '']) {
      expect(parseShareListing(JSON.stringify(listing([[path, 'a']]))), path).toBeNull();
    }
    expect(parseShareListing(JSON.stringify(listing([['a', 'a'], ['a', 'b']])))).toBeNull();
  });

  it('says what a revision added, changed and removed', () => {
    const first = listing([['a.jpg', 'a'], ['b.jpg', 'b'], ['c.jpg', 'c']]);
    const second = listing([['a.jpg', 'a'], ['b.jpg', 'B'], ['d/e.jpg', 'e']]);
    expect(listingChanges(null, first)).toEqual({ added: ['a.jpg', 'b.jpg', 'c.jpg'], changed: [], removed: [] });
    expect(listingChanges(first, second)).toEqual({ added: ['d/e.jpg'], changed: ['b.jpg'], removed: ['c.jpg'] });
  });
});
