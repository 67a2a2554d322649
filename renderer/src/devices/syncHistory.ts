/**
 * Catching up from a sibling (issue 17, PROTOCOL-V1.md 5c `HISTORY_CHUNK`): a device that was away for
 * longer than a drop keeps messages (7 days by default) missed what expired meanwhile; its siblings
 * still have it. It asks them (`historyRequest`: since when, at most MAX_HISTORY_MESSAGES), each
 * answers with the newest rows it holds since then (`history` items through the normal outbox), and
 * the asking device stores what it lacks, showing progress (received of the answer's total).
 *
 * Bounds, whatever the request says: at most MAX_HISTORY_MESSAGES rows, texts only (events,
 * unsupported payloads and file notices stay where they are), one answer per request id per run.
 */
import Dexie from 'dexie';
import { MAX_HISTORY_MESSAGES, type SyncHistoryItem, type SyncHistoryRequestItem, historyItems } from '../../../shared/modules/sync.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { createLogger } from '../../../shared/log.js';

const log = createLogger('sibling-sync');

/** How long a drop keeps messages by default (the server's `--ttl`): away longer, a device asks. */
export const DROP_TTL_MS = 7 * 86_400_000;
/** Items per `devices/sync` call (the channel takes 256). */
const ITEMS_PER_CALL = 200;
/** Last-online marks are written at most this often. */
const ONLINE_EVERY_MS = 3_600_000;

/** The last request of an identity and how far its answers came. */
export interface HistoryProgress {
  request: string;
  since: number;
  askedAt: number;
  /** Rows the answer holds, once its first item came; null before. */
  total: number | null;
  /** Rows received so far (capped at `total`). */
  received: number;
}

const progressKey = (identityId: string) => `sync:history:${identityId}`;
const onlineKey = (identityId: string) => `sync:online:${identityId}`;

export async function historyProgress(db: DeaddropDatabase, identityId: string): Promise<HistoryProgress | null> {
  return ((await db.settings.get(progressKey(identityId)))?.value as HistoryProgress | undefined) ?? null;
}

/** Asks the identity's other devices for the messages since `since`. False when it has none. */
export async function askForHistory(db: DeaddropDatabase, bridge: EngineBridge, identityId: string, since: number, now = Date.now()): Promise<boolean> {
  const request = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
  const result = await bridge.invoke('devices/sync', { identityId, items: [{ kind: 'historyRequest', request, since: Math.max(0, Math.floor(since)), limit: MAX_HISTORY_MESSAGES }] });
  if (!result.ok || result.value.messages === 0) return false;
  const progress: HistoryProgress = { request, since, askedAt: now, total: null, received: 0 };
  await db.settings.put({ key: progressKey(identityId), value: progress });
  return true;
}

/** Counts one row of an answer to our request (its first fragment). Inside a transaction on `settings`. */
export async function noteHistoryRow(db: DeaddropDatabase, identityId: string, item: SyncHistoryItem): Promise<void> {
  if (item.index !== 0) return;
  const progress = await historyProgress(db, identityId);
  if (!progress || progress.request !== item.request) return;
  const total = Math.max(progress.total ?? 0, item.total);
  await db.settings.put({ key: progressKey(identityId), value: { ...progress, total, received: Math.min(total, progress.received + 1) } });
}

/** Requests answered, per database (one in the app; one per simulated device where several UIs share a process). */
const answeredBy = new WeakMap<DeaddropDatabase, Set<string>>();

/** Answers a sibling's request with the newest rows since its time (bounded). Never throws. */
export async function answerHistory(db: DeaddropDatabase, bridge: EngineBridge, identityId: string, asked: SyncHistoryRequestItem): Promise<number> {
  let answered = answeredBy.get(db);
  if (!answered) answeredBy.set(db, (answered = new Set()));
  if (answered.has(asked.request)) return 0;
  answered.add(asked.request);
  try {
    const limit = Math.min(asked.limit, MAX_HISTORY_MESSAGES);
    const rows = (
      await db.messages
        .where('[identityId+contactKey+sortAt]')
        .between([identityId, Dexie.minKey, Dexie.minKey], [identityId, Dexie.maxKey, Dexie.maxKey])
        .filter((row) => row.sortAt >= asked.since && row.kind === 'text' && row.text !== '')
        .toArray()
    )
      .sort((a, b) => b.sortAt - a.sortAt)
      .slice(0, limit);
    const items = rows.flatMap((row) =>
      historyItems({
        request: asked.request,
        total: rows.length,
        rowId: row.id,
        contact: row.contactKey,
        direction: row.direction,
        at: row.sortAt,
        delivered: row.status === 'delivered',
        text: row.text,
        ackIds: row.ackIds,
      }),
    );
    for (let at = 0; at < items.length; at += ITEMS_PER_CALL) {
      const result = await bridge.invoke('devices/sync', { identityId, items: items.slice(at, at + ITEMS_PER_CALL) });
      if (!result.ok) {
        log.warn('history answer not sent', { code: result.error.code });
        return 0;
      }
    }
    return rows.length;
  } catch (err) {
    log.warn('history answer failed', { reason: String(err) });
    return 0;
  }
}

/** Notes that this device read the identity's drops now (at most once an hour). */
export async function noteOnline(db: DeaddropDatabase, identityIds: readonly string[], now = Date.now()): Promise<void> {
  for (const identityId of identityIds) {
    const last = (await db.settings.get(onlineKey(identityId)))?.value as number | undefined;
    if (last === undefined || now - last >= ONLINE_EVERY_MS) await db.settings.put({ key: onlineKey(identityId), value: now });
  }
}

/**
 * After a start: an identity this device last read more than a drop's lifetime ago asks its siblings
 * for what it missed since (a day of overlap). An identity never read here yet asks nothing (a link
 * brought its recent history).
 */
export async function catchUpIfAway(db: DeaddropDatabase, bridge: EngineBridge, identityId: string, now = Date.now()): Promise<boolean> {
  const last = (await db.settings.get(onlineKey(identityId)))?.value as number | undefined;
  if (last === undefined || now - last <= DROP_TTL_MS) return false;
  const asked = await askForHistory(db, bridge, identityId, last - 86_400_000, now);
  await db.settings.put({ key: onlineKey(identityId), value: now });
  return asked;
}
