/** A clock the budget tests advance themselves: timers run in due order, each slot's real HTTP awaited before the next. */
import type { SlotTimer } from '../../electron/core/budget/scheduler.js';

interface Pending {
  due: number;
  order: number;
  run(): void;
}

export class FakeSlotTimer implements SlotTimer {
  private t: number;
  private order = 0;
  private readonly pending: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  after(ms: number, run: () => void): () => void {
    const entry = { due: this.t + ms, order: this.order++, run };
    this.pending.push(entry);
    return () => {
      const i = this.pending.indexOf(entry);
      if (i >= 0) this.pending.splice(i, 1);
    };
  }

  /** Runs the next timer (advancing the clock to it), then awaits `settle`; false when none is pending. */
  async runNext(settle: () => Promise<unknown>): Promise<boolean> {
    this.pending.sort((a, b) => a.due - b.due || a.order - b.order);
    const next = this.pending.shift();
    if (!next) return false;
    this.t = Math.max(this.t, next.due);
    next.run();
    await settle();
    return true;
  }

  /**
   * Runs every timer due up to `end` in order; after each, `settle` is awaited (the slot's requests),
   * so the clock never moves while a slot talks to the server.
   */
  async runUntil(end: number, settle: () => Promise<unknown>): Promise<void> {
    for (;;) {
      this.pending.sort((a, b) => a.due - b.due || a.order - b.order);
      const next = this.pending[0];
      if (!next || next.due > end) break;
      this.pending.shift();
      this.t = Math.max(this.t, next.due);
      next.run();
      await settle();
    }
    this.t = Math.max(this.t, end);
  }
}
