/**
 * Keeps one drop polled: on a jittered interval, at once on a push hint or `pollNow`, with exponential
 * backoff after failures (so it resumes by itself after a network loss or a server restart).
 * Polls of one drop never overlap; hints during a poll cause exactly one more poll.
 */
import { type BackoffPolicy, backoffDelay, jitteredInterval } from './backoff.js';
import type { PushConnection } from '../net/network.js';
import { PushSocket } from './pushSocket.js';

export interface DropWatcherOptions {
  dropUrl: string;
  /** Fetches and processes the drop once; throws when the drop could not be read. */
  poll(dropUrl: string): Promise<void>;
  intervalMs(): number;
  /** Open a WebSocket for push hints. */
  usePush: boolean;
  /** How the push socket connects (proxy tunnel or guarded lookup); throws when refused. */
  pushConnection(url: string): PushConnection;
  backoff: BackoffPolicy;
  onResult(dropUrl: string, result: { ok: true; latencyMs: number } | { ok: false; error: string }): void;
  onPushChange(dropUrl: string, connected: boolean): void;
}

export class DropWatcher {
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private again = false;
  private failures = 0;
  private running = false;
  private paused = false;
  private readonly push: PushSocket | null;

  constructor(private readonly options: DropWatcherOptions) {
    this.push = options.usePush
      ? new PushSocket({
          dropUrl: options.dropUrl,
          backoff: options.backoff,
          connectionFor: options.pushConnection,
          onHint: () => this.pollNow(),
          onConnectedChange: (connected) => options.onPushChange(options.dropUrl, connected),
        })
      : null;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.push?.start();
    // With push, the socket's open triggers the first poll; polling starts anyway in case it never opens.
    this.pollNow();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.push?.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.polling;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.pollNow();
  }

  /** Polls as soon as the current poll (if any) is done. */
  pollNow(): void {
    if (!this.running || this.paused) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.polling = this.runPoll().finally(() => {
      this.polling = null;
      if (this.again) {
        this.again = false;
        this.pollNow();
      }
    });
  }

  /** Resolves when any poll in progress has finished. */
  async idle(): Promise<void> {
    while (this.polling) await this.polling;
  }

  private async runPoll(): Promise<void> {
    const started = Date.now();
    let delay: number;
    try {
      await this.options.poll(this.options.dropUrl);
      this.failures = 0;
      this.options.onResult(this.options.dropUrl, { ok: true, latencyMs: Date.now() - started });
      delay = jitteredInterval(this.options.intervalMs());
    } catch (err) {
      this.failures++;
      this.options.onResult(this.options.dropUrl, { ok: false, error: err instanceof Error ? err.message : 'poll failed' });
      delay = backoffDelay(this.options.backoff, this.failures);
    }
    if (!this.running || this.paused) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pollNow();
    }, delay);
  }
}
