/**
 * Where cover goes (PROTOCOL-V1.md 4c): a random drop ID on a server chosen with the same
 * distribution as real sends, so the servers a user's POSTs reach do not change with whether they
 * have something to say. The distribution is the servers of the last real POSTs (each counted once
 * per POST); only servers that announced `cover` take cover, and before any real send (or when none
 * of them can) the user's own servers that announced it stand in.
 */
import { formatDropUrl, generateDropId, parseDropUrl } from '../../../shared/protocol/dropId.js';

/** Real POSTs remembered: enough to follow a user's mix of contacts, few enough to follow its changes. */
const WINDOW = 64;

export interface CoverTargetOptions {
  /** Whether `serverUrl` announced `cover` (false while unknown). */
  takesCover(serverUrl: string): boolean;
  /** The user's own drop URLs (the fallback). */
  ownDrops(): readonly string[];
  /** U[0, 1) */
  random(): number;
  /** A real POST went to `serverUrl` (whether it takes cover may be unknown yet). */
  onRealServer?(serverUrl: string): void;
}

export class CoverTargets {
  private readonly recent: string[] = [];

  constructor(private readonly options: CoverTargetOptions) {}

  /** A real POST went to `dropUrl`. */
  noteRealPost(dropUrl: string): void {
    const { serverUrl } = parseDropUrl(dropUrl);
    this.options.onRealServer?.(serverUrl);
    this.recent.push(serverUrl);
    if (this.recent.length > WINDOW) this.recent.shift();
  }

  /** A drop URL for the next cover PDU; null when no known server takes cover. */
  next(): string | null {
    const { takesCover, ownDrops, random } = this.options;
    let servers = this.recent.filter(takesCover);
    if (servers.length === 0) servers = ownDrops().map((url) => parseDropUrl(url).serverUrl).filter(takesCover);
    if (servers.length === 0) return null;
    const server = servers[Math.floor(random() * servers.length)]!;
    return formatDropUrl(server, generateDropId());
  }
}
