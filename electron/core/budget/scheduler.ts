/**
 * The traffic budget's slots (PROTOCOL-V1.md 4c). Every Δ·U(0.75, 1.25) a slot sends exactly P POSTs
 * (waiting real PDUs first, cover for the rest) and one GET per own drop, started in random order, each
 * on a connection of its own (the transport's job). The time of the next slot is drawn from the time
 * this one was due, never from what it carried or how long it took, so the rhythm of the requests says
 * nothing about activity; a slot still running when the next is due delays that one (a slow network),
 * and no slot is ever skipped or doubled to catch up.
 */
import type { Logger } from '../../../shared/log.js';
import type { BudgetShape } from '../../../shared/budget/model.js';
import type { CoverTargets } from './coverTargets.js';
import type { PostQueue, QueuedPost } from './postQueue.js';

/** Timers the tests replace with a clock they advance themselves. */
export interface SlotTimer {
  now(): number;
  /** Runs `run` after `ms`; the returned function cancels it. */
  after(ms: number, run: () => void): () => void;
}

export const realTimer: SlotTimer = {
  now: () => Date.now(),
  after(ms, run) {
    const timer = setTimeout(run, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface BudgetSchedulerOptions {
  /** Read at every slot, so a changed setting takes effect with the next one; null stops the slots. */
  shape(): BudgetShape | null;
  ownDrops(): readonly string[];
  queue: PostQueue;
  covers: CoverTargets;
  coverPdu(): Uint8Array;
  /** One POST on its own connection, with the anti-spam `headers` of a real PDU. @throws what the POST met */
  post(dropUrl: string, pdu: Uint8Array, cover: boolean, headers?: Readonly<Record<string, string>>): Promise<void>;
  /** One GET of an own drop on its own connection, padded to `page` parts where the server can. */
  read(dropUrl: string, page: number): Promise<void>;
  timer: SlotTimer;
  /** U[0, 1): the jitter, the order within a slot and the choice of cover servers. */
  random(): number;
  /** After every slot (tests, the bench, diagnostics). */
  onSlot?(report: SlotReport): void;
  logger: Logger;
}

/** What one slot did. */
export interface SlotReport {
  index: number;
  /** When it was due (its requests start then unless the previous slot was still running). */
  dueAt: number;
  startedAt: number;
  posts: { dropUrl: string; cover: boolean; ok: boolean; queuedAt: number | null }[];
  reads: { dropUrl: string; ok: boolean }[];
  /** POSTs this slot could not send: no known server takes cover (the user is told per server). */
  missingCover: number;
}

type Action = { kind: 'real'; post: QueuedPost } | { kind: 'cover'; dropUrl: string } | { kind: 'read'; dropUrl: string };

export class BudgetScheduler {
  private cancel: (() => void) | null = null;
  private running: Promise<void> | null = null;
  private index = 0;
  private dueAt = 0;
  private active = false;

  constructor(private readonly options: BudgetSchedulerOptions) {}

  get started(): boolean {
    return this.active;
  }

  /** Starts the slots: the first after one jittered interval (a start is not an event worth a slot of its own). */
  start(): void {
    if (this.active) return;
    const shape = this.options.shape();
    if (!shape) return;
    this.active = true;
    this.dueAt = this.options.timer.now();
    this.scheduleNext(shape);
  }

  /** Stops after the running slot; resolves when it has finished. */
  async stop(): Promise<void> {
    this.active = false;
    this.cancel?.();
    this.cancel = null;
    await this.idle();
  }

  /** Resolves when no slot is running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private scheduleNext(shape: BudgetShape): void {
    const interval = shape.slotMs * (0.75 + 0.5 * this.options.random());
    this.dueAt += interval;
    const delay = Math.max(0, this.dueAt - this.options.timer.now());
    // Armed only once the previous slot has ended, so a slot never overlaps the one before it.
    this.cancel = this.options.timer.after(delay, () => {
      this.cancel = null;
      this.running = this.due().finally(() => (this.running = null));
    });
  }

  private async due(): Promise<void> {
    const shape = this.options.shape();
    if (!this.active || !shape) {
      this.active = false;
      return;
    }
    try {
      await this.runSlot(shape);
    } catch (err) {
      // A slot that broke is still followed by the next: the rhythm never stops by itself.
      this.options.logger.warn('budget slot failed', { error: err instanceof Error ? err.message : 'unknown' });
    }
    if (this.active) this.scheduleNext(this.options.shape() ?? shape);
  }

  private async runSlot(shape: BudgetShape): Promise<void> {
    const { queue, covers, random } = this.options;
    const report: SlotReport = { index: this.index++, dueAt: this.dueAt, startedAt: this.options.timer.now(), posts: [], reads: [], missingCover: 0 };
    const actions: Action[] = queue.take(shape.postsPerSlot).map((post) => ({ kind: 'real', post }));
    while (actions.length < shape.postsPerSlot) {
      const dropUrl = covers.next();
      if (dropUrl === null) {
        report.missingCover = shape.postsPerSlot - actions.length;
        break;
      }
      actions.push({ kind: 'cover', dropUrl });
    }
    for (const dropUrl of this.options.ownDrops()) actions.push({ kind: 'read', dropUrl });
    shuffle(actions, random);
    // Started in this order, all at once: a slot is one burst whatever it carries.
    await Promise.all(actions.map((action) => this.perform(action, shape, report)));
    this.options.onSlot?.(report);
  }

  private async perform(action: Action, shape: BudgetShape, report: SlotReport): Promise<void> {
    const { logger } = this.options;
    switch (action.kind) {
      case 'real': {
        const { post } = action;
        try {
          await this.options.post(post.dropUrl, post.pdu, false, post.headers);
          this.options.covers.noteRealPost(post.dropUrl);
          report.posts.push({ dropUrl: post.dropUrl, cover: false, ok: true, queuedAt: post.queuedAt });
          post.settle();
        } catch (err) {
          report.posts.push({ dropUrl: post.dropUrl, cover: false, ok: false, queuedAt: post.queuedAt });
          post.settle(err);
        }
        return;
      }
      case 'cover': {
        const ok = await this.options.post(action.dropUrl, this.options.coverPdu(), true).then(
          () => true,
          (err: unknown) => {
            logger.warn('cover POST failed', { error: err instanceof Error ? err.message : 'unknown' });
            return false;
          },
        );
        report.posts.push({ dropUrl: action.dropUrl, cover: true, ok, queuedAt: null });
        return;
      }
      case 'read': {
        const ok = await this.options.read(action.dropUrl, shape.page).then(
          () => true,
          (err: unknown) => {
            logger.warn('budget read failed', { error: err instanceof Error ? err.message : 'unknown' });
            return false;
          },
        );
        report.reads.push({ dropUrl: action.dropUrl, ok });
        return;
      }
    }
  }
}

/** Fisher-Yates with the scheduler's random source. */
function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
