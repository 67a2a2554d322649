/**
 * The receiver's tag table (PROTOCOL-V1.md 1c "Receiver algorithm", step 2): a flat open-addressing hash
 * table from the first 8 bytes of a tag to (session, epoch, n, copy). One lookup per PDU finds our own
 * messages among strangers' without any header trial; a miss costs a hash probe, not crypto.
 *
 * 8-byte keys: a false hit needs a 64-bit collision and is caught by the session's full 16-byte check
 * (`openSession` recomputes the tag maps), so the table never decides anything on its own.
 *
 * Memory (issue 14: 500 sessions ≤ 8 MB): every slot is five typed-array cells, 16 bytes (key 8,
 * session 4, epoch mod 2^16 2, n · copy · consumed packed in 2), no object per entry; the load is kept
 * between 0.6 and 0.75 (tombstones of replaced sessions are swept at the same size). 500 sessions with
 * 512 tags each (W × 2 copies × current and next epoch) take 5.5-7 MB (`npm run bench:trial` measures
 * it). Removing a session scans the slots (a fraction of a millisecond), which spares an index per
 * session. The epoch in a hit is informational (mod 2^16): the session's own tag check decides.
 */
import { type SessionState, tagEntries } from './session.js';

export interface TagHit {
  sessionId: string;
  epoch: number;
  n: number;
  copy: number;
  consumed: boolean;
}

/** `owner` cell values besides session index + 1. */
const EMPTY = 0;
const DELETED = -1;
const MAX_LOAD = 0.75;
const SWEEP_LOAD = 0.6;

export class TagTable {
  private keyHi: Uint32Array;
  private keyLo: Uint32Array;
  /** EMPTY, DELETED, or the session's index + 1. */
  private owner: Int32Array;
  /** The epoch modulo 2^16 (informational: the session's own check decides). */
  private epochs: Uint16Array;
  /** n << 3 | copy << 1 | consumed. */
  private info: Uint16Array;
  /** Slots not EMPTY (live and DELETED). */
  private used = 0;
  private live = 0;
  private readonly sessionIds: (string | undefined)[] = [];
  private readonly sessionIndex = new Map<string, number>();
  private readonly freeIndexes: number[] = [];
  private readonly counts: number[] = [];

  constructor(entries = 1024) {
    const capacity = Math.max(16, Math.ceil(entries / MAX_LOAD) + 1);
    this.keyHi = new Uint32Array(capacity);
    this.keyLo = new Uint32Array(capacity);
    this.owner = new Int32Array(capacity);
    this.epochs = new Uint16Array(capacity);
    this.info = new Uint16Array(capacity);
  }

  /** A table holding the tags of every given session. */
  static fromStates(states: readonly SessionState[]): TagTable {
    const table = new TagTable(states.reduce((sum, state) => sum + 2 * 128 * state.copies, 0));
    for (const state of states) table.setSession(state);
    return table;
  }

  get size(): number {
    return this.live;
  }

  /** Bytes held by the slots (the typed arrays). */
  get bytes(): number {
    return this.owner.length * (4 + 4 + 4 + 2 + 2);
  }

  /** Replaces a session's entries with the tags it recognises now (call after each commit). */
  setSession(state: SessionState): void {
    this.removeSession(state.id);
    for (const entry of tagEntries(state)) this.add(entry.tag, { sessionId: state.id, epoch: entry.epoch, n: entry.n, copy: entry.copy, consumed: entry.consumed });
  }

  removeSession(sessionId: string): void {
    const index = this.sessionIndex.get(sessionId);
    if (index === undefined) return;
    const mark = index + 1;
    if ((this.counts[index] ?? 0) > 0) {
      for (let slot = 0; slot < this.owner.length; slot++) if (this.owner[slot] === mark) this.owner[slot] = DELETED;
      this.live -= this.counts[index]!;
    }
    this.sessionIndex.delete(sessionId);
    this.sessionIds[index] = undefined;
    this.counts[index] = 0;
    this.freeIndexes.push(index);
  }

  /** The entry of a tag (16 bytes; only the first 8 are keyed), or undefined. */
  lookup(tag: Uint8Array): TagHit | undefined {
    const hi = readU32(tag, 0);
    const lo = readU32(tag, 4);
    const capacity = this.owner.length;
    for (let slot = slotOf(hi, lo, capacity), probes = 0; probes < capacity; slot = slot + 1 === capacity ? 0 : slot + 1, probes++) {
      const owner = this.owner[slot]!;
      if (owner === EMPTY) return undefined;
      if (owner > 0 && this.keyHi[slot] === hi && this.keyLo[slot] === lo) {
        const info = this.info[slot]!;
        return { sessionId: this.sessionIds[owner - 1]!, epoch: this.epochs[slot]!, n: info >> 3, copy: (info >> 1) & 3, consumed: (info & 1) === 1 };
      }
    }
    return undefined;
  }

  /** Adds one entry (`setSession` adds a session's all; `removeSession` removes them). */
  add(tag: Uint8Array, hit: TagHit): void {
    if (this.used + 1 > this.owner.length * MAX_LOAD) {
      // Mostly tombstones: sweep them at the same size; otherwise grow to load 0.6.
      const capacity = this.live + 1 <= this.owner.length * SWEEP_LOAD ? this.owner.length : Math.ceil((this.live + 1) / SWEEP_LOAD);
      this.rebuild(capacity);
    }
    let index = this.sessionIndex.get(hit.sessionId);
    if (index === undefined) {
      index = this.freeIndexes.pop() ?? this.sessionIds.length;
      this.sessionIds[index] = hit.sessionId;
      this.sessionIndex.set(hit.sessionId, index);
      this.counts[index] = 0;
    }
    this.insert(readU32(tag, 0), readU32(tag, 4), index + 1, hit.epoch, (hit.n << 3) | ((hit.copy & 3) << 1) | (hit.consumed ? 1 : 0));
    this.counts[index]!++;
    this.live++;
  }

  private insert(hi: number, lo: number, owner: number, epoch: number, info: number): void {
    const capacity = this.owner.length;
    let slot = slotOf(hi, lo, capacity);
    while (this.owner[slot]! > 0) slot = slot + 1 === capacity ? 0 : slot + 1;
    if (this.owner[slot] === EMPTY) this.used++;
    this.keyHi[slot] = hi;
    this.keyLo[slot] = lo;
    this.owner[slot] = owner;
    this.epochs[slot] = epoch & 0xffff;
    this.info[slot] = info;
  }

  /** Re-inserts the live entries into `capacity` slots (drops tombstones). */
  private rebuild(capacity: number): void {
    const { keyHi, keyLo, owner, epochs, info } = this;
    this.keyHi = new Uint32Array(capacity);
    this.keyLo = new Uint32Array(capacity);
    this.owner = new Int32Array(capacity);
    this.epochs = new Uint16Array(capacity);
    this.info = new Uint16Array(capacity);
    this.used = 0;
    for (let slot = 0; slot < owner.length; slot++) {
      if (owner[slot]! > 0) this.insert(keyHi[slot]!, keyLo[slot]!, owner[slot]!, epochs[slot]!, info[slot]!);
    }
  }
}

const slotOf = (hi: number, lo: number, capacity: number): number => ((lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0) % capacity;

const readU32 = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
