import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IncomingMessage } from '../../../shared/ipc/contract.js';
import { MAX_HISTORY_MESSAGES, type SyncItem, syncItemSchema } from '../../../shared/modules/sync.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import type { MessageRecord } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { type SyncIdentity, takeSiblingSync } from './syncApply.js';
import { DROP_TTL_MS, answerHistory, askForHistory, catchUpIfAway, historyProgress, noteOnline } from './syncHistory.js';

const key = (c: string) => c.repeat(64);
const ME = key('e');
const BOB = key('b');
const OWN_DROP = 'http://127.0.0.1:1/mine';
const identities = (selfDevice: string) => new Map<string, SyncIdentity>([['me', { publicKey: ME, dropUrls: [OWN_DROP], selfDevice }]]);

/** A bridge that records what `devices/sync` was asked to send (as an identity on two devices). */
function recordingBridge(sent: SyncItem[][], devices = 2): EngineBridge {
  return {
    invoke: async (channel: string, request: { items: SyncItem[] }) => {
      if (channel !== 'devices/sync') throw new Error(`unexpected ${channel}`);
      // What the engine's schema would take.
      request.items.forEach((item) => syncItemSchema.parse(item));
      if (devices > 1) sent.push(request.items);
      return { ok: true, value: { messages: devices > 1 ? 1 : 0 } };
    },
  } as unknown as EngineBridge;
}

let counter = 0;
const syncFrom = (device: string, items: SyncItem[]): IncomingMessage => {
  const n = ++counter;
  return {
    dedupeKey: `${ME}:h-${n}`, identityId: 'me', senderKey: ME, type: 'box_sync', payload: '', content: { type: 'box_sync', device, items }, text: null, share: null, part: null,
    acknowledgeId: `h-ack-${n}`, meta: null, sentAt: 1, receivedAt: 1, dropUrl: OWN_DROP,
  };
};

function row(id: string, direction: 'in' | 'out', sortAt: number, text: string, extra: Partial<MessageRecord> = {}): MessageRecord {
  return {
    id, identityId: 'me', contactKey: BOB, direction, kind: 'text', text, payloadType: 'box_message', payload: '', share: null, sortAt, createdAt: sortAt,
    status: direction === 'out' ? 'delivered' : null, localId: direction === 'out' ? id.slice(4) : null, error: null, ackIds: direction === 'out' ? [`ack-${id}`] : [], ackedIds: [], parts: null, read: true, ...extra,
  };
}

let desktop: DeaddropDatabase;
let laptop: DeaddropDatabase;
beforeEach(async () => {
  desktop = await openTestDatabase('history-desktop');
  laptop = await openTestDatabase('history-laptop');
});
afterEach(deleteTestDatabases);

describe('catching up from a sibling', () => {
  it('the laptop asks, the desktop answers with the rows since then, the laptop stores what it lacks, with progress', async () => {
    const long = `${'x'.repeat(950)} a long one 🙂`;
    await desktop.messages.bulkPut([
      row('in:me:old', 'in', 100, 'too old'),
      row(`in:me:${BOB}:m1`, 'in', 1000, 'missed 1'),
      row('out:L1', 'out', 2000, 'answered from the desktop'),
      row(`in:me:${BOB}:m2`, 'in', 3000, long),
      row('in:me:event', 'in', 3500, 'Bob renamed', { kind: 'event' }),
    ]);
    await laptop.messages.put(row(`in:me:${BOB}:m1`, 'in', 1000, 'missed 1'));
    await laptop.conversations.put({ identityId: 'me', contactKey: BOB, lastMessageAt: 1000, lastMessagePreview: 'missed 1', lastMessageDirection: 'in', unreadCount: 0, messageCount: 1 });

    const asked: SyncItem[][] = [];
    expect(await askForHistory(laptop, recordingBridge(asked), 'me', 500, 10_000)).toBe(true);
    const request = asked[0]![0]!;
    expect(request).toMatchObject({ kind: 'historyRequest', since: 500, limit: MAX_HISTORY_MESSAGES });
    expect(await historyProgress(laptop, 'me')).toMatchObject({ total: null, received: 0 });

    // The desktop reads the request (from the laptop's device id) and answers it once.
    const atDesktop = await takeSiblingSync(desktop, { batchId: 'd1', messages: [syncFrom('2222222222222222', [request])], receipts: [] }, identities('1111111111111111'));
    expect(atDesktop.historyRequests).toHaveLength(1);
    const answer: SyncItem[][] = [];
    expect(await answerHistory(desktop, recordingBridge(answer), 'me', atDesktop.historyRequests[0]!.item)).toBe(3);
    expect(await answerHistory(desktop, recordingBridge(answer), 'me', atDesktop.historyRequests[0]!.item)).toBe(0);
    const items = answer.flat();
    expect(new Set(items.map((i) => (i.kind === 'history' ? i.rowId : '')))).toEqual(new Set([`in:me:${BOB}:m1`, 'out:L1', `in:me:${BOB}:m2`]));

    // The laptop stores the two it lacked, in order, read, and counts progress to 3 of 3.
    await takeSiblingSync(laptop, { batchId: 'l1', messages: [syncFrom('1111111111111111', items)], receipts: [] }, identities('2222222222222222'));
    const rows = await laptop.messages.where('[identityId+contactKey+sortAt]').between(['me', BOB, 0], ['me', BOB, Infinity]).toArray();
    expect(rows.map((r) => [r.id, r.direction, r.text, r.status])).toEqual([
      [`in:me:${BOB}:m1`, 'in', 'missed 1', null],
      ['out:L1', 'out', 'answered from the desktop', 'delivered'],
      [`in:me:${BOB}:m2`, 'in', long, null],
    ]);
    expect(await laptop.conversations.get(['me', BOB])).toMatchObject({ messageCount: 3, lastMessageAt: 3000, unreadCount: 0 });
    expect(await historyProgress(laptop, 'me')).toMatchObject({ total: 3, received: 3 });
    // If the drop still holds Bob's message, reading it later is a duplicate.
    expect(await laptop.seen.get(['me', `${BOB}:m2`])).toMatchObject({ messageId: `in:me:${BOB}:m2` });
  });

  it('answers at most MAX_HISTORY_MESSAGES rows, the newest', async () => {
    await desktop.messages.bulkPut(Array.from({ length: MAX_HISTORY_MESSAGES + 40 }, (_, i) => row(`in:me:${BOB}:n${i}`, 'in', 1000 + i, `n${i}`)));
    const answer: SyncItem[][] = [];
    const count = await answerHistory(desktop, recordingBridge(answer), 'me', { kind: 'historyRequest', request: 'aaaaaaaaaaaaaaaa', since: 0, limit: MAX_HISTORY_MESSAGES });
    expect(count).toBe(MAX_HISTORY_MESSAGES);
    const ids = new Set(answer.flat().map((i) => (i.kind === 'history' ? i.rowId : '')));
    expect(ids.has(`in:me:${BOB}:n${MAX_HISTORY_MESSAGES + 39}`)).toBe(true);
    expect(ids.has(`in:me:${BOB}:n0`)).toBe(false);
    // A request asking for more is refused by the schema before anything is read.
    expect(syncItemSchema.safeParse({ kind: 'historyRequest', request: 'bbbbbbbbbbbbbbbb', since: 0, limit: 200_000_000 }).success).toBe(false);
  });

  it('every sibling answers a request once, each from its own messages', async () => {
    const third = await openTestDatabase('history-third');
    await desktop.messages.put(row(`in:me:${BOB}:d`, 'in', 1000, 'only the desktop has this'));
    await third.messages.put(row(`in:me:${BOB}:t`, 'in', 1001, 'only the third device has this'));
    const asked = { kind: 'historyRequest', request: 'dddddddddddddddd', since: 0, limit: MAX_HISTORY_MESSAGES } as const;
    const answers: SyncItem[][] = [];
    expect(await answerHistory(desktop, recordingBridge(answers), 'me', asked)).toBe(1);
    expect(await answerHistory(third, recordingBridge(answers), 'me', asked)).toBe(1);
    expect(await answerHistory(third, recordingBridge(answers), 'me', asked)).toBe(0);
    expect(answers.flat().map((i) => (i.kind === 'history' ? i.text : ''))).toEqual(['only the desktop has this', 'only the third device has this']);
  });

  it('ignores answer rows that do not name our identity or that clash with another row', async () => {
    await laptop.messages.put(row('out:X', 'out', 1, 'mine'));
    const items: SyncItem[] = [
      { kind: 'history', request: 'cccccccccccccccc', total: 2, rowId: 'in:someone-else:k', contact: BOB, direction: 'in', at: 5, count: 1, index: 0, text: 'foreign' },
      { kind: 'history', request: 'cccccccccccccccc', total: 2, rowId: 'out:X', contact: BOB, direction: 'in', at: 5, count: 1, index: 0, text: 'clash' },
    ];
    await takeSiblingSync(laptop, { batchId: 'l2', messages: [syncFrom('1111111111111111', items)], receipts: [] }, identities('2222222222222222'));
    expect(await laptop.messages.toArray()).toEqual([expect.objectContaining({ id: 'out:X', text: 'mine' })]);
  });

  it('asks by itself after more than a drop’s lifetime away, not before, and not on an identity alone', async () => {
    const asked: SyncItem[][] = [];
    await noteOnline(laptop, ['me'], 200_000_000);
    expect(await catchUpIfAway(laptop, recordingBridge(asked), 'me', 200_000_000 + DROP_TTL_MS)).toBe(false);
    expect(await catchUpIfAway(laptop, recordingBridge(asked), 'me', 200_000_000 + DROP_TTL_MS + 1)).toBe(true);
    expect(asked[0]![0]).toMatchObject({ kind: 'historyRequest', since: 200_000_000 - 86_400_000 });
    const alone: SyncItem[][] = [];
    await noteOnline(laptop, ['me'], 0);
    expect(await catchUpIfAway(laptop, recordingBridge(alone, 1), 'me', 10 * DROP_TTL_MS)).toBe(false);
    expect(alone).toEqual([]);
  });
});
