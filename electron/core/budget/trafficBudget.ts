/**
 * The traffic budget in the engine (PROTOCOL-V1.md 4c): while a preset other than Off is chosen, the
 * slots of `BudgetScheduler` carry all drop traffic. The outbox posts through `postingClient()` (its
 * PDUs wait in the queue for a slot), the poller runs no watchers, push sockets or probes of its own
 * and reads each own drop once per slot through `readDrop`, and the servers' discovery documents say
 * who can pad answers and take cover. A server that cannot is reported (`ServerStatus.canPad`,
 * `canCover`), never quietly used as if it could.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../shared/log.js';
import { type BudgetShape, shapeOf } from '../../../shared/budget/model.js';
import type { TrafficBudgetSetting } from '../../../shared/budget/setting.js';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import type { DestinationGuard } from '../net/destinationGuard.js';
import { DropClient, DropRequestError, type FetchOptions, type FetchResult } from '../net/dropClient.js';
import type { ProxySetting } from '../net/proxyDispatcher.js';
import { coverPdu } from './coverPdu.js';
import { CoverTargets } from './coverTargets.js';
import { PostQueue } from './postQueue.js';
import { BudgetScheduler, type SlotReport, type SlotTimer, realTimer } from './scheduler.js';
import { NO_FEATURES, type ServerFeatures, SlotTransport } from './slotTransport.js';

/** One GET of a drop after `since`, as the poller asks for it. */
export type BudgetFetch = (dropUrl: string, since: string | null, options: FetchOptions) => Promise<FetchResult>;

/** How long a settings change waits for the servers' discovery documents before the slots start anyway. */
const DISCOVERY_WAIT_MS = 5000;
/** A server's features are asked again after a day (a server may be upgraded). */
const DISCOVERY_MAX_AGE_MS = 24 * 3600_000;
/** A server that did not answer is asked again after an hour, not in every slot. */
const DISCOVERY_RETRY_MS = 3600_000;

export interface TrafficBudgetOptions {
  /** The user's setting; null while the engine is locked (no slots then). */
  setting(): TrafficBudgetSetting | null;
  /** The user paused reading: no slots, and PDUs wait in the queue until reading resumes. */
  paused?(): boolean;
  proxy(): ProxySetting;
  guard: DestinationGuard;
  ownDrops(): readonly string[];
  /** Reads one own drop with exactly one request through `fetch` (the poller's budget hook). */
  readDrop(dropUrl: string, fetch: BudgetFetch): Promise<void>;
  /** What a server announced, for the user to see (both undefined: the budget is off, nothing to say). */
  noteServer(dropUrl: string, features: { canPad: boolean | undefined; canCover: boolean | undefined; introPerDay?: number | undefined }): void;
  timer?: SlotTimer;
  random?: () => number;
  timeoutMs?: number;
  onSlot?(report: SlotReport): void;
  logger: Logger;
}

export class TrafficBudget {
  readonly queue: PostQueue;
  private readonly transport: SlotTransport;
  private readonly scheduler: BudgetScheduler;
  private readonly covers: CoverTargets;
  private readonly features = new Map<string, { features: ServerFeatures; at: number }>();
  private readonly discovering = new Set<string>();
  /** Contacts' servers waiting for their discovery (see `discoverLater`). */
  private readonly discoveryPlanned = new Map<string, () => void>();
  private readonly queueingClient: DropClient;
  private readonly timer: SlotTimer;

  constructor(private readonly options: TrafficBudgetOptions) {
    this.timer = options.timer ?? realTimer;
    const random = options.random ?? Math.random;
    this.queue = new PostQueue(() => this.timer.now());
    this.transport = new SlotTransport({ proxy: options.proxy, guard: options.guard, timeoutMs: options.timeoutMs });
    this.covers = new CoverTargets({
      takesCover: (serverUrl) => this.featuresOf(serverUrl)?.cover === true,
      ownDrops: options.ownDrops,
      random,
      onRealServer: (serverUrl) => this.discoverLater(serverUrl, random),
    });
    this.scheduler = new BudgetScheduler({
      shape: () => (this.active ? this.shape() : null),
      ownDrops: options.ownDrops,
      queue: this.queue,
      covers: this.covers,
      coverPdu,
      post: (dropUrl, pdu, cover, headers) => this.transport.post(dropUrl, pdu, cover, headers),
      read: (dropUrl, page) => this.read(dropUrl, page),
      timer: this.timer,
      random,
      onSlot: options.onSlot,
      logger: options.logger,
    });
    this.queueingClient = new QueueingDropClient(this.queue);
  }

  /** True while a preset other than Off is chosen and the engine is unlocked: all drop traffic goes in slots. */
  get enabled(): boolean {
    return this.shape() !== null;
  }

  /** True while slots run: enabled and not paused. */
  get active(): boolean {
    return this.enabled && this.options.paused?.() !== true;
  }

  /** The client the outbox posts with in budget mode (its POSTs wait for a slot); null when the budget is off. */
  postingClient(): DropClient | null {
    return this.enabled ? this.queueingClient : null;
  }

  /**
   * Follows the setting (after a change, an unlock, new own drops): asks the own servers what they
   * offer, then starts the slots, or stops them and hands waiting PDUs back to the outbox.
   */
  async configure(): Promise<void> {
    if (!this.enabled) {
      this.cancelPlannedDiscovery();
      await this.scheduler.stop();
      this.queue.release('The traffic budget was switched off; the message is sent directly.');
      for (const dropUrl of this.options.ownDrops()) this.options.noteServer(dropUrl, { canPad: undefined, canCover: undefined });
      return;
    }
    if (!this.active) return this.scheduler.stop();
    // The first slot is most of a slot away: a slow server's answer may come in the background.
    const discovery = Promise.all(this.options.ownDrops().map((dropUrl) => this.discover(parseDropUrl(dropUrl).serverUrl, dropUrl)));
    await Promise.race([discovery, sleep(DISCOVERY_WAIT_MS, undefined, { ref: false })]);
    this.scheduler.start();
  }

  /** Resolves when no slot is running (tests). */
  idle(): Promise<void> {
    return this.scheduler.idle();
  }

  async close(): Promise<void> {
    this.cancelPlannedDiscovery();
    await this.scheduler.stop();
    this.queue.release('The engine stopped.');
  }

  private shape(): BudgetShape | null {
    const setting = this.options.setting();
    return setting ? shapeOf(setting) : null;
  }

  private featuresOf(serverUrl: string): ServerFeatures | undefined {
    return this.features.get(serverUrl)?.features;
  }

  /**
   * A server real PDUs went to, not asked yet: asked at a random time within the next day, so the
   * request does not follow the slot that carried the first PDU to it (that would mark the slot).
   * Until then it takes no cover.
   */
  private discoverLater(serverUrl: string, random: () => number): void {
    if (!this.stale(serverUrl) || this.discoveryPlanned.has(serverUrl)) return;
    const cancel = this.timer.after(random() * DISCOVERY_MAX_AGE_MS, () => {
      this.discoveryPlanned.delete(serverUrl);
      void this.discover(serverUrl, null);
    });
    this.discoveryPlanned.set(serverUrl, cancel);
  }

  private cancelPlannedDiscovery(): void {
    for (const cancel of this.discoveryPlanned.values()) cancel();
    this.discoveryPlanned.clear();
  }

  /** Whether `serverUrl`'s features should be asked (again). */
  private stale(serverUrl: string): boolean {
    const known = this.features.get(serverUrl);
    return !known || known.at <= this.timer.now() - DISCOVERY_MAX_AGE_MS;
  }

  /** Asks `serverUrl` what it offers; `dropUrl`: an own drop there, whose server status says so. */
  private async discover(serverUrl: string, dropUrl: string | null): Promise<void> {
    const note = (features: ServerFeatures) => dropUrl !== null && this.options.noteServer(dropUrl, { canPad: features.page, canCover: features.cover, introPerDay: features.introPerDay });
    const known = this.features.get(serverUrl);
    if (known && !this.stale(serverUrl)) {
      note(known.features);
      return;
    }
    if (this.discovering.has(serverUrl)) return;
    this.discovering.add(serverUrl);
    try {
      const features = await this.transport.discover(serverUrl);
      this.features.set(serverUrl, { features, at: this.timer.now() });
      note(features);
    } catch (err) {
      // Unknown counts as "cannot" until it is asked again: never padded on a guess.
      this.options.logger.warn('drop server features unknown', { error: err instanceof Error ? err.message : 'unknown' });
      this.features.set(serverUrl, { features: NO_FEATURES, at: this.timer.now() - DISCOVERY_MAX_AGE_MS + DISCOVERY_RETRY_MS });
      note(NO_FEATURES);
    } finally {
      this.discovering.delete(serverUrl);
    }
  }

  /**
   * One GET of an own drop: padded where the server can, plain (and reported) where it cannot. A server
   * not asked yet (a drop added since the last configure), or asked long ago, is asked beside the slot.
   */
  private read(dropUrl: string, page: number): Promise<void> {
    const serverUrl = parseDropUrl(dropUrl).serverUrl;
    const features = this.featuresOf(serverUrl);
    if (this.stale(serverUrl)) void this.discover(serverUrl, dropUrl);
    const fetch: BudgetFetch = features?.page
      ? (url, since, options) => this.transport.fetchPage(url, since, Math.min(page, features.maxPage), options)
      : (url, since, options) => this.transport.fetchPlain(url, since, options);
    return this.options.readDrop(dropUrl, fetch);
  }
}

/**
 * The outbox's drop client in budget mode: a POST waits in the queue and settles with the slot's
 * POST. The outbox only posts; anything else through it is a mistake and says so.
 */
class QueueingDropClient extends DropClient {
  constructor(private readonly queue: PostQueue) {
    // Every request method is overridden: the dispatcher is never used.
    super({ dispatcher: undefined as never });
  }

  /** `extra`: a ticket or a stamp (stampedPost.ts), sent with the PDU in its slot. */
  override post(dropUrl: string, pdu: Uint8Array, extra: Readonly<Record<string, string>> = {}): Promise<void> {
    return this.queue.enqueue(dropUrl, pdu, extra);
  }

  override fetch(): Promise<FetchResult> {
    return Promise.reject(new DropRequestError('refused', 'In budget mode drops are read in slots only.'));
  }

  override probe(): Promise<{ hasNew: boolean; latest: string | null }> {
    return Promise.reject(new DropRequestError('refused', 'In budget mode drops are read in slots only.'));
  }
}
