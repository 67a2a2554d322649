import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_LENGTH } from './boxTypes.js';
import { randomBytes, toHex } from './encoding.js';
import { ProtocolError } from './errors.js';
import { encodeDropMessage, MAX_TEXT_PARTS, serializeDropMessage, type DropMessage } from './message.js';
import { decodeDropMessage } from '../modules/registry.js';
import { buildTextMessages, type TextMessageInput } from './textMessages.js';

const senderKey = randomBytes(32);
const sender = toHex(senderKey);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function build(text: string, over: Partial<TextMessageInput> = {}): DropMessage[] {
  return buildTextMessages({ sender, text, wantReceipt: false, now: 1000, newId: () => crypto.randomUUID(), ...over });
}

function pieceOf(m: DropMessage): { msg: string; part?: { group: string; index: number; count: number } } {
  return JSON.parse(m.drop_payload) as { msg: string; part?: { group: string; index: number; count: number } };
}

/** Checks every property the protocol asks of a split and returns the pieces. */
function checkSplit(text: string, messages: DropMessage[]): string[] {
  const pieces = messages.map(pieceOf);
  expect(pieces.map((p) => p.msg).join('')).toBe(text);
  if (messages.length === 1) {
    expect(pieces[0]!.part).toBeUndefined();
    return [pieces[0]!.msg];
  }
  const group = pieces[0]!.part!.group;
  pieces.forEach((p, i) => {
    expect(p.part).toEqual({ group, index: i, count: messages.length });
    expect(p.msg.length).toBeGreaterThan(0);
    // Never split inside a surrogate pair.
    const last = p.msg.charCodeAt(p.msg.length - 1);
    expect(last >= 0xd800 && last <= 0xdbff && i < pieces.length - 1 && /^[\udc00-\udfff]/.test(pieces[i + 1]!.msg)).toBe(false);
  });
  messages.forEach((m, i) => {
    expect(serializeDropMessage(m).length).toBeLessThanOrEqual(PAYLOAD_LENGTH);
    const decoded = decodeDropMessage(encodeDropMessage(m), senderKey);
    expect(decoded.content).toEqual({ type: 'box_message', msg: pieces[i]!.msg, part: pieces[i]!.part });
    // Maximal: one more code point from the next piece would not have fitted.
    if (i < messages.length - 1) {
      const next = pieces[i + 1]!.msg;
      const grown = next.codePointAt(0)! > 0xffff ? next.slice(0, 2) : next.slice(0, 1);
      const bigger = { ...m, drop_payload: JSON.stringify({ msg: pieces[i]!.msg + grown, part: pieces[i]!.part }) };
      expect(serializeDropMessage(bigger).length).toBeGreaterThan(PAYLOAD_LENGTH);
    }
  });
  return pieces.map((p) => p.msg);
}

describe('buildTextMessages', () => {
  it('sends a short text as one message without a part', () => {
    const [m, ...rest] = build('hello', { wantReceipt: true });
    expect(rest).toEqual([]);
    expect(m).toMatchObject({ version: 1, time_stamp: 1000, sender, drop_payload: '{"msg":"hello"}', drop_payload_type: 'box_message' });
    expect(m!.acknowledge_id).toMatch(UUID);
    expect(build('hello')[0]!.acknowledge_id).toBe('0');
  });
  it('splits long ASCII, multi-byte, emoji and escape-heavy texts into maximal valid pieces', () => {
    for (const text of ['a'.repeat(5000), 'ä'.repeat(3000), '😀'.repeat(1500), '"\\\n\u0001'.repeat(900), `x${'😀'.repeat(1200)}`, 'a'.repeat(1990)]) {
      checkSplit(text, build(text));
      checkSplit(text, build(text, { wantReceipt: true, meta: { alias: 'Alice', dropUrl: 'http://127.0.0.1:5000/abc', publicKey: sender } }));
    }
  });
  it('gives each piece its own receipt id and the meta of the sender', () => {
    const messages = build('b'.repeat(7000), { wantReceipt: true, meta: { alias: 'Al' } });
    expect(messages.length).toBeGreaterThan(3);
    const ids = messages.map((m) => m.acknowledge_id);
    ids.forEach((id) => expect(id).toMatch(UUID));
    expect(new Set(ids).size).toBe(ids.length);
    messages.forEach((m) => expect(m.meta_data).toEqual({ alias: 'Al' }));
  });
  it('handles counts of more than one digit', () => {
    const text = 'z'.repeat(40_000);
    const messages = build(text);
    expect(messages.length).toBeGreaterThanOrEqual(20);
    checkSplit(text, messages);
  });
  it('splits any text correctly (property)', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '"', '\n', '\u0000', '\ud800'), minLength: 0, maxLength: 3000 }), fc.boolean(), (text, wantReceipt) => {
      checkSplit(text, build(text, { wantReceipt }));
    }), { numRuns: 40 });
  });
  it('fits the longest text the app takes (100,000 characters) within MAX_TEXT_PARTS, with the largest introduction', () => {
    const meta = { alias: 'x'.repeat(64), dropUrl: `https://drop.example.org:8443/some/service/path/${'A'.repeat(43)}`, publicKey: sender };
    for (const unit of ['a', 'é', '漢', '😀', '\n']) {
      const text = unit.repeat(100_000 / unit.length);
      const messages = build(text, { wantReceipt: true, meta });
      expect(messages.length, unit).toBeLessThanOrEqual(MAX_TEXT_PARTS);
      expect(messages.map((m) => pieceOf(m).msg).join('')).toBe(text);
    }
  });
  it('refuses with message_too_long a text that needs more than MAX_TEXT_PARTS pieces (receivers would drop it)', () => {
    try {
      build('\u0001'.repeat(100_000));
      expect.unreachable('should have thrown');
    } catch (error) {
      expect((error as ProtocolError).code).toBe('message_too_long');
    }
  });
  it('fails with message_too_long when not even the envelope fits', () => {
    try {
      build('hi', { meta: { alias: 'x'.repeat(2100) } });
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe('message_too_long');
    }
  });
});
