/**
 * The slot scheduler alone (electron/core/budget/scheduler.ts), with fake requests: the rhythm is
 * drawn from when slots were due, never from what they carried or how long they took; a slot holds
 * exactly P POSTs (real ones first, oldest first) and one GET per own drop; a refused real POST goes
 * back to its sender; a setting switched off stops the slots.
 */
import { describe, expect, it } from 'vitest';
import { CoverTargets } from '../../electron/core/budget/coverTargets.js';
import { PostQueue } from '../../electron/core/budget/postQueue.js';
import { BudgetScheduler, type SlotReport } from '../../electron/core/budget/scheduler.js';
import type { BudgetShape } from '../../shared/budget/model.js';
import { createLogger } from '../../shared/log.js';
import { FakeSlotTimer } from './fakeTimer.js';
import { seededRandom } from './stats.js';

const SERVER = 'https://drop.example';
const own = [`${SERVER}/${'a'.repeat(43)}`, `${SERVER}/${'b'.repeat(43)}`];

function setup(options: { shape?: () => BudgetShape | null; post?: (url: string, pdu: Uint8Array, cover: boolean) => Promise<void> } = {}) {
  const timer = new FakeSlotTimer(0);
  const queue = new PostQueue(() => timer.now());
  const reports: SlotReport[] = [];
  const requests: string[] = [];
  const shape = options.shape ?? (() => ({ slotMs: 1000, postsPerSlot: 2, page: 4 }));
  const scheduler = new BudgetScheduler({
    shape,
    ownDrops: () => own,
    queue,
    covers: new CoverTargets({ takesCover: () => true, ownDrops: () => own, random: seededRandom(1) }),
    coverPdu: () => new Uint8Array(2149),
    post: async (url, pdu, cover) => {
      requests.push(cover ? 'cover' : `real ${pdu[0]}`);
      await options.post?.(url, pdu, cover);
    },
    read: async (url) => void requests.push(`read ${url.slice(-1)}`),
    timer,
    random: seededRandom(2),
    onSlot: (report) => reports.push(report),
    logger: createLogger('budget-test'),
  });
  return { timer, queue, scheduler, reports, requests };
}

const pdu = (tag: number) => new Uint8Array(2149).fill(tag);

describe('BudgetScheduler', () => {
  it('draws each interval from U(0.75, 1.25) Δ after the slot was due, and sends P POSTs and one GET per drop each slot', async () => {
    const { timer, scheduler, reports, requests } = setup();
    scheduler.start();
    await timer.runUntil(200_000, () => scheduler.idle());
    const gaps = reports.slice(1).map((r, i) => r.dueAt - reports[i]!.dueAt);
    expect(reports.length).toBeGreaterThan(150);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(750);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1250);
    expect(Math.min(...gaps)).toBeLessThan(760);
    expect(Math.max(...gaps)).toBeGreaterThan(1240);
    expect(requests.filter((r) => r === 'cover')).toHaveLength(2 * reports.length);
    expect(requests.filter((r) => r.startsWith('read'))).toHaveLength(2 * reports.length);
    // The order within a slot varies.
    const orders = new Set(reports.map((_, i) => requests.slice(4 * i, 4 * i + 4).join()));
    expect(orders.size).toBeGreaterThan(6);
    await scheduler.stop();
  });

  it('sends waiting PDUs first, oldest first, P per slot, and settles each sender with its POST', async () => {
    const { timer, queue, scheduler, reports, requests } = setup();
    const settled: string[] = [];
    const sent = [1, 2, 3, 4, 5].map((tag) =>
      queue.enqueue(`${SERVER}/${'c'.repeat(43)}`, pdu(tag)).then(
        () => void settled.push(`ok ${tag}`),
        () => void settled.push(`failed ${tag}`),
      ),
    );
    scheduler.start();
    for (let i = 0; i < 3; i++) await timer.runNext(() => scheduler.idle());
    await Promise.all(sent);
    expect(reports.map((r) => r.posts.filter((p) => !p.cover).length)).toEqual([2, 2, 1]);
    expect(reports.map((r) => r.posts.length)).toEqual([2, 2, 2]);
    expect(settled).toEqual(['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5']);
    // Oldest first across slots (their order within a slot is shuffled).
    const realPerSlot = [0, 1, 2].map((i) => requests.slice(4 * i, 4 * i + 4).filter((r) => r.startsWith('real')).sort());
    expect(realPerSlot).toEqual([['real 1', 'real 2'], ['real 3', 'real 4'], ['real 5']]);
    await scheduler.stop();
  });

  it('hands a refused real POST back to its sender', async () => {
    const { timer, queue, scheduler } = setup({ post: (_url, body, cover) => (!cover && body[0] === 7 ? Promise.reject(new Error('HTTP 507')) : Promise.resolve()) });
    const refused = queue.enqueue(`${SERVER}/${'c'.repeat(43)}`, pdu(7));
    scheduler.start();
    await timer.runNext(() => scheduler.idle());
    await expect(refused).rejects.toThrow('HTTP 507');
    await scheduler.stop();
  });

  it('keeps its rhythm whatever a slot carries: the due times are the same with and without PDUs', async () => {
    const quiet = setup();
    const busy = setup();
    for (let i = 0; i < 40; i++) void busy.queue.enqueue(`${SERVER}/${'c'.repeat(43)}`, pdu(1)).catch(() => undefined);
    for (const run of [quiet, busy]) {
      run.scheduler.start();
      await run.timer.runUntil(30_000, () => run.scheduler.idle());
      await run.scheduler.stop();
    }
    expect(busy.reports.map((r) => r.dueAt)).toEqual(quiet.reports.map((r) => r.dueAt));
  });

  it('stops when the setting is switched off, and releases waiting PDUs on request', async () => {
    let on = true;
    const { timer, queue, scheduler, reports } = setup({ shape: () => (on ? { slotMs: 1000, postsPerSlot: 1, page: 2 } : null) });
    scheduler.start();
    await timer.runNext(() => scheduler.idle());
    on = false;
    const waiting = queue.enqueue(`${SERVER}/${'c'.repeat(43)}`, pdu(1));
    await timer.runUntil(10_000, () => scheduler.idle());
    expect(reports).toHaveLength(1);
    expect(scheduler.started).toBe(false);
    queue.release('switched off');
    await expect(waiting).rejects.toThrow('switched off');
  });
});
