import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_LENGTH } from './boxTypes.js';
import { fromHex, randomBytes, sha256Hex, toHex, utf8Encode } from './encoding.js';
import { ProtocolError } from './errors.js';
import { buildAck, dedupeKey, encodeDropMessage, type DropMessage } from './message.js';
import { decodeDropMessage } from '../modules/registry.js';

const senderKey = randomBytes(32);
const sender = toHex(senderKey);

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return error.code;
  }
}

function rawPayload(json: unknown): Uint8Array {
  const padded = new Uint8Array(PAYLOAD_LENGTH);
  padded.set(utf8Encode(typeof json === 'string' ? json : JSON.stringify(json)));
  return padded;
}

const base = (over: Partial<DropMessage> = {}): DropMessage => ({
  version: 1, time_stamp: 1_451_606_400_123, sender, drop_payload: '{"msg":"hi"}', drop_payload_type: 'box_message', acknowledge_id: '0', ...over,
});

describe('drop message encoding', () => {
  it('pads to exactly 2048 bytes with zeros and decodes back', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), fc.boolean(), fc.nat(), (msg, withMeta, time) => {
      const m = base({
        time_stamp: time, drop_payload: JSON.stringify({ msg }), acknowledge_id: withMeta ? crypto.randomUUID() : '0',
        ...(withMeta ? { meta_data: { alias: 'Alice', drop_url: 'http://localhost/x', public_key: { public_key: sender }, email: 'a@b.c' } } : {}),
      });
      const encoded = encodeDropMessage(m);
      expect(encoded.length).toBe(PAYLOAD_LENGTH);
      const decoded = decodeDropMessage(encoded, senderKey);
      expect(decoded.message).toEqual(m);
      expect(decoded.content).toEqual({ type: 'box_message', msg, part: null });
      expect(decoded.meta).toEqual(withMeta ? { alias: 'Alice', dropUrl: 'http://localhost/x', publicKey: sender, email: 'a@b.c' } : null);
    }));
  });
  it('writes the exact wire form of PROTOCOL.md section 4', () => {
    const json = new TextDecoder().decode(encodeDropMessage(base({ meta_data: { public_key: { public_key: sender } } }))).replace(/\0+$/, '');
    expect(json).toBe(`{"version":1,"time_stamp":1451606400123,"sender":"${sender}","drop_payload":"{\\"msg\\":\\"hi\\"}","drop_payload_type":"box_message","acknowledge_id":"0","meta_data":{"public_key":{"public_key":"${sender}"}}}`);
  });
  it('refuses a message that does not fit with message_too_long', () => {
    expect(codeOf(() => encodeDropMessage(base({ drop_payload: JSON.stringify({ msg: 'x'.repeat(2000) }) })))).toBe('message_too_long');
  });
});

describe('drop message decoding', () => {
  it('reads a message as the original client wrote it (nulls, upper-case hex, nested public key)', () => {
    const decoded = decodeDropMessage(rawPayload({
      version: 1, time_stamp: 5, sender: sender.toUpperCase(), drop_payload: '{"msg":"hello"}', drop_payload_type: 'box_message',
      acknowledge_id: '0', meta_data: { alias: 'Bob', drop_url: null, public_key: { public_key: sender.toUpperCase() } },
    }), senderKey);
    expect(decoded.content).toEqual({ type: 'box_message', msg: 'hello', part: null });
    expect(decoded.meta).toEqual({ alias: 'Bob', publicKey: sender });
    expect(decoded.message.sender).toBe(sender);
  });
  it('reads the protocol version a sender speaks (ours), and ignores a malformed one', () => {
    expect(decodeDropMessage(rawPayload(base({ dd: { v: 1 } })), senderKey).message.dd).toEqual({ v: 1 });
    expect(decodeDropMessage(rawPayload(base({ dd: 'one' as never })), senderKey).message.dd).toBeUndefined();
    expect(decodeDropMessage(rawPayload(base({ dd: { v: 1e9 } })), senderKey).message.dd).toBeUndefined();
    expect(decodeDropMessage(rawPayload(base()), senderKey).message.dd).toBeUndefined();
  });

  it('decodes share notifications, acks, parts and keeps unknown types raw', () => {
    const share = decodeDropMessage(rawPayload(base({ drop_payload_type: 'box_share_notification', drop_payload: '{"msg":"see","file":"a.pdf","url":"https://x/y","key":"00ff","size":"1234"}' })), senderKey);
    expect(share.content).toEqual({ type: 'box_share_notification', msg: 'see', file: 'a.pdf', url: 'https://x/y', key: '00ff', size: 1234, ref: null, mime: null, share: null });
    expect(decodeDropMessage(rawPayload(base({ drop_payload_type: 'box_ack', drop_payload: '{}', acknowledge_id: 'u' })), senderKey).content).toEqual({ type: 'box_ack' });
    const part = decodeDropMessage(rawPayload(base({ drop_payload: '{"msg":"a","part":{"group":"g","index":1,"count":3}}' })), senderKey);
    expect(part.content).toEqual({ type: 'box_message', msg: 'a', part: { group: 'g', index: 1, count: 3 } });
    const other = decodeDropMessage(rawPayload(base({ drop_payload_type: 'box_video', drop_payload: 'not even json' })), senderKey);
    expect(other.content).toEqual({ type: 'unsupported', payloadType: 'box_video', payload: 'not even json' });
  });
  it('skips other versions, forged senders and malformed messages with the right code', () => {
    expect(codeOf(() => decodeDropMessage(rawPayload(base({ version: 2 })), senderKey))).toBe('unsupported_version');
    expect(codeOf(() => decodeDropMessage(rawPayload({ version: 0 }), senderKey))).toBe('unsupported_version');
    expect(codeOf(() => decodeDropMessage(rawPayload(base()), randomBytes(32)))).toBe('forged_sender');
    const malformed: unknown[] = [
      'not json', '[]', 'null', '{}', { ...base(), sender: 'abc' }, { ...base(), time_stamp: 'now' }, { ...base(), version: '1' },
      base({ drop_payload: '{"msg":5}' }), base({ drop_payload: 'nope' }), base({ drop_payload: '{"msg":"a","part":{"group":"g","index":3,"count":3}}' }),
      base({ drop_payload: '{"msg":"a","part":{"group":"g","index":0,"count":100000}}' }),
      base({ drop_payload_type: 'box_share_notification', drop_payload: '{"file":"a"}' }), base({ drop_payload_type: 'box_ack', drop_payload: '[]' }),
      { ...base(), meta_data: { public_key: sender } }, { ...base(), acknowledge_id: '' },
    ];
    for (const m of malformed) expect(codeOf(() => decodeDropMessage(rawPayload(m), senderKey)), JSON.stringify(m)).toBe('invalid_message');
    expect(codeOf(() => decodeDropMessage(Uint8Array.of(0xff, 0xfe), senderKey))).toBe('invalid_message');
    expect(codeOf(() => decodeDropMessage(new Uint8Array(PAYLOAD_LENGTH + 1), senderKey))).toBe('invalid_message');
    expect(codeOf(() => decodeDropMessage(new Uint8Array(PAYLOAD_LENGTH), senderKey))).toBe('invalid_message');
  });
  it('throws only ProtocolError on random, truncated and mutated payloads', () => {
    const valid = encodeDropMessage(base({ meta_data: { alias: 'A' } }));
    fc.assert(fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 2100 }),
        fc.nat({ max: 400 }).map((n) => valid.subarray(0, n)),
        fc.tuple(fc.nat({ max: 300 }), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
          const copy = valid.slice();
          copy[at] = byte;
          return copy;
        }),
        fc.json().map((j) => rawPayload(j)),
      ),
      (payload) => {
        const code = codeOf(() => decodeDropMessage(payload, senderKey));
        expect([null, 'invalid_message', 'unsupported_version', 'forged_sender', 'message_too_long']).toContain(code);
      },
    ));
  });
});

describe('acks and deduplication', () => {
  it('builds a box_ack that echoes the acknowledge id', () => {
    const ack = buildAck(sender, 'f47ac10b-58cc-4372-a567-0e02b2c3d479', 42);
    expect(ack).toEqual({ version: 1, time_stamp: 42, sender, drop_payload: '{}', drop_payload_type: 'box_ack', acknowledge_id: 'f47ac10b-58cc-4372-a567-0e02b2c3d479' });
    expect(decodeDropMessage(encodeDropMessage(ack), senderKey).content).toEqual({ type: 'box_ack' });
    expect(codeOf(() => buildAck(sender, '0', 1))).toBe('invalid_message');
  });
  it('keys by sender and acknowledge id, or by the PDU hash without one', async () => {
    const pdu = randomBytes(2149);
    expect(await dedupeKey(sender, 'abc', pdu)).toBe(`${sender}:abc`);
    expect(await dedupeKey(sender, 'abc', randomBytes(2149))).toBe(`${sender}:abc`);
    expect(await dedupeKey(sender, '0', pdu)).toBe(`pdu:${await sha256Hex(pdu)}`);
    expect(await dedupeKey(sender, '0', pdu)).not.toBe(await dedupeKey(sender, '0', randomBytes(2149)));
    expect(fromHex((await dedupeKey(sender, '0', pdu)).slice(4)).length).toBe(32);
  });
});
