/** Command-line flags and their environment twins (`--base-path` / `DEADDROP_BASE_PATH`); flags win. */
import { parseArgs } from 'node:util';
import type { LogLevel } from '../../shared/log.js';
import { OptionError, type DropServerOptions } from './options.js';
import { parseByteSize, parseDurationSeconds } from './units.js';

export const USAGE = `Usage: deaddrop-server [options]

Runs a Qabel drop server. Every option also reads an environment variable (shown in brackets).

  --host <addr>              interface to listen on (default 127.0.0.1)        [DEADDROP_HOST]
  --port <n>                 TCP port, 0 = any free port (default 8080)        [DEADDROP_PORT]
  --db <location>            sqlite:<file>, sqlite::memory: or postgres://...  [DEADDROP_DB]
                             (default sqlite:./deaddrop-data/drops.db)
  --base-path <path>         service path the drops live under (default /)    [DEADDROP_BASE_PATH]
  --max-message-bytes <n>    largest accepted message (default 2573)          [DEADDROP_MAX_MESSAGE_BYTES]
  --ttl <duration>           message lifetime: 7d, 12h, 30m or seconds        [DEADDROP_TTL]
                             (default 7d)
  --quota <size>             total stored bytes before the oldest messages    [DEADDROP_QUOTA]
                             are deleted: 100MB, 2GiB or bytes (default 1GB)
  --drop-max-messages <n>    a POST into a drop holding this many messages    [DEADDROP_DROP_MAX_MESSAGES]
                             is refused with 507 (default 10000)
  --drop-max-bytes <size>    the same for stored bytes per drop (default 32MB) [DEADDROP_DROP_MAX_BYTES]
  --blobs                    also store encrypted blobs (files) under        [DEADDROP_BLOBS=1]
                             <base>/blobs; they expire with the TTL and count
                             against the quota (off by default)
  --max-blob-bytes <size>    largest accepted blob (default 100MB)           [DEADDROP_MAX_BLOB_BYTES]
  --token <secret>           require "Authorization: Bearer <secret>";        [DEADDROP_TOKEN, comma-separated]
                             repeat for several tokens
  --max-client-connections <n>  open connections per client address (IPv6: [DEADDROP_MAX_CLIENT_CONNECTIONS]
                             per /64) before more are closed (default 64)
  --trusted-proxy <addr>     a reverse proxy whose X-Forwarded-For names the  [DEADDROP_TRUSTED_PROXY, comma-separated]
                             client; repeat for several
  --metrics-port <n>         serve /metrics on its own listener on this port  [DEADDROP_METRICS_PORT]
                             (0 = any free port; off by default)
  --metrics-host <addr>      interface of that listener (default 127.0.0.1)   [DEADDROP_METRICS_HOST]
  --metrics-token <secret>   serve /metrics beside the drops, only to         [DEADDROP_METRICS_TOKEN]
                             "Authorization: Bearer <secret>"
  --intro-per-day <n>        ticketless introductions a closed drop takes per [DEADDROP_INTRO_PER_DAY]
                             day, each with a stamp (default 20, at most 1000)
  --pow-bits <n>             leading zero bits of a proof-of-work stamp       [DEADDROP_POW_BITS]
                             (default 18; open drops under heavy pressure +2)
  --pow-above <percent>      open drops ask for stamps above this fill of the [DEADDROP_POW_ABOVE]
                             quota (default 50)
  --pow-load <percent>       ...or when ticketless POSTs of the last 10 min   [DEADDROP_POW_LOAD]
                             exceed this share of the quota (default 10)
  --ticketless-ceiling <percent>  no ticketless POST above this fill of the   [DEADDROP_TICKETLESS_CEILING]
                             quota; the rest is kept for tickets (default 90)
  --drop-ticketless-per-hour <n>  under pressure, ticketless POSTs one open   [DEADDROP_DROP_TICKETLESS_PER_HOUR]
                             drop takes per hour (default 60)
  --log-level <level>        debug, info, warn, error or silent (default info) [DEADDROP_LOG_LEVEL]
  --help                     show this text
`;

export type CliCommand = { kind: 'help' } | { kind: 'run'; options: Partial<DropServerOptions> };

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  db: { type: 'string' },
  'base-path': { type: 'string' },
  'max-message-bytes': { type: 'string' },
  ttl: { type: 'string' },
  quota: { type: 'string' },
  'drop-max-messages': { type: 'string' },
  'drop-max-bytes': { type: 'string' },
  blobs: { type: 'boolean' },
  'max-blob-bytes': { type: 'string' },
  token: { type: 'string', multiple: true },
  'max-client-connections': { type: 'string' },
  'trusted-proxy': { type: 'string', multiple: true },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  'metrics-token': { type: 'string' },
  'intro-per-day': { type: 'string' },
  'pow-bits': { type: 'string' },
  'pow-above': { type: 'string' },
  'pow-load': { type: 'string' },
  'ticketless-ceiling': { type: 'string' },
  'drop-ticketless-per-hour': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function envName(flag: string): string {
  return 'DEADDROP_' + flag.toUpperCase().replace(/-/g, '_');
}

function commaList(text: string | undefined): string[] | undefined {
  return text?.split(',').map((t) => t.trim()).filter((t) => t !== '');
}

function integer(flag: string, text: string): number {
  if (!/^\d{1,16}$/.test(text.trim())) throw new OptionError(`--${flag} must be a whole number, got "${text}"`);
  return Number(text);
}

function converted(flag: string, text: string, parse: (t: string) => number | null, example: string): number {
  const value = parse(text);
  if (value === null) throw new OptionError(`--${flag} must look like ${example}, got "${text}"`);
  return value;
}

/**
 * Reads flags and environment into options (validated later by `resolveOptions`).
 * @throws OptionError for an unknown flag or a value that is not of the expected shape
 */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliCommand {
  let values: ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new OptionError(`${(error as Error).message} (see --help)`);
  }
  if (values.help) return { kind: 'help' };
  const pick = (flag: Exclude<keyof typeof FLAGS, 'token' | 'trusted-proxy' | 'help' | 'blobs'>): string | undefined => {
    const fromEnv = env[envName(flag)];
    return values[flag] ?? (fromEnv === '' ? undefined : fromEnv);
  };
  const options: Partial<DropServerOptions> = {};
  const host = pick('host');
  if (host !== undefined) options.host = host;
  const port = pick('port');
  if (port !== undefined) options.port = integer('port', port);
  const db = pick('db');
  if (db !== undefined) options.db = db;
  const basePath = pick('base-path');
  if (basePath !== undefined) options.basePath = basePath;
  const maxBytes = pick('max-message-bytes');
  if (maxBytes !== undefined) options.maxMessageBytes = converted('max-message-bytes', maxBytes, parseByteSize, '2573 or 4KB');
  const ttl = pick('ttl');
  if (ttl !== undefined) options.ttlSeconds = converted('ttl', ttl, parseDurationSeconds, '7d, 12h, 30m or 3600');
  const quota = pick('quota');
  if (quota !== undefined) options.quotaBytes = converted('quota', quota, parseByteSize, '100MB, 2GiB or 1000000');
  const dropMaxMessages = pick('drop-max-messages');
  if (dropMaxMessages !== undefined) options.dropMaxMessages = integer('drop-max-messages', dropMaxMessages);
  const dropMaxBytes = pick('drop-max-bytes');
  if (dropMaxBytes !== undefined) options.dropMaxBytes = converted('drop-max-bytes', dropMaxBytes, parseByteSize, '32MB or 1000000');
  const blobsFromEnv = env.DEADDROP_BLOBS;
  if (blobsFromEnv !== undefined && blobsFromEnv !== '' && !['0', '1', 'true', 'false'].includes(blobsFromEnv)) {
    throw new OptionError(`DEADDROP_BLOBS must be 1 or 0, got "${blobsFromEnv}"`);
  }
  if (values.blobs || blobsFromEnv === '1' || blobsFromEnv === 'true') options.blobs = true;
  const maxBlobBytes = pick('max-blob-bytes');
  if (maxBlobBytes !== undefined) options.maxBlobBytes = converted('max-blob-bytes', maxBlobBytes, parseByteSize, '100MB or 1000000');
  const tokens = values.token ?? commaList(env.DEADDROP_TOKEN);
  if (tokens !== undefined) options.tokens = tokens;
  const perClient = pick('max-client-connections');
  if (perClient !== undefined) options.maxConnectionsPerClient = integer('max-client-connections', perClient);
  const proxies = values['trusted-proxy'] ?? commaList(env.DEADDROP_TRUSTED_PROXY);
  if (proxies !== undefined) options.trustedProxies = proxies;
  const metricsPort = pick('metrics-port');
  if (metricsPort !== undefined) options.metricsPort = integer('metrics-port', metricsPort);
  const metricsHost = pick('metrics-host');
  if (metricsHost !== undefined) options.metricsHost = metricsHost;
  const metricsToken = pick('metrics-token');
  if (metricsToken !== undefined) options.metricsToken = metricsToken;
  const spamIntegers = [
    ['intro-per-day', 'introPerDay'],
    ['pow-bits', 'powBits'],
    ['pow-above', 'powAbovePercent'],
    ['pow-load', 'powLoadPercent'],
    ['ticketless-ceiling', 'ticketlessCeilingPercent'],
    ['drop-ticketless-per-hour', 'dropTicketlessPerHour'],
  ] as const;
  for (const [flag, option] of spamIntegers) {
    const text = pick(flag);
    if (text !== undefined) options[option] = integer(flag, text.replace(/%$/, ''));
  }
  const logLevel = pick('log-level');
  if (logLevel !== undefined) options.logLevel = logLevel as LogLevel;
  return { kind: 'run', options };
}
