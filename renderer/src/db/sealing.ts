/**
 * Records sealed at rest. Message texts, names, previews, file names and every other field that says
 * what people wrote or who they are live in IndexedDB only as ciphertext: a DBCore middleware seals
 * them on every write and opens them on every read, with a key the engine hands over after unlock
 * (`app/databaseKey`) and that exists only in memory. Only the fields the indexes need stay in the
 * clear (ids, keys, times, statuses).
 *
 * XChaCha20-Poly1305 from @noble/ciphers: synchronous, so sealing runs inside IndexedDB
 * transactions (awaiting WebCrypto there would let the transaction commit early), and plain
 * JavaScript, so the page's CSP needs no WebAssembly.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import type { DBCore, DBCoreCursor, DBCoreMutateRequest, DBCoreTable, Middleware } from 'dexie';

/** Per sealed table, the fields kept in the clear: its primary key and index fields. */
export const CLEAR_FIELDS: Readonly<Record<string, readonly string[]>> = {
  messages: ['id', 'identityId', 'contactKey', 'sortAt', 'direction', 'status', 'ackIds'],
  contacts: ['identityId', 'publicKey', 'status'],
  conversations: ['identityId', 'contactKey', 'lastMessageAt'],
  textParts: ['messageId', 'index', 'identityId', 'contactKey'],
  posts: ['id', 'identityId', 'authorKey', 'sortAt', 'unread'],
  postCopies: ['localId', 'postRowId', 'identityId', 'status', 'ackIds'],
  shares: ['id', 'identityId'],
};

/** The sealed fields of a record, under this property. */
const SEALED = 'sealed';

/** Thrown when a sealed table is used before the key is set (the profile is locked). */
export class DatabaseLockedError extends Error {
  override readonly name = 'DatabaseLockedError';
  constructor() {
    super('The message database is locked: unlock Deaddrop first.');
  }
}

const KEY_LENGTH = 32;
const NONCE_LENGTH = 24;
let key: Uint8Array | null = null;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Installs the key from `app/databaseKey` (base64 of 32 bytes). */
export async function setDatabaseKey(base64: string): Promise<void> {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  if (bytes.length !== KEY_LENGTH) throw new Error('The database key has the wrong length.');
  key = bytes;
}

/** Forgets the key (locking): sealed tables can no longer be read or written. */
export function clearDatabaseKey(): void {
  key?.fill(0);
  key = null;
}

export function hasDatabaseKey(): boolean {
  return key !== null;
}

function requireKey(): Uint8Array {
  if (!key) throw new DatabaseLockedError();
  return key;
}

type RecordValue = Record<string, unknown>;

/** `value` as stored: its clear fields, and the rest in one sealed blob bound to the table's name. */
export function sealRecord(table: string, value: RecordValue, clear: readonly string[]): RecordValue {
  const stored: RecordValue = {};
  const secret: RecordValue = {};
  for (const [field, fieldValue] of Object.entries(value)) {
    if (clear.includes(field)) stored[field] = fieldValue;
    else if (field !== SEALED) secret[field] = fieldValue;
  }
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
  const box = xchacha20poly1305(requireKey(), nonce, encoder.encode(table)).encrypt(encoder.encode(JSON.stringify(secret)));
  const sealed = new Uint8Array(nonce.length + box.length);
  sealed.set(nonce);
  sealed.set(box, nonce.length);
  stored[SEALED] = sealed;
  return stored;
}

/** Records read that were never sealed (written before sealing existed), so a pass can seal them. */
const legacy = new WeakSet<object>();

/** Whether a record read from a sealed table was stored unsealed. */
export function isLegacyRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && legacy.has(value);
}

/** The record as the app wrote it. A record without a sealed blob (written before sealing) passes as it is. */
export function openRecord(table: string, stored: unknown): unknown {
  if (stored === null || typeof stored !== 'object') return stored;
  if (!(SEALED in stored)) {
    legacy.add(stored);
    return stored;
  }
  const { [SEALED]: sealed, ...clear } = stored as RecordValue;
  if (!(sealed instanceof Uint8Array)) return stored;
  let plain: Uint8Array;
  try {
    const cipher = xchacha20poly1305(requireKey(), sealed.subarray(0, NONCE_LENGTH), encoder.encode(table));
    plain = cipher.decrypt(sealed.subarray(NONCE_LENGTH));
  } catch (error) {
    if (error instanceof DatabaseLockedError) throw error;
    throw new Error(`A stored ${table} record cannot be opened with this profile's key.`);
  }
  return { ...(JSON.parse(decoder.decode(plain)) as RecordValue), ...clear };
}

/** Told of writes to a sealed table, with the records in the clear (the search index keeps itself current so). */
export interface WriteObserver {
  written(values: readonly unknown[]): void;
  deleted(keys: readonly unknown[]): void;
  rangeDeleted(): void;
}

const observers = new Map<string, WriteObserver[]>();

export function observeWrites(table: string, observer: WriteObserver): void {
  observers.set(table, [...(observers.get(table) ?? []), observer]);
}

function tell(table: string, req: DBCoreMutateRequest): void {
  for (const observer of observers.get(table) ?? []) {
    if (req.type === 'add' || req.type === 'put') observer.written(req.values);
    else if (req.type === 'delete') observer.deleted(req.keys);
    else observer.rangeDeleted();
  }
}

/**
 * The cursor with its value opened. A wrapper object rather than a prototype link: the underlying
 * cursor's accessors are native IDBCursor getters, which refuse any other `this`.
 */
function sealedCursor(table: string, cursor: DBCoreCursor): DBCoreCursor {
  let raw: unknown;
  let opened: unknown;
  const wrapped: DBCoreCursor = {
    get trans() {
      return cursor.trans;
    },
    get key() {
      return cursor.key;
    },
    get primaryKey() {
      return cursor.primaryKey;
    },
    get done() {
      return cursor.done;
    },
    get value() {
      if (cursor.value !== raw) {
        raw = cursor.value;
        opened = openRecord(table, raw);
      }
      return opened;
    },
    continue: (key?: unknown) => cursor.continue(key),
    continuePrimaryKey: (key: unknown, primaryKey: unknown) => cursor.continuePrimaryKey(key, primaryKey),
    advance: (count: number) => cursor.advance(count),
    start: (onNext: () => void) => cursor.start(onNext),
    stop: (value?: unknown) => cursor.stop(value),
    next: () => cursor.next().then((next) => (next === cursor ? wrapped : next)),
    fail: (error: Error) => cursor.fail(error),
  };
  return wrapped;
}

function sealedTable(table: DBCoreTable, clear: readonly string[]): DBCoreTable {
  const name = table.name;
  const open = (value: unknown) => openRecord(name, value);
  return {
    ...table,
    mutate(req) {
      // Schema upgrades run when the database opens, which may be before unlock: what they write stays
      // as it was and is sealed by the first pass after unlock (`messageSearch.ts`).
      const upgrading = (req.trans as unknown as IDBTransaction).mode === 'versionchange';
      const seal = (req.type === 'add' || req.type === 'put') && !upgrading;
      const sealedReq = seal ? { ...req, values: req.values.map((v: RecordValue) => sealRecord(name, v, clear)) } : req;
      // Dexie's own promise (not an async function): it keeps the transaction's zone.
      return table.mutate(sealedReq).then((result) => {
        tell(name, req);
        return result;
      });
    },
    get: (req) => table.get(req).then(open),
    getMany: (req) => table.getMany(req).then((values) => values.map(open)),
    query: (req) => table.query(req).then((res) => (req.values ? { ...res, result: res.result.map(open) } : res)),
    openCursor: (req) => table.openCursor(req).then((cursor) => cursor && (req.values === false ? cursor : sealedCursor(name, cursor))),
  };
}

/** The middleware; `DeaddropDatabase` installs it on itself. */
export const sealingMiddleware: Middleware<DBCore> = {
  stack: 'dbcore',
  name: 'sealing',
  create(down) {
    return {
      ...down,
      table(name) {
        const table = down.table(name);
        const clear = CLEAR_FIELDS[name];
        return clear ? sealedTable(table, clear) : table;
      },
    };
  },
};
