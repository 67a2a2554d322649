/**
 * The traffic budget in real engines (electron/core/engine.ts): two engines under Medium talk through
 * a recording proxy to a real server process, their slots driven by a fake clock. Once the budget is
 * on, every request on the wire belongs to a slot (no polls, HEAD probes or push sockets of their own,
 * no POST straight from the outbox), a message and its receipt ride in slots, and the servers say
 * what they can do. A server without the extensions is reported as unable to pad, never used as if it could.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlotReport } from '../../electron/core/budget/scheduler.js';
import { DEFAULT_TRAFFIC_BUDGET } from '../../shared/budget/setting.js';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { type ServerProcess, startServerProcess } from '../engine/helpers/serverProcess.js';
import { FAST_TIMING, type TestEngine, removeDir, startTestEngine } from '../engine/helpers/testEngine.js';
import { waitFor } from '../engine/helpers/waitFor.js';
import { FakeSlotTimer } from './fakeTimer.js';
import { type RecordingProxy, startRecordingProxy } from './recordingProxy.js';
import { seededRandom } from './stats.js';

const MEDIUM = { ...DEFAULT_TRAFFIC_BUDGET, preset: 'medium' as const };

let server: ServerProcess;
let proxy: RecordingProxy;
let oldProxy: RecordingProxy;
const timer = new FakeSlotTimer(Date.now());
const engines: TestEngine[] = [];
const reports: SlotReport[] = [];
let fired = 0;

beforeAll(async () => {
  server = await startServerProcess();
  proxy = await startRecordingProxy(server.url, () => timer.now());
  oldProxy = await startRecordingProxy(server.url, () => timer.now(), { oldServer: true });
});

afterAll(async () => {
  for (const engine of engines) {
    await engine.close();
    removeDir(engine.dataDir);
  }
  await proxy?.close();
  await oldProxy?.close();
  await server?.stop();
});

async function budgetEngine(seed: number): Promise<TestEngine> {
  const engine = await startTestEngine({ timing: { ...FAST_TIMING, budget: { timer, random: seededRandom(seed), onSlot: (report) => void reports.push(report) } } });
  engines.push(engine);
  return engine;
}

/** Runs slots one by one (each waited for, the batches of each acknowledged) until `done` holds. */
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
    // The receipt is queued after its batch's acknowledgement: give the outbox a moment to hand it over.
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  throw new Error(`no ${what} within ${maxSlots} slots`);
}

describe('two engines under Medium', () => {
  let alice: TestEngine;
  let bob: TestEngine;
  let aliceId: IdentitySummary;
  let bobId: IdentitySummary;

  it('send a message and its receipt in slots, and nothing else goes on the wire', async () => {
    alice = await budgetEngine(1);
    bob = await budgetEngine(2);
    aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: proxy.url });
    bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: proxy.url });
    await alice.call('settings/set', { trafficBudget: MEDIUM });
    await bob.call('settings/set', { trafficBudget: MEDIUM });
    expect((await alice.call('settings/get', {})).trafficBudget).toEqual(MEDIUM);
    const statuses = await alice.call('servers/status', {});
    expect(statuses).toEqual([expect.objectContaining({ canPad: true, canCover: true, pushConnected: false })]);

    await proxy.quiet();
    const budgetFrom = proxy.records.length;
    const sent = await alice.call('messages/send', { identityId: aliceId.id, localId: 'b-1', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: 'in a slot' });
    // Between slots nothing is posted, however long the outbox waits.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await proxy.quiet();
    expect(proxy.records.slice(budgetFrom).filter((r) => r.method === 'POST')).toEqual([]);

    const atBob = await slotsUntil(() => bob.of('inbox/batch').flatMap((b) => b.messages)[0], 'message at bob', [alice, bob]);
    expect(atBob).toMatchObject({ text: 'in a slot', senderKey: aliceId.publicKey });
    const receipt = await slotsUntil(() => alice.of('inbox/batch').flatMap((b) => b.receipts)[0], 'receipt at alice', [alice, bob]);
    expect(receipt.acknowledgeId).toBe(sent.acknowledgeIds[0]);
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'b-1' && s.status === 'posted'), 'posted');

    // Every request since the budget came on belongs to a slot: two POSTs and one GET (one own drop) each, one size per kind.
    await proxy.quiet();
    const records = proxy.records.slice(budgetFrom);
    const slotStarts = new Set(reports.map((r) => r.startedAt));
    expect(records.filter((r) => !slotStarts.has(r.label))).toEqual([]);
    for (const start of slotStarts) {
      const inSlot = records.filter((r) => r.label === start);
      expect(inSlot.map((r) => r.method).sort()).toEqual(['GET', 'POST', 'POST']);
    }
    for (const method of ['GET', 'POST']) {
      const ofMethod = records.filter((r) => r.method === method);
      expect(new Set(ofMethod.map((r) => r.up)).size, method).toBe(1);
      expect(new Set(ofMethod.map((r) => r.down)).size, method).toBe(1);
    }
    const posts = reports.flatMap((r) => r.posts);
    expect(posts.filter((p) => !p.cover).length).toBeGreaterThanOrEqual(2);
    expect(posts.every((p) => p.ok)).toBe(true);
  }, 60_000);

  it('switched off, the engines poll and post directly again', async () => {
    await bob.call('settings/set', { trafficBudget: { ...MEDIUM, preset: 'off' } });
    await alice.call('settings/set', { trafficBudget: { ...MEDIUM, preset: 'off' } });
    const [status] = await alice.call('servers/status', {});
    expect(status).toMatchObject({ reachable: true });
    expect(status!.canPad).toBeUndefined();
    expect(status!.canCover).toBeUndefined();
    await alice.call('messages/send', { identityId: aliceId.id, localId: 'b-2', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: 'direct' });
    await waitFor(() => bob.of('inbox/batch').flatMap((b) => b.messages).find((m) => m.text === 'direct'), 'direct message at bob');
  }, 30_000);
});

describe('an engine without polling of its own (the CLI)', () => {
  it('posts directly whatever the budget setting says: it runs no slots to wait for', async () => {
    const cli = await startTestEngine({ autoPoll: false, timing: { ...FAST_TIMING, budget: { timer, random: seededRandom(4) } } });
    engines.push(cli);
    const me = await cli.call('identities/create', { alias: 'cli', serverUrl: proxy.url });
    await cli.call('settings/set', { trafficBudget: MEDIUM });
    const before = reports.length;
    await cli.call('messages/send', { identityId: me.id, localId: 'c-1', recipient: { publicKey: me.publicKey, dropUrls: me.dropUrls }, text: 'now' });
    await waitFor(() => cli.of('outbox/status').find((s) => s.localId === 'c-1' && s.status === 'posted'), 'posted without a slot');
    expect(reports.length).toBe(before);
  }, 30_000);
});

describe('a server without the extensions', () => {
  it('is reported as unable to pad and to take cover; its drop is still read once per slot', async () => {
    const carol = await budgetEngine(3);
    await carol.call('identities/create', { alias: 'carol', serverUrl: oldProxy.url });
    await carol.call('settings/set', { trafficBudget: MEDIUM });
    const [status] = await carol.call('servers/status', {});
    expect(status).toMatchObject({ canPad: false, canCover: false });
    await oldProxy.quiet();
    const from = oldProxy.records.length;
    const before = reports.length;
    await slotsUntil(() => reports.length >= before + 3, 'three slots', [carol]);
    await oldProxy.quiet();
    const gets = oldProxy.records.slice(from).filter((r) => r.method === 'GET');
    expect(gets).toHaveLength(3);
    // No cover to a server that never said it discards it, and no padding asked of it.
    expect(oldProxy.records.slice(from).filter((r) => r.method === 'POST')).toEqual([]);
    expect(reports.slice(before).every((r) => r.missingCover === 2)).toBe(true);
  }, 30_000);
});
