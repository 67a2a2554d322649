/**
 * The listening side of the PostgreSQL store: one connection that LISTENs for other instances'
 * commits, reconnects after failures, and says when it is live (every later commit will be heard)
 * and when it is lost (commits may go unheard), which is what the store's memory depends on.
 */
import pg from 'pg';
import { createServerLogger } from '../serverLog.js';
import { APPENDED_CHANNEL, APPENDED_FORMAT, DELETED_CHANNEL } from './postgresSql.js';

const log = createServerLogger('server/postgres');
const RETRY_MS = 1000;
/**
 * A connection that died without a word (a network cut) is found by a query that gets no answer:
 * until then the store answers polls from memory that no longer hears of commits.
 */
const HEARTBEAT_MS = 5000;
const HEARTBEAT_TIMEOUT_MS = 5000;
/** Names the connection in `pg_stat_activity` (operators, and the tests that cut it). */
export const LISTEN_APPLICATION_NAME = 'deaddrop-listen';

export interface AppendedLine {
  dropId: string;
  position: number;
  receivedAtMs: number;
  size: number;
}

export interface CommitListener {
  /** Tag of this instance's notifications, which are not passed on (it knows its own commits). */
  instance: string;
  /** LISTEN is in place: every commit from now on will be heard. */
  live(): void;
  /** The connection is gone: commits may go unheard until `live` is called again. */
  lost(): void;
  /** Another instance committed these messages. */
  appended(lines: AppendedLine[]): void;
  /** Some instance deleted messages. */
  deleted(): void;
}

/** Parses an appended payload's lines (after the instance tag); malformed lines are skipped. */
function parseAppendedLines(payload: string): AppendedLine[] {
  return payload.split(APPENDED_FORMAT.lineSeparator).slice(1).flatMap((text) => {
    const [dropId, ...numbers] = text.split(APPENDED_FORMAT.fieldSeparator);
    const [position, receivedAtMs, size] = numbers.map(Number);
    const valid = dropId && numbers.length === 3 && [position, receivedAtMs, size].every((n) => Number.isSafeInteger(n));
    return valid ? [{ dropId, position: position!, receivedAtMs: receivedAtMs!, size: size! }] : [];
  });
}

/** Keeps one LISTEN connection open, reconnecting after failures until closed. */
export function listenForCommits(url: string, listener: CommitListener): { close(): Promise<void> } {
  const ownTag = listener.instance + APPENDED_FORMAT.lineSeparator;
  let closed = false;
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  let heartbeat: NodeJS.Timeout | null = null;

  const connect = (): void => {
    const next = new pg.Client({
      connectionString: url,
      application_name: LISTEN_APPLICATION_NAME,
      keepAlive: true,
      query_timeout: HEARTBEAT_TIMEOUT_MS,
    });
    client = next;
    const restart = (why: string): void => {
      if (closed || client !== next) return;
      log.warn('commit listener lost its database connection', { error: why });
      client = null;
      if (heartbeat) clearInterval(heartbeat);
      listener.lost();
      next.end().catch(() => undefined);
      retry = setTimeout(connect, RETRY_MS);
    };
    next.on('notification', (msg) => {
      if (msg.channel === DELETED_CHANNEL) listener.deleted();
      else if (msg.channel === APPENDED_CHANNEL && msg.payload && !msg.payload.startsWith(ownTag)) {
        listener.appended(parseAppendedLines(msg.payload));
      }
    });
    next.on('error', (error) => restart(error.message));
    next.on('end', () => restart('connection ended'));
    next
      .connect()
      .then(() => next.query(`LISTEN ${APPENDED_CHANNEL}; LISTEN ${DELETED_CHANNEL}`))
      .then(() => {
        if (closed || client !== next) return;
        heartbeat = setInterval(() => next.query('SELECT 1').catch((error: Error) => restart(error.message)), HEARTBEAT_MS);
        heartbeat.unref();
        listener.live();
      })
      .catch((error: Error) => restart(error.message));
  };
  connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      if (heartbeat) clearInterval(heartbeat);
      await client?.end().catch(() => undefined);
    },
  };
}
