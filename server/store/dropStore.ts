/**
 * The storage contract of the drop server. Every back end (SQLite, PostgreSQL) keeps one row per
 * message with a position that only grows within its drop, so a position is a cursor: "everything
 * in this drop after p". (SQLite shares one counter between all drops; PostgreSQL may count per drop.)
 */

/**
 * Per-drop caps. A POST into a drop at either cap is refused (`DropFullError`); the drop's own
 * oldest messages are never deleted to make room, so a flood cannot push out undelivered mail.
 */
export interface DropCaps {
  maxMessages: number;
  maxBytes: number;
}

/** What every back end needs besides its location. */
export interface StoreSettings {
  dropCaps: DropCaps;
}

/** Thrown by `append` when the drop is at one of its caps; nothing was stored. */
export class DropFullError extends Error {
  override readonly name = 'DropFullError';
  constructor(readonly dropId: string) {
    super('the drop is full');
  }
}

/** Thrown by `append` when the admission's ticket or stamp nonce is already in the drop's spent set; nothing was stored. */
export class NonceSpentError extends Error {
  override readonly name = 'NonceSpentError';
  constructor() {
    super('the ticket or stamp was used already');
  }
}

/** Thrown by `append` when the drop took its introductions for the day; nothing was stored. */
export class IntroQuotaError extends Error {
  override readonly name = 'IntroQuotaError';
  constructor() {
    super('the drop took its introductions for today');
  }
}

/**
 * Thrown by `append` when the drop's policy is no longer the one the admission was decided under
 * (another instance claimed the drop or updated its policy): decide again with the new policy.
 */
export class PolicyChangedError extends Error {
  override readonly name = 'PolicyChangedError';
  constructor() {
    super('the drop policy changed');
  }
}

/**
 * How a POST was admitted (server/spam/admission.ts), checked and recorded in the same transaction
 * as the message, so that instances sharing a database agree: a ticket spent on one is spent on all.
 */
export interface Admission {
  /** The policy `seq` the decision was made under (0: the drop is unclaimed). */
  policySeq: number;
  /** Came with a valid ticket: such messages are the last to be evicted under global pressure. */
  ticketed: boolean;
  /** A ticket or stamp nonce to add to the drop's spent set (refused with NonceSpentError if there). */
  spend: { nonce: Buffer; expiresAtMs: number } | null;
  /** Counts against the drop's daily introduction quota (refused with IntroQuotaError when full). */
  intro: { day: number; limit: number } | null;
}

/**
 * How long a message stands when the store is over its quota: the lowest standing goes first.
 * Stamped messages (introductions, and ticketless POSTs while the server was under pressure) go
 * first, then plain ones (taken without pressure, as original clients post), then ticketed mail.
 */
export const STANDING = { stamped: 0, plain: 1, ticketed: 2 } as const;

export function standingOf(admission: Admission): number {
  return admission.ticketed ? STANDING.ticketed : admission.spend ? STANDING.stamped : STANDING.plain;
}

/** An unclaimed drop, a plain POST: what original Qabel clients get. */
export const OPEN_ADMISSION: Admission = { policySeq: 0, ticketed: false, spend: null, intro: null };

/** A drop's policy as stored: its sequence number and the policy JSON (shared/spam/policy.ts, without `strikes`). */
export interface StoredPolicy {
  seq: number;
  json: string;
}

/** A nonce to enter into a drop's spent set, kept until `expiresAtMs`. */
export interface SpentNonce {
  nonce: Buffer;
  expiresAtMs: number;
}

/** A stored message as the HTTP layer serves it. */
export interface StoredMessage {
  /** Monotonically increasing within the drop and never reused for it (a back end may share it between drops). */
  position: number;
  /** Arrival time in milliseconds since the epoch (server clock). */
  receivedAtMs: number;
  body: Buffer;
}

/** Position and time of a message, without its body (what HEAD needs). */
export type MessageStamp = Omit<StoredMessage, 'body'>;

/**
 * Which messages a reader wants: those after a cursor position, or those that arrived at or after
 * a time (the `If-Modified-Since` and the original epoch-token forms), or all of them.
 */
export type SinceFilter =
  | { kind: 'all' }
  | { kind: 'afterPosition'; position: number }
  | { kind: 'receivedFrom'; minReceivedAtMs: number };

/** A read: one drop, a since-filter, and the expiry horizon (older messages count as gone). */
export interface DropQuery {
  dropId: string;
  since: SinceFilter;
  /** Messages that arrived before this time are expired even if the sweeper has not run yet. */
  notBeforeMs: number;
}

/** Told after a message is committed; `message` is present when the store has it at hand. */
export interface AppendNotice {
  dropId: string;
  position: number;
  message?: StoredMessage;
}

export interface DropStore {
  /**
   * Resolves only after the message is durably committed.
   * @throws DropFullError when the drop is at its message or byte cap (nothing stored)
   * @throws NonceSpentError, IntroQuotaError, PolicyChangedError as `admission` asks (nothing stored)
   */
  append(dropId: string, body: Buffer, receivedAtMs: number, admission?: Admission): Promise<StoredMessage>;
  /** The drop's policy as the database holds it now, or null for an unclaimed drop. */
  policy(dropId: string): Promise<StoredPolicy | null>;
  /**
   * Stores `policy` if the drop's current policy still has `previousSeq` (0: unclaimed), and enters
   * `strikes` into its spent set, in one transaction. False (nothing changed) when another policy
   * got there first.
   */
  savePolicy(dropId: string, policy: StoredPolicy, previousSeq: number, strikes: SpentNonce[]): Promise<boolean>;
  /** Forgets spent nonces that expired before `nowMs` and introduction counts of earlier days; returns how many rows. */
  forgetSpent(nowMs: number): Promise<number>;
  /** The newest message matching the query, or null. */
  newest(query: DropQuery): Promise<MessageStamp | null>;
  /** The oldest `limit` messages matching the query, oldest first. */
  list(query: DropQuery, limit: number): Promise<StoredMessage[]>;
  /** One message by position, or null if it is gone. */
  messageAt(dropId: string, position: number): Promise<StoredMessage | null>;
  /** Deletes messages that arrived before `beforeMs`; returns how many. */
  deleteExpired(beforeMs: number): Promise<number>;
  /**
   * Brings the stored bytes down to at most `maxBytes`, fairly and by standing (`STANDING`): first
   * among stamped messages only, then among stamped and plain ones, and only then among all, "the
   * drop holding the most such bytes loses its own oldest such message", repeated while over, so a
   * flood into one drop evicts nothing from the others and ticketed mail goes last. Returns how many
   * were deleted.
   */
  enforceQuota(maxBytes: number): Promise<number>;
  /** Total size of stored message bodies, in bytes. */
  storedBytes(): Promise<number>;
  /** The stored bytes as this instance last knew them, without asking the database (admission decisions). */
  knownBytes(): number;
  /**
   * Whether the store can take writes (for `/health`, which load balancers poll): false once a write
   * has failed (full disk, lost database), until a later write or a probe write succeeds.
   */
  isHealthy(): Promise<boolean>;
  /** Registers a listener for committed messages (from any server instance sharing the store). */
  onAppended(listener: (notice: AppendNotice) => void): () => void;
  /** Flushes pending commits and closes the database. */
  close(): Promise<void>;
}
