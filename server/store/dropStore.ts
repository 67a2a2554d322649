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
   */
  append(dropId: string, body: Buffer, receivedAtMs: number): Promise<StoredMessage>;
  /** The newest message matching the query, or null. */
  newest(query: DropQuery): Promise<MessageStamp | null>;
  /** The oldest `limit` messages matching the query, oldest first. */
  list(query: DropQuery, limit: number): Promise<StoredMessage[]>;
  /** One message by position, or null if it is gone. */
  messageAt(dropId: string, position: number): Promise<StoredMessage | null>;
  /** Deletes messages that arrived before `beforeMs`; returns how many. */
  deleteExpired(beforeMs: number): Promise<number>;
  /**
   * Brings the stored bytes down to at most `maxBytes`, fairly: while over, the drop holding the most
   * bytes loses its own oldest messages (down to the next-largest drop's size, or as far as the excess
   * needs), so a flood into one drop evicts nothing from the others. Returns how many were deleted.
   */
  enforceQuota(maxBytes: number): Promise<number>;
  /** Total size of stored message bodies, in bytes. */
  storedBytes(): Promise<number>;
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
