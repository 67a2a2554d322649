/**
 * Messages between the client's stamp searcher and its worker thread (`electron/workers/stampWorker.ts`),
 * in a `{seq, request}` envelope. A search reports progress every `progressEvery` hashes and stops on a
 * `cancel` for its seq.
 */

export interface StampSearchRequest {
  kind: 'search';
  /** `stampPrefix(...)`: everything hashed before the counter. */
  prefix: Uint8Array;
  bits: number;
  /** First counter value to try (workers of one search start apart). */
  startCounter: number;
  /** Report progress after this many hashes. */
  progressEvery: number;
}

export interface StampCancelRequest {
  kind: 'cancel';
}

export type StampWorkerRequest = StampSearchRequest | StampCancelRequest;

export type StampWorkerReply =
  | { seq: number; kind: 'progress'; hashes: number }
  | { seq: number; kind: 'found'; counter: Uint8Array; hashes: number }
  | { seq: number; kind: 'cancelled'; hashes: number }
  | { seq: number; kind: 'error'; message: string };

export interface StampWorkerEnvelope {
  seq: number;
  request: StampWorkerRequest;
}
