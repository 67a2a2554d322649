/**
 * What the poller knows of each drop server, for the UI's `servers/status`: reachable or not, the last
 * poll and its latency, push, malformed messages counted, what the traffic budget learnt of it, and the
 * introductions a day its claims of our closed drops were granted. An event goes out only when a state
 * changes, not on every poll's new timestamp.
 */
import type { EventSink, ServerStatus } from '../../../shared/ipc/contract.js';
import type { Logger } from '../../../shared/log.js';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import type { StateStore } from '../state/stateStore.js';

export interface ServerStatusBoardOptions {
  stateStore: StateStore;
  emit: EventSink;
  now(): number;
  logger: Logger;
}

/** A poll's outcome, as a watcher reports it. */
export type PollOutcome = { ok: true; latencyMs: number } | { ok: false; error: string };

/** Malformed PDUs remembered (by ephemeral key) before the memory starts over. */
const MAX_MALFORMED_REMEMBERED = 20_000;

export class ServerStatusBoard {
  private readonly servers = new Map<string, ServerStatus>();
  /** PDUs counted as malformed (by ephemeral key), so a page read again does not count them twice. */
  private readonly malformedSeen = new Set<string>();

  constructor(private readonly options: ServerStatusBoardOptions) {}

  statuses(): ServerStatus[] {
    const granted = this.introsGranted();
    return [...this.servers.entries()].map(([serverUrl, status]) => {
      const introPerDay = granted.get(serverUrl) ?? status.introPerDay;
      return { ...status, ...(introPerDay !== undefined ? { introPerDay } : {}) };
    });
  }

  /** Forgets the servers no wanted drop is on any more. */
  retain(serverUrls: ReadonlySet<string>): void {
    for (const serverUrl of this.servers.keys()) if (!serverUrls.has(serverUrl)) this.servers.delete(serverUrl);
  }

  recordResult(dropUrl: string, result: PollOutcome): void {
    if (result.ok) this.update(dropUrl, { reachable: true, lastPollAt: this.options.now(), latencyMs: result.latencyMs, lastError: null });
    else {
      this.options.logger.warn('poll failed', { error: result.error });
      this.update(dropUrl, { reachable: false, lastPollAt: this.options.now(), lastError: result.error });
    }
  }

  /** Counts the malformed PDUs of a poll (each named by its ephemeral key) not counted before. */
  countMalformed(dropUrl: string, keys: readonly string[]): void {
    const malformed = keys.filter((key) => !this.malformedSeen.has(key));
    if (malformed.length === 0) return;
    // Sealed for us and unreadable: a broken or hostile client of someone who has our key. Counted
    // (once, though a poll before the cursor moves on reads it again), never shown.
    if (this.malformedSeen.size > MAX_MALFORMED_REMEMBERED) this.malformedSeen.clear();
    for (const key of malformed) this.malformedSeen.add(key);
    this.options.logger.warn('malformed messages dropped', { count: malformed.length });
    const serverUrl = parseDropUrl(dropUrl).serverUrl;
    this.update(dropUrl, { malformedMessages: (this.servers.get(serverUrl)?.malformedMessages ?? 0) + malformed.length });
  }

  update(dropUrl: string, change: Partial<ServerStatus>): void {
    const serverUrl = parseDropUrl(dropUrl).serverUrl;
    const current: ServerStatus = this.servers.get(serverUrl) ?? {
      serverUrl,
      reachable: null,
      lastPollAt: null,
      latencyMs: null,
      pushConnected: false,
      lastError: null,
      malformedMessages: 0,
    };
    const next = { ...current, ...change };
    const isNew = !this.servers.has(serverUrl);
    this.servers.set(serverUrl, next);
    // Timestamps change on every poll; the UI only needs to hear about changes of state.
    const changed =
      isNew ||
      next.reachable !== current.reachable ||
      next.pushConnected !== current.pushConnected ||
      next.lastError !== current.lastError ||
      next.malformedMessages !== current.malformedMessages ||
      next.canPad !== current.canPad ||
      next.canCover !== current.canCover ||
      next.introPerDay !== current.introPerDay;
    if (changed) this.options.emit('servers/status', this.statuses());
  }

  /** Per server, the introductions a day its claims of our closed drops were granted (the least, when several). */
  private introsGranted(): Map<string, number> {
    const granted = new Map<string, number>();
    if (this.options.stateStore.locked) return granted;
    for (const identity of this.options.stateStore.identities()) {
      for (const claim of this.options.stateStore.closedDrops(identity.id)) {
        const { serverUrl } = parseDropUrl(claim.url);
        granted.set(serverUrl, Math.min(granted.get(serverUrl) ?? Infinity, claim.introPerDay));
      }
    }
    return granted;
  }
}
