/** Settings of one drop server instance, their defaults, and their validation. */
import { isIP } from 'node:net';
import { LOG_LEVELS, type LogLevel } from '../../shared/log.js';

/** Time source; tests inject a fake one to exercise expiry without waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface DropServerOptions {
  /** Interface to listen on. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** `sqlite:<file>`, `sqlite::memory:` or `postgres://...`. */
  db: string;
  /** Service path the drops live under (`/`, `/tools/drop`); normalised without trailing slash. */
  basePath: string;
  /** POST bodies above this are refused with 413 (PROTOCOL.md: 2573, the original server's value). */
  maxMessageBytes: number;
  /**
   * Most messages one GET returns (1000: about 2.5 MB). A client that echoes `X-Qabel-Latest` or
   * `Last-Modified` fetches the rest with its next poll, so the cap bounds memory without breaking
   * the cursor guarantee. Not a flag: tests lower it to exercise paging.
   */
  pageSize: number;
  /** Messages older than this are deleted. */
  ttlSeconds: number;
  /**
   * When stored message bodies exceed this many bytes, the largest drop loses its own oldest messages
   * (fair eviction); blob uploads are refused while messages and blobs together would exceed it.
   */
  quotaBytes: number;
  /** Store encrypted blobs (`POST <base>/blobs`); off by default. */
  blobs: boolean;
  /** A blob upload larger than this is refused with 413. */
  maxBlobBytes: number;
  /** A POST into a drop holding this many messages is refused with 507 (a flood cannot evict others). */
  dropMaxMessages: number;
  /** A POST into a drop holding this many bytes is refused with 507. */
  dropMaxBytes: number;
  /** Bearer access tokens; empty means the open protocol (`Authorization: Client Qabel`). */
  tokens: string[];
  logLevel: LogLevel;
  clock: Clock;
  /** Open TCP connections beyond this are refused. */
  maxConnections: number;
  /**
   * Open TCP connections of one client (an IPv4 address, an IPv6 /64) beyond this are closed at
   * once, so one client cannot lock out the rest. A trusted proxy's connections count only against
   * `maxConnections` (they carry many clients).
   */
  maxConnectionsPerClient: number;
  /** WebSocket subscribers beyond this are refused with 503; kept below `maxConnections`. */
  maxSubscribers: number;
  /** WebSocket subscribers of one client (behind a trusted proxy: per `X-Forwarded-For`) beyond this get 429. */
  maxSubscribersPerClient: number;
  /** Reverse proxies whose `X-Forwarded-For` names the client (their own address is exempt from the per-client connection cap). */
  trustedProxies: string[];
  /** A connection that has not begun a request this long after opening is closed. */
  idleConnectionMs: number;
  /** A socket with no traffic either way this long (a client that stopped reading its response) is closed. */
  socketTimeoutMs: number;
  /** Serve `/metrics` on its own listener on this port (0: any free port); null: not on a listener of its own. */
  metricsPort: number | null;
  /** Interface of the metrics listener. */
  metricsHost: string;
  /** Serve `/metrics` beside the drops, to `Authorization: Bearer <this>` only; null: not beside the drops. */
  metricsToken: string | null;
  /** Time a client has to send its request headers. */
  headersTimeoutMs: number;
  /** Time a client has to send its whole request. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: number;
  /** How often expired and over-quota messages are deleted. */
  sweepIntervalMs: number;
  /**
   * Anti-spam (server/spam, PROTOCOL-V1 section 3c). The most ticketless introductions a closed drop
   * takes per UTC day (a policy may ask for fewer, never more); announced as `intro_per_day`.
   */
  introPerDay: number;
  /** Leading zero bits of a stamp: for introductions, and for open drops under pressure (2 more under heavy pressure). */
  powBits: number;
  /**
   * Open drops ask ticketless POSTs for stamps when the stored bytes are above this percentage of the
   * quota (above 100: never for fill; the sweeper keeps the store at the quota).
   */
  powAbovePercent: number;
  /** ...or when this instance took more ticketless bytes in the last 10 minutes than this percentage of the quota (load). */
  powLoadPercent: number;
  /**
   * No ticketless POST is taken when the stored bytes are at this percentage of the quota: the rest is
   * kept for ticketed mail (above 100: never, and eviction makes room instead, the behaviour before
   * tickets existed).
   */
  ticketlessCeilingPercent: number;
  /** Under pressure, each open drop takes at most this many ticketless POSTs an hour (token bucket, per instance). */
  dropTicketlessPerHour: number;
}

export const DEFAULT_OPTIONS: DropServerOptions = {
  host: '127.0.0.1',
  port: 8080,
  db: 'sqlite:./deaddrop-data/drops.db',
  basePath: '',
  maxMessageBytes: 2573,
  pageSize: 1000,
  ttlSeconds: 7 * 86_400,
  quotaBytes: 1e9,
  blobs: false,
  maxBlobBytes: 100e6,
  dropMaxMessages: 10_000,
  dropMaxBytes: 32e6,
  tokens: [],
  logLevel: 'info',
  clock: systemClock,
  maxConnections: 1024,
  maxConnectionsPerClient: 64,
  maxSubscribers: 768,
  maxSubscribersPerClient: 32,
  trustedProxies: [],
  idleConnectionMs: 5_000,
  socketTimeoutMs: 30_000,
  metricsPort: null,
  metricsHost: '127.0.0.1',
  metricsToken: null,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  sweepIntervalMs: 60_000,
  introPerDay: 20,
  powBits: 18,
  powAbovePercent: 50,
  powLoadPercent: 10,
  ticketlessCeilingPercent: 90,
  dropTicketlessPerHour: 60,
};

/** A setting that cannot be used; the message names the flag and is fit for one error line. */
export class OptionError extends Error {
  override readonly name = 'OptionError';
}


/** `/`, `` or `/tools/drop/` become `` and `/tools/drop`: the form that is joined with `/<dropId>`. */
export function normaliseBasePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') return '';
  if (!/^(\/[-._~A-Za-z0-9]+)+$/.test(trimmed)) {
    throw new OptionError(`--base-path must look like /tools/drop (letters, digits, - . _ ~ between slashes), got "${path}"`);
  }
  return trimmed;
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new OptionError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

/**
 * Defaults filled in, every value checked.
 * @throws OptionError naming the first bad setting
 */
export function resolveOptions(partial: Partial<DropServerOptions>): DropServerOptions {
  const o: DropServerOptions = { ...DEFAULT_OPTIONS, ...stripUndefined(partial) };
  o.basePath = normaliseBasePath(o.basePath);
  if (o.host.trim() === '') throw new OptionError('--host must not be empty');
  requireInteger('--port', o.port, 0, 65_535);
  requireInteger('--max-message-bytes', o.maxMessageBytes, 1, 64 * 1024 * 1024);
  requireInteger('pageSize', o.pageSize, 1, 100_000);
  requireInteger('--ttl', o.ttlSeconds, 1, 10 * 365 * 86_400);
  requireInteger('--quota', o.quotaBytes, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('--max-blob-bytes', o.maxBlobBytes, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('--drop-max-messages', o.dropMaxMessages, 1, 100_000_000);
  requireInteger('--drop-max-bytes', o.dropMaxBytes, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('maxConnections', o.maxConnections, 1, 1_000_000);
  requireInteger('--max-client-connections', o.maxConnectionsPerClient, 1, 1_000_000);
  o.maxConnectionsPerClient = Math.min(o.maxConnectionsPerClient, o.maxConnections);
  requireInteger('maxSubscribers', o.maxSubscribers, 0, 1_000_000);
  requireInteger('maxSubscribersPerClient', o.maxSubscribersPerClient, 0, 1_000_000);
  // Subscribers hold connections: leave room for the requests that polling and posting need.
  o.maxSubscribers = Math.min(o.maxSubscribers, Math.floor(o.maxConnections * 0.75));
  o.maxSubscribersPerClient = Math.min(o.maxSubscribersPerClient, Math.floor(o.maxConnectionsPerClient / 2));
  if (o.metricsPort !== null) requireInteger('--metrics-port', o.metricsPort, 0, 65_535);
  if (o.metricsHost.trim() === '') throw new OptionError('--metrics-host must not be empty');
  for (const proxy of o.trustedProxies) {
    if (!isIP(proxy)) throw new OptionError(`--trusted-proxy must be an IP address, got "${proxy}"`);
  }
  for (const name of ['headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs', 'sweepIntervalMs', 'idleConnectionMs', 'socketTimeoutMs'] as const) {
    requireInteger(name, o[name], 1, 86_400_000);
  }
  requireInteger('--intro-per-day', o.introPerDay, 0, 1000);
  requireInteger('--pow-bits', o.powBits, 1, 32);
  requireInteger('--pow-above', o.powAbovePercent, 0, 1000);
  requireInteger('--pow-load', o.powLoadPercent, 1, 10_000);
  requireInteger('--ticketless-ceiling', o.ticketlessCeilingPercent, 1, 1000);
  requireInteger('--drop-ticketless-per-hour', o.dropTicketlessPerHour, 1, 1_000_000);
  if (!LOG_LEVELS.includes(o.logLevel)) throw new OptionError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  for (const token of o.tokens) {
    if (!/^[\x21-\x7e]{16,512}$/.test(token)) {
      throw new OptionError('--token must be 16 to 512 printable characters without spaces');
    }
  }
  if (o.metricsToken !== null && !/^[\x21-\x7e]{16,512}$/.test(o.metricsToken)) {
    throw new OptionError('--metrics-token must be 16 to 512 printable characters without spaces');
  }
  return o;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
