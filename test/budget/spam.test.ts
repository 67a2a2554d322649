/**
 * The anti-spam rules in budget mode (PROTOCOL-V1 sections 3c and 4c): a POST that waits for a slot
 * still goes with its ticket or stamp, and a refusal comes back to the outbox with the server's words,
 * so stampedPost.ts works as without a budget. Two engines under Medium talk through a recording
 * proxy to a real server process held under pressure (`--pow-above 0`, 8 bits): the message and its
 * receipt are each refused once (429 Proof of work required), stamped, and posted in a later slot.
 * On the wire every POST still has one size, the stamped ones and the cover alike. A budget engine
 * holding tickets for a closed drop whose introductions are used up gets in with a ticket in its slot.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlotReport } from '../../electron/core/budget/scheduler.js';
import { PADDED_EXTRA_BYTES, paddedExtra } from '../../electron/core/budget/slotTransport.js';
import { fetchPost } from '../../electron/core/spam/spamPost.js';
import { DEFAULT_TRAFFIC_BUDGET } from '../../shared/budget/setting.js';
import { POW_HEADER, TICKET_HEADER } from '../../shared/spam/wire.js';
import { type ServerProcess, makeDataDir, removeDataDir, startServerProcess } from '../server/serverProcess.js';
import { FAST_TIMING, type TestEngine, removeDir, startTestEngine } from '../engine/helpers/testEngine.js';
import { receiveAndAck } from '../engine/helpers/receive.js';
import { waitFor } from '../engine/helpers/waitFor.js';
import { FakeSlotTimer } from './fakeTimer.js';
import { type RecordingProxy, startRecordingProxy } from './recordingProxy.js';
import { seededRandom } from './stats.js';

const MEDIUM = { ...DEFAULT_TRAFFIC_BUDGET, preset: 'medium' as const };
const BITS = 8;

let server: ServerProcess;
let proxy: RecordingProxy;
let dataDir: string;
const timer = new FakeSlotTimer(Date.now());
const engines: TestEngine[] = [];
const reports: SlotReport[] = [];
let fired = 0;

beforeAll(async () => {
  dataDir = makeDataDir();
  server = await startServerProcess(dataDir, ['--pow-above', '0', '--pow-bits', String(BITS), '--log-level', 'warn']);
  // Once the server stores anything, every ticketless POST to an open drop needs a stamp.
  const rawPost = fetchPost();
  const drop = () => `${server.url}/${randomBytes(32).toString('base64url')}`;
  expect(await rawPost(drop(), new Uint8Array(2149).fill(1), {})).toMatchObject({ status: 200 });
  expect(await rawPost(drop(), new Uint8Array(2149).fill(2), {})).toEqual({ status: 429, error: 'Proof of work required', powBits: BITS });
  proxy = await startRecordingProxy(server.url, () => timer.now());
});

afterAll(async () => {
  for (const engine of engines) {
    await engine.close();
    removeDir(engine.dataDir);
  }
  await proxy?.close();
  await server?.stop();
  if (dataDir) removeDataDir(dataDir);
});

async function budgetEngine(seed: number): Promise<TestEngine> {
  const engine = await startTestEngine({ timing: { ...FAST_TIMING, budget: { timer, random: seededRandom(seed), onSlot: (report) => void reports.push(report) } } });
  engines.push(engine);
  return engine;
}

/** Runs slots one by one (each waited for, the batches of each acknowledged with receipts) until `done` holds. */
async function slotsUntil<T>(done: () => T | null | undefined | false, what: string, engines: TestEngine[], maxSlots = 40): Promise<T> {
  const acked = new Set<string>();
  for (let slot = 0; slot <= maxSlots; slot++) {
    for (const engine of engines) {
      for (const batch of engine.of('inbox/batch')) {
        if (acked.has(batch.batchId)) continue;
        acked.add(batch.batchId);
        const receipts = batch.messages.map((m) => ({ dedupeKey: m.dedupeKey, dropUrls: m.meta?.dropUrl ? [m.meta.dropUrl] : [] }));
        await engine.call('inbox/ack', { batchId: batch.batchId, receipts });
      }
    }
    const value = done();
    if (value) return value;
    fired++;
    const ran = await timer.runNext(() => waitFor(() => reports.length >= fired, 'the slot'));
    if (!ran) fired--;
    // A refused PDU is stamped in the worker before it queues again: give the outbox a moment.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${what} within ${maxSlots} slots`);
}

describe('padding of the anti-spam headers', () => {
  const wire = (headers: Record<string, string>) => Object.entries(headers).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);

  it('takes a ticket, a stamp or neither to one size on the wire, and refuses what cannot be padded', () => {
    const ticket = paddedExtra({ [TICKET_HEADER]: 'T'.repeat(43) });
    const stamp = paddedExtra({ [POW_HEADER]: 'S'.repeat(38) });
    const none = paddedExtra({});
    expect(ticket['x-drop-ticket']).toBe('T'.repeat(43));
    expect(stamp['x-drop-pow']).toBe('S'.repeat(38));
    expect([wire(ticket), wire(stamp), wire(none)]).toEqual([PADDED_EXTRA_BYTES, PADDED_EXTRA_BYTES, PADDED_EXTRA_BYTES]);
    expect(() => paddedExtra({ 'x-something': 'x'.repeat(PADDED_EXTRA_BYTES) })).toThrow(/cannot carry/);
    expect(() => paddedExtra({ 'X-Qabel-Pad': '1' })).toThrow(/cannot carry/);
  });
});

describe('two engines under Medium and a server under pressure', () => {
  it('stamp the message and its receipt after the 429 of a slot and post them in a later one, every POST one size', async () => {
    const alice = await budgetEngine(31);
    const bob = await budgetEngine(32);
    const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: proxy.url });
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: proxy.url });
    await alice.call('settings/set', { trafficBudget: MEDIUM });
    await bob.call('settings/set', { trafficBudget: MEDIUM });
    await proxy.quiet();
    const from = proxy.records.length;
    const reportsFrom = reports.length;

    const sent = await alice.call('messages/send', { identityId: aliceId.id, localId: 'p-1', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: 'through the pressure in a slot' });
    const atBob = await slotsUntil(() => bob.of('inbox/batch').flatMap((b) => b.messages)[0], 'message at bob', [alice, bob]);
    expect(atBob).toMatchObject({ text: 'through the pressure in a slot', senderKey: aliceId.publicKey });
    const receipt = await slotsUntil(() => alice.of('inbox/batch').flatMap((b) => b.receipts)[0], 'receipt at alice', [alice, bob]);
    expect(receipt.acknowledgeId).toBe(sent.acknowledgeIds[0]);
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'p-1' && s.status === 'posted'), 'posted');

    // The stamp was asked for by the server in a slot and made for its bits; the message never failed.
    expect(alice.of('outbox/stampProgress').find((p) => p.localId === 'p-1')).toEqual({ localId: 'p-1', hashes: 0, expected: 2 ** BITS, dropUrl: bobId.dropUrls[0] });
    expect(alice.of('outbox/status').some((s) => s.localId === 'p-1' && s.status === 'failed')).toBe(false);
    const real = reports.slice(reportsFrom).flatMap((r) => r.posts.filter((p) => !p.cover));
    expect(real.filter((p) => !p.ok).length).toBeGreaterThanOrEqual(2);
    expect(real.filter((p) => p.ok).length).toBeGreaterThanOrEqual(2);

    // On the wire: refused and stamped POSTs among the cover, all of one size going up.
    await proxy.quiet();
    const posts = proxy.records.slice(from).filter((r) => r.method === 'POST');
    expect(posts.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(2);
    expect(posts.filter((r) => r.cover === '0' && r.status === 200).length).toBeGreaterThanOrEqual(2);
    expect(posts.some((r) => r.cover === '1')).toBe(true);
    expect(new Set(posts.map((r) => r.up)).size).toBe(1);

    // Their slots stop, so the next test's slots are the only ones on the shared clock.
    for (const engine of [alice, bob]) await engine.call('settings/set', { trafficBudget: { ...MEDIUM, preset: 'off' } });
  }, 90_000);
});

describe('a budget engine holding tickets for a closed drop', () => {
  it('posts with a ticket in its slot, past the used-up introduction quota, unstamped and of the same size as cover', async () => {
    const closedDir = makeDataDir();
    const closedServer = await startServerProcess(closedDir, ['--pow-bits', '10', '--intro-per-day', '1', '--log-level', 'warn']);
    const closedProxy = await startRecordingProxy(closedServer.url, () => timer.now());
    try {
      const bob = await startTestEngine();
      engines.push(bob);
      const alice = await budgetEngine(33);
      await bob.call('settings/set', { closedDrops: true });
      const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: closedProxy.url, dropBits: 256 });
      const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: closedProxy.url, dropBits: 256 });
      const toBob = { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls };

      // Without the budget: Alice's stamped introduction uses the drop's one for today, Bob's answer hands her tickets.
      await alice.call('messages/send', { identityId: aliceId.id, localId: 't-1', recipient: toBob, text: 'hello bob', wantReceipt: false });
      await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 't-1' && s.status === 'posted'), 'introduction posted');
      await receiveAndAck(bob, 1, 'bob has the introduction');
      await bob.call('messages/send', { identityId: bobId.id, localId: 'b-1', recipient: { publicKey: aliceId.publicKey, dropUrls: aliceId.dropUrls }, text: 'hello alice', wantReceipt: false });
      await waitFor(() => bob.of('outbox/status').find((s) => s.localId.startsWith('tickets-') && s.status === 'posted'), 'tickets posted');
      await receiveAndAck(alice, 1, 'alice has the answer');
      await alice.engine.fetchOnce();
      await new Promise((resolve) => setTimeout(resolve, 300));

      await alice.call('settings/set', { trafficBudget: MEDIUM });
      // Bob's engine keeps its push connection open through the proxy, so the proxy is never quiet:
      // only POSTs are looked at below, and Bob posts nothing more.
      const settled = () => new Promise((resolve) => setTimeout(resolve, 300));
      await settled();
      const from = closedProxy.records.length;
      await alice.call('messages/send', { identityId: aliceId.id, localId: 't-2', recipient: toBob, text: 'ticketed in a slot', wantReceipt: false });
      // Alice's batches were acknowledged above (no engines to acknowledge for here).
      await slotsUntil(() => alice.of('outbox/status').find((s) => s.localId === 't-2' && s.status === 'posted'), 't-2 posted', []);
      expect(alice.of('outbox/stampProgress').some((p) => p.localId === 't-2')).toBe(false);
      const atBob = await receiveAndAck(bob, 2, 'bob has the ticketed message');
      expect(atBob.map((m) => m.text)).toContain('ticketed in a slot');

      // The ticketed POST went first time, and looked like every other POST of the slots.
      await settled();
      const posts = closedProxy.records.slice(from).filter((r) => r.method === 'POST');
      const bobPath = new URL(bobId.dropUrls[0]!).pathname;
      expect(posts.filter((r) => r.path === bobPath && r.cover === '0').map((r) => r.status)).toEqual([200]);
      expect(posts.some((r) => r.cover === '1')).toBe(true);
      expect(new Set(posts.map((r) => r.up)).size).toBe(1);
      await alice.call('settings/set', { trafficBudget: { ...MEDIUM, preset: 'off' } });
    } finally {
      await closedProxy.close();
      await closedServer.stop();
      removeDataDir(closedDir);
    }
  }, 90_000);
});
