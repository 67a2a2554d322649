import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from '../../../shared/ipc/contract.js';
import { contactFromHello, helloDropUrls, incomingRecord, incomingSortAt, isArriving, messageKind, previewOf } from './incomingMessage.js';

function incoming(overrides: Partial<IncomingMessage>): IncomingMessage {
  return {
    dedupeKey: 'd', identityId: 'me', senderKey: 'a'.repeat(64), type: 'box_message', payload: '{}', content: { type: 'box_message', msg: 'hi', part: null }, text: 'hi', share: null, part: null,
    acknowledgeId: '0', meta: null, sentAt: 1, receivedAt: 2, dropUrl: 'http://127.0.0.1:1/drop', ...overrides,
  };
}

describe('incoming messages', () => {
  it('are shown as text, a shared file, or a placeholder', () => {
    // By the payload as the engine decoded it (`content`), not by the older `text` and `share` fields.
    expect(messageKind(incoming({}))).toBe('text');
    expect(messageKind(incoming({ text: null }))).toBe('text');
    const share = { type: 'box_share_notification' as const, msg: '', file: 'f', url: 'u', key: 'k', size: 1, ref: null, mime: null, share: null };
    expect(messageKind(incoming({ type: 'box_share_notification', content: share }))).toBe('share');
    expect(messageKind(incoming({ type: 'box_unknown', content: { type: 'unsupported', payloadType: 'box_unknown', payload: '{}' } }))).toBe('unsupported');
    // Contact updates and posts never become chat rows.
    expect(messageKind(incoming({ type: 'box_microblog', content: { type: 'box_microblog', msg: 'p', postId: 'p1' } }))).toBe('unsupported');
  });

  it('keep the mark of a session reset the user has not accepted, and only that', () => {
    expect(incomingRecord('in:1', incoming({ unconfirmedSession: true })).unconfirmedSession).toBe(true);
    expect(incomingRecord('in:2', incoming({ unconfirmedSession: false }))).not.toHaveProperty('unconfirmedSession');
    expect(incomingRecord('in:3', incoming({}))).not.toHaveProperty('unconfirmedSession');
  });

  it('sit at the sender’s time unless it is after arrival or not a number', () => {
    expect(incomingSortAt(incoming({ sentAt: 10, receivedAt: 20 }))).toBe(10);
    expect(incomingSortAt(incoming({ sentAt: 30, receivedAt: 20 }))).toBe(20);
    expect(incomingSortAt(incoming({ sentAt: Number.NaN, receivedAt: 20 }))).toBe(20);
    expect(incomingSortAt(incoming({ sentAt: Number.NEGATIVE_INFINITY, receivedAt: 20 }))).toBe(20);
  });

  it('take from a hello only a plain http(s) drop URL, in the URL parser’s spelling', () => {
    expect(helloDropUrls({ dropUrl: 'https://Drop.Example/x' })).toEqual(['https://drop.example/x']);
    expect(helloDropUrls({ dropUrl: 'http://h/\u202Egpj.exe' })).toEqual(['http://h/%E2%80%AEgpj.exe']);
    for (const dropUrl of ['javascript:alert(1)', 'ftp://h/x', 'https://h/a b', 'https://', `https://h/${'x'.repeat(2048)}`, 42 as unknown as string]) {
      expect(helloDropUrls({ dropUrl }), String(dropUrl).slice(0, 30)).toEqual([]);
    }
    expect(helloDropUrls(null)).toEqual([]);
  });

  it('from a stranger make a request named by the hello without control or direction characters, at most 64 long', () => {
    const request = contactFromHello('me', 'c'.repeat(64), { alias: '\u202Eevil\u0000 \u2066name\u2069 ', dropUrl: 'https://h/d' }, 7);
    expect(request).toMatchObject({ status: 'unknown', alias: 'evil name', aliasLower: 'evil name', dropUrls: [], offeredDropUrls: ['https://h/d'], createdAt: 7 });
    expect(contactFromHello('me', 'c'.repeat(64), { alias: 'x'.repeat(500) }, 1).alias).toHaveLength(64);
    expect(contactFromHello('me', 'c'.repeat(64), { alias: 5 as unknown as string }, 1).alias).toBe('Unknown cccccccc');
    expect(contactFromHello('me', 'c'.repeat(64), null, 1).alias).toBe('Unknown cccccccc');
  });

  it('preview as one line, or say what they are', () => {
    const base = { kind: 'text' as const, text: 'line one\n\n  line two', share: null, parts: null };
    expect(previewOf(base)).toBe('line one line two');
    expect(previewOf({ ...base, text: 'x'.repeat(300) })).toHaveLength(140);
    expect(previewOf({ ...base, kind: 'share', share: { file: 'a.pdf', url: 'u', size: 1 } })).toBe('Shared file: a.pdf');
    expect(previewOf({ ...base, kind: 'unsupported' })).toBe('Unsupported message');
    expect(previewOf({ ...base, parts: { count: 3, stored: 2 } })).toBe('Receiving a long message…');
    expect(isArriving({ parts: { count: 3, received: { 0: 'a', 2: 'c' } } })).toBe(true);
    expect(isArriving({ parts: { count: 2, received: { 0: 'a', 1: 'b' } } })).toBe(false);
  });
});
