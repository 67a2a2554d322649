/**
 * Budget users for the shape test and the bench: a `TrafficBudget` on a fake clock talking real HTTP
 * through the recording proxy to a real drop server process. Its outbox is the budget's own posting
 * client (as the engine's outbox uses it), its poller a cursor per drop that keeps what it reads.
 */
import { TrafficBudget } from '../../electron/core/budget/trafficBudget.js';
import type { SlotReport } from '../../electron/core/budget/scheduler.js';
import { DestinationGuard } from '../../electron/core/net/destinationGuard.js';
import { type TrafficBudgetSetting, DEFAULT_TRAFFIC_BUDGET } from '../../shared/budget/setting.js';
import { createLogger } from '../../shared/log.js';
import type { FakeSlotTimer } from './fakeTimer.js';

export interface BudgetUser {
  budget: TrafficBudget;
  slots: SlotReport[];
  /** Real parts read from the own drops, with the clock time of the slot that read them. */
  received: { body: Uint8Array; at: number }[];
  /** The outbox's POST (resolves once a slot posted it). */
  send(dropUrl: string, pdu: Uint8Array): Promise<void>;
}

/** Test servers are on 127.0.0.1: the guard lets them through, as the host does for its own servers. */
export const loopbackGuard = (): DestinationGuard => new DestinationGuard({ allowLocalNetwork: () => true, trustedOrigins: () => new Set() });

export function budgetUser(options: { drops: string[]; timer: FakeSlotTimer; random: () => number; preset?: TrafficBudgetSetting['preset'] }): BudgetUser {
  const cursors = new Map<string, string | null>();
  const slots: SlotReport[] = [];
  const received: BudgetUser['received'] = [];
  const setting: TrafficBudgetSetting = { ...DEFAULT_TRAFFIC_BUDGET, preset: options.preset ?? 'medium' };
  const budget = new TrafficBudget({
    setting: () => setting,
    proxy: () => ({ kind: 'none' }),
    guard: loopbackGuard(),
    ownDrops: () => options.drops,
    async readDrop(dropUrl, fetch) {
      const result = await fetch(dropUrl, cursors.get(dropUrl) ?? null, { onItem: (item) => void received.push({ body: item.body, at: options.timer.now() }) });
      if (result.status === 'messages' && result.latest !== null) cursors.set(dropUrl, result.latest);
    },
    noteServer: () => undefined,
    timer: options.timer,
    random: options.random,
    onSlot: (report) => slots.push(report),
    logger: createLogger('budget-test'),
  });
  return {
    budget,
    slots,
    received,
    send: (dropUrl, pdu) => budget.postingClient()!.post(dropUrl, pdu),
  };
}
