/**
 * The cursor guarantee with paging on, read the budget's way (PROTOCOL-V1.md 4d): a reader that
 * asks for padded pages and echoes `X-Qabel-Latest` gets every message exactly once, under any
 * interleaving of posts and polls and under concurrent writers, against a real server process; and a
 * backlog larger than a page drains over the following slots (`X-Qabel-More`), one page per slot.
 * (test/server/trafficExtensions.test.ts checks the same guarantee with the server's own client.)
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotTransport } from '../../electron/core/budget/slotTransport.js';
import { PDU_BYTES } from '../../shared/budget/model.js';
import { formatDropUrl, generateDropId } from '../../shared/protocol/dropId.js';
import { type ServerProcess, makeDataDir, removeDataDir, startServerProcess } from '../server/serverProcess.js';
import { budgetUser, loopbackGuard } from './budgetHarness.js';
import { FakeSlotTimer } from './fakeTimer.js';
import { seededRandom } from './stats.js';

let dataDir: string;
let server: ServerProcess;
const transport = new SlotTransport({ proxy: () => ({ kind: 'none' }), guard: loopbackGuard() });

beforeAll(async () => {
  dataDir = makeDataDir();
  server = await startServerProcess(dataDir);
});
afterAll(async () => {
  await server?.stop();
  removeDataDir(dataDir);
});

const newDrop = () => formatDropUrl(server.url, generateDropId());
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
function pdu(): Uint8Array {
  const body = randomBytes(PDU_BYTES);
  body[0] = 0;
  return body;
}

/** A budget reader of one drop: padded pages of `page`, the cursor echoed. */
function pagedReader(dropUrl: string, page: number) {
  let cursor: string | null = null;
  const seen: string[] = [];
  return {
    seen,
    async poll(): Promise<boolean> {
      const result = await transport.fetchPage(dropUrl, cursor, page);
      expect(result.status).toBe('messages');
      seen.push(...result.items.map((item) => hex(item.body)));
      cursor = result.latest;
      return result.more;
    },
  };
}

describe('paged reading keeps the cursor guarantee', () => {
  it('for any interleaving of posts and padded polls: every message exactly once', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('post' as const), count: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ kind: fc.constant('poll' as const), page: fc.integer({ min: 1, max: 8 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 20 }), async (steps) => {
        const dropUrl = newDrop();
        const reader = pagedReader(dropUrl, 3);
        const posted: string[] = [];
        for (const s of steps) {
          if (s.kind === 'poll') {
            await reader.poll();
            continue;
          }
          // Posted concurrently: their order is the server's to choose, the set is what counts.
          const batch = Array.from({ length: s.count }, pdu);
          posted.push(...batch.map(hex));
          await Promise.all(batch.map((body) => transport.post(dropUrl, body, false)));
        }
        while (await reader.poll());
        expect(reader.seen).toHaveLength(posted.length);
        expect(new Set(reader.seen)).toEqual(new Set(posted));
      }),
      { seed: 0x16b, numRuns: 25 },
    );
  }, 60_000);

  it('under four concurrent writers: every message exactly once', async () => {
    const dropUrl = newDrop();
    const expected = new Set<string>();
    let done = false;
    const writing = Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 30; i++) {
          const body = pdu();
          expected.add(hex(body));
          await transport.post(dropUrl, body, false);
        }
      }),
    ).then(() => void (done = true));
    const reader = pagedReader(dropUrl, 4);
    for (let polls = 0; polls < 2000; polls++) {
      const finished = done;
      const more = await reader.poll();
      if (finished && !more && reader.seen.length >= expected.size) break;
    }
    await writing;
    expect(reader.seen).toHaveLength(120);
    expect(new Set(reader.seen)).toEqual(expected);
  }, 60_000);
});

describe('a backlog larger than a page', () => {
  it('drains one page per slot, each slot the same single GET', async () => {
    const timer = new FakeSlotTimer();
    const dropUrl = newDrop();
    const posted = Array.from({ length: 10 }, pdu);
    for (const body of posted) await transport.post(dropUrl, body, false);
    const reader = budgetUser({ drops: [dropUrl], timer, random: seededRandom(5) });
    await reader.budget.configure();
    const perSlot: number[] = [];
    for (let slot = 0; slot < 4; slot++) {
      const before = reader.received.length;
      await timer.runNext(() => reader.budget.idle());
      perSlot.push(reader.received.length - before);
    }
    await reader.budget.close();
    // Medium asks for 4 parts: 4, 4, 2, then nothing left.
    expect(perSlot).toEqual([4, 4, 2, 0]);
    expect(reader.received.map((r) => hex(r.body))).toEqual(posted.map(hex));
    expect(reader.slots.every((s) => s.reads.length === 1 && s.reads[0]!.ok)).toBe(true);
  });
});
