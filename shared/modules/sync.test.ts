import { describe, expect, it } from 'vitest';
import { PAYLOAD_LENGTH } from '../protocol/boxTypes.js';
import { serializeDropMessage } from '../protocol/message.js';
import { MAX_SYNC_ITEMS, type SyncItem, buildSyncMessages, sentItems, syncModule, textFragments } from './sync.js';
import { decodePayload } from './registry.js';

const ME = 'e'.repeat(64);
const BOB = 'b'.repeat(64);
const DEVICE = '0123456789abcdef';

/** Deterministic texts of every kind of character: ASCII, quotes and backslashes, controls, 2-4 byte UTF-8. */
function randomText(seed: number, length: number): string {
  let state = seed;
  const next = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31);
  const alphabet = ['a', ' ', '"', '\\', '\n', '\u0001', '\u202e', 'é', '中', '🙂', '\u0000'];
  return Array.from({ length }, () => alphabet[next() % alphabet.length]).join('');
}

describe('sibling sync payloads', () => {
  it('splits any text into fragments that join back and fit one drop message each, with room for the envelope', () => {
    let n = 0;
    const newId = () => `id-${++n}`;
    for (const [seed, length] of [[1, 0], [2, 1], [3, 1399], [4, 5000], [5, 20_000]] as const) {
      const text = randomText(seed, length);
      expect(textFragments(text).join('')).toBe(text);
      const items = sentItems({ contact: BOB, localId: `L${seed}`, sentAt: 1, text, ackIds: Array.from({ length: 40 }, newId) });
      const messages = buildSyncMessages(items, { sender: ME, device: DEVICE, now: 1, newId });
      for (const message of messages) expect(serializeDropMessage(message).length).toBeLessThanOrEqual(PAYLOAD_LENGTH - 64);
      // What arrives decodes to the same items, in order.
      const decoded = messages.flatMap((message) => {
        const content = decodePayload(message.drop_payload_type, message.drop_payload);
        return content.type === 'box_sync' ? content.items : [];
      });
      expect(decoded).toEqual(items);
      const fragments = decoded.filter((item) => item.kind === 'sent' && item.text !== undefined);
      expect(fragments.map((item) => (item.kind === 'sent' ? item.text : '')).join('')).toBe(text);
      expect(new Set(decoded.flatMap((item) => (item.kind === 'sent' ? (item.ackIds ?? []) : []))).size).toBe(40);
    }
  });

  it('refuses malformed payloads as a whole', () => {
    const valid: SyncItem = { kind: 'read', contact: BOB, upTo: 5 };
    expect(syncModule.decode({ device: DEVICE, items: [valid] })).toEqual({ type: 'box_sync', device: DEVICE, items: [valid] });
    const bad: unknown[] = [
      null,
      { device: 'not hex', items: [valid] },
      { device: DEVICE, items: [] },
      { device: DEVICE, items: Array.from({ length: MAX_SYNC_ITEMS + 1 }, () => valid) },
      { device: DEVICE, items: [{ kind: 'read', contact: 'short', upTo: 5 }] },
      { device: DEVICE, items: [{ kind: 'sent', contact: BOB, localId: 'x', sentAt: 1, count: 2, index: 2, text: 'past the end' }] },
      { device: DEVICE, items: [{ kind: 'sent', contact: BOB, localId: 'x', sentAt: 1, count: 1, index: 0 }] },
      { device: DEVICE, items: [{ kind: 'contact', contact: BOB, clock: 0, op: 'put' }] },
      { device: DEVICE, items: [{ kind: 'contact', contact: BOB, clock: 1, op: 'put', dropUrls: ['javascript:alert(1)'] }] },
      { device: DEVICE, items: [{ kind: 'historyRequest', request: 'aaaaaaaaaaaaaaaa', since: 0, limit: 10_000_000 }] },
      { device: DEVICE, items: [{ kind: 'history', request: 'aaaaaaaaaaaaaaaa', total: 1, rowId: 'in:me:x', contact: BOB, direction: 'sideways', at: 1, count: 1 }] },
      { device: DEVICE, items: [{ kind: 'unknown' }] },
    ];
    for (const payload of bad) expect(syncModule.decode(payload)).toBeNull();
    expect(() => decodePayload('box_sync', '{"device":"zz"}')).toThrow();
  });
});
