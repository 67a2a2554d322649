/**
 * Real PDUs waiting for a slot (PROTOCOL-V1.md 4c): in budget mode the outbox hands every POST here
 * (messages, copies, re-posts, receipts, PINGs) instead of sending it at once, and a slot takes them
 * oldest first. The outbox's promise settles with the slot's POST, so its retries, copy accounting
 * and status work as without a budget: a refused POST comes back to it as an error and its next
 * attempt queues the PDU again.
 */
import { DropRequestError } from '../net/dropClient.js';

export interface QueuedPost {
  dropUrl: string;
  pdu: Uint8Array;
  /** The anti-spam headers the outbox sends with it (a ticket or a stamp); the slot pads them to one size. */
  headers: Readonly<Record<string, string>>;
  queuedAt: number;
  /** The slot posted it (or the server refused it: `failed`). */
  settle(error?: unknown): void;
}

export class PostQueue {
  private readonly waiting: QueuedPost[] = [];

  constructor(private readonly now: () => number) {}

  get size(): number {
    return this.waiting.length;
  }

  /** Resolves when a slot has posted `pdu` to `dropUrl` (with `headers`); rejects with what that POST met. */
  enqueue(dropUrl: string, pdu: Uint8Array, headers: Readonly<Record<string, string>> = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ dropUrl, pdu, headers, queuedAt: this.now(), settle: (error) => (error === undefined ? resolve() : reject(error)) });
    });
  }

  /** The oldest `n` (or fewer), taken off the queue. */
  take(n: number): QueuedPost[] {
    return this.waiting.splice(0, n);
  }

  /**
   * Hands every waiting PDU back to its sender with a retryable error (the budget was switched off,
   * or the engine locks): the outbox tries again by its own schedule.
   */
  release(reason: string): void {
    for (const post of this.waiting.splice(0)) post.settle(new DropRequestError('network', reason));
  }
}
