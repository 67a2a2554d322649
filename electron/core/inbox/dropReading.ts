/**
 * Reads one drop for one poll: follows the server's pages (a server may cap one answer, e.g. at 1000
 * messages) until nothing newer is left or a bound of the poll is reached, trial-opening PDUs while
 * they stream in (batchOpener.ts), and says which cursor the poll may move on to: the last page whose
 * every PDU was taken.
 */
import { PDU_LENGTH } from '../../../shared/protocol/boxTypes.js';
import type { CryptoPool } from '../crypto/cryptoPool.js';
import type { FetchOptions, FetchResult } from '../net/dropClient.js';
import type { Claim, SessionReceiver } from '../sessions/receiver.js';
import { BatchCollector, type LocalIdentity, type OpenedBatch } from './batchOpener.js';

/** One request for one drop's messages after `since` (the drop client's `fetch`, or the budget's). */
export type DropFetch = (dropUrl: string, since: string | null, options: FetchOptions) => Promise<FetchResult>;

/**
 * Bounds one poll whatever the server sends: pages, bytes (64 MB, about 31,000 messages) and the
 * messages for us it holds. The next poll goes on from the cursor of the last page read whole.
 */
const MAX_PAGES_PER_POLL = 32;
const MAX_BYTES_PER_POLL = 64 << 20;
const MAX_KEPT_PER_POLL = 20_000;
/** PDUs trial-opened together while an answer streams in (about 2 MB). */
const OPEN_CHUNK = 1024;
/**
 * Chunks being opened while reading goes on: the workers decrypt one page while the next downloads.
 * Enough to keep every worker busy (the pool spreads a chunk over all of them); about 2 MB each.
 */
const CHUNKS_IN_FLIGHT = 3;

export interface DropReadInput {
  dropUrl: string;
  since: string | null;
  fetch: DropFetch;
  /** Pages asked for at most (absent: the poll's bound). */
  maxPages?: number;
  identities: readonly LocalIdentity[];
  /** Dedupe keys already delivered and acknowledged. */
  seen: ReadonlySet<string>;
  pool: CryptoPool;
  now: number;
  /** Version-1 sessions and the claim their changes go into (absent: v0 only). */
  v1?: { receiver: SessionReceiver; claim: Claim } | undefined;
}

export interface DropRead {
  opened: OpenedBatch;
  /** The cursor of the last page whose every PDU was taken (null: none). */
  latest: string | null;
  /** PDUs were left unread while another batch held their session. */
  deferredForSession: boolean;
}

/** Reads and opens one drop; the next page is asked for while this one is still being opened. */
export async function readDrop(input: DropReadInput): Promise<DropRead> {
  const { dropUrl, fetch } = input;
  const collector = new BatchCollector({
    v1: input.v1,
    dropUrl,
    identities: input.identities,
    seen: input.seen,
    pool: input.pool,
    now: input.now,
    chunkSize: OPEN_CHUNK,
    chunksInFlight: CHUNKS_IN_FLIGHT,
    maxKept: MAX_KEPT_PER_POLL,
  });
  /** Pages read whole: their cursors, and where their PDUs end in the collector's order. */
  const pages: { latest: string; end: number }[] = [];
  let bytesLeft = MAX_BYTES_PER_POLL;
  for (let page = 0, cursor = input.since; page < (input.maxPages ?? MAX_PAGES_PER_POLL) && bytesLeft > 0; page++) {
    let pdusInPage = 0;
    const result = await fetch(dropUrl, cursor, {
      maxBytes: bytesLeft,
      // Anything not PDU-sized is not a message for anyone (PROTOCOL.md section 3): not worth holding.
      onItem: (item) => {
        if (item.body.length !== PDU_LENGTH) return undefined;
        pdusInPage++;
        return collector.add(item.body);
      },
    });
    if (result.status !== 'messages') break;
    bytesLeft -= result.bytes;
    // A page read only in part: its cursor would skip what was not read, so the next poll reads it again.
    if (!result.complete || collector.firstDropped < Infinity) break;
    // Without a cursor the server cannot page; asking again would return the same messages.
    if (result.latest === null || result.latest === cursor) break;
    pages.push({ latest: result.latest, end: collector.added });
    cursor = result.latest;
    // A page without one message-sized part gives no reason to ask for more now (a hostile server
    // could page through junk forever); the next poll goes on from here.
    if (pdusInPage === 0) break;
  }
  const opened = await collector.finish();
  // Only pages whose every PDU was taken count: the batch may have filled up in a page still being opened.
  const latest = pages.filter((page) => page.end <= collector.firstDropped).at(-1)?.latest ?? null;
  return { opened, latest, deferredForSession: collector.deferredForSession };
}
