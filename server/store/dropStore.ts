/**
 * The storage contract of the drop server. Every back end (SQLite, PostgreSQL) keeps one row per
 * message with a position that only grows, so a position is a cursor: "everything after p".
 */

/** A stored message as the HTTP layer serves it. */
export interface StoredMessage {
  /** Monotonically increasing, never reused, shared by all drops of one store. */
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
  /** Resolves only after the message is durably committed. */
  append(dropId: string, body: Buffer, receivedAtMs: number): Promise<StoredMessage>;
  /** The newest message matching the query, or null. */
  newest(query: DropQuery): Promise<MessageStamp | null>;
  /** The oldest `limit` messages matching the query, oldest first. */
  list(query: DropQuery, limit: number): Promise<StoredMessage[]>;
  /** One message by position, or null if it is gone. */
  messageAt(dropId: string, position: number): Promise<StoredMessage | null>;
  /** Deletes messages that arrived before `beforeMs`; returns how many. */
  deleteExpired(beforeMs: number): Promise<number>;
  /** Deletes the globally oldest messages until the stored bytes are at most `maxBytes`; returns how many. */
  enforceQuota(maxBytes: number): Promise<number>;
  /** Total size of stored message bodies, in bytes. */
  storedBytes(): Promise<number>;
  /** Whether the store can take writes (for `/health`, which load balancers poll). */
  isHealthy(): Promise<boolean>;
  /** Registers a listener for committed messages (from any server instance sharing the store). */
  onAppended(listener: (notice: AppendNotice) => void): () => void;
  /** Flushes pending commits and closes the database. */
  close(): Promise<void>;
}
