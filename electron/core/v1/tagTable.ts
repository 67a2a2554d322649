/**
 * The receiver's tag table (PROTOCOL-V1.md 1c "Receiver algorithm", step 2): a flat open-addressing hash
 * table from the first 8 bytes of a tag to (session, epoch, n, copy). One lookup per PDU finds our own
 * messages among strangers' without any header trial; a miss costs a hash probe, not crypto.
 *
 * 8-byte keys: a false hit needs a 64-bit collision and is caught by the session's full 16-byte check
 * (`openSession` recomputes the tag maps), so the table never decides anything on its own.
 */
import { type SessionState, tagEntries } from './session.js';

export interface TagHit {
  sessionId: string;
  epoch: number;
  n: number;
  copy: number;
  consumed: boolean;
}

const EMPTY = -1;
const DELETED = -2;

export class TagTable {
  private hi: Uint32Array;
  private lo: Uint32Array;
  /** Slot → index into `values`, or EMPTY / DELETED. */
  private slots: Int32Array;
  private values: (TagHit | undefined)[] = [];
  /** Value index → its slot (kept current through growth), so removal needs no scan. */
  private slotOf: number[] = [];
  private free: number[] = [];
  private bySession = new Map<string, number[]>();
  private used = 0;
  private live = 0;

  constructor(capacity = 1024) {
    const size = 1 << Math.ceil(Math.log2(Math.max(16, capacity * 2)));
    this.hi = new Uint32Array(size);
    this.lo = new Uint32Array(size);
    this.slots = new Int32Array(size).fill(EMPTY);
  }

  /** A table holding the tags of every given session. */
  static fromStates(states: readonly SessionState[]): TagTable {
    const table = new TagTable(states.length * 1024);
    for (const state of states) table.setSession(state);
    return table;
  }

  get size(): number {
    return this.live;
  }

  /** Replaces a session's entries with the tags it recognises now (call after each commit). */
  setSession(state: SessionState): void {
    this.removeSession(state.id);
    const indexes: number[] = [];
    for (const entry of tagEntries(state)) {
      indexes.push(this.add(entry.tag, { sessionId: state.id, epoch: entry.epoch, n: entry.n, copy: entry.copy, consumed: entry.consumed }));
    }
    this.bySession.set(state.id, indexes);
  }

  removeSession(sessionId: string): void {
    for (const index of this.bySession.get(sessionId) ?? []) this.removeIndex(index);
    this.bySession.delete(sessionId);
  }

  /** The entry of a tag (16 bytes; only the first 8 are keyed), or undefined. */
  lookup(tag: Uint8Array): TagHit | undefined {
    const hi = readU32(tag, 0);
    const lo = readU32(tag, 4);
    const mask = this.slots.length - 1;
    for (let slot = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask, probes = 0; probes <= mask; slot = (slot + 1) & mask, probes++) {
      const value = this.slots[slot]!;
      if (value === EMPTY) return undefined;
      if (value >= 0 && this.hi[slot] === hi && this.lo[slot] === lo) return this.values[value];
    }
    return undefined;
  }

  /** Adds one entry (prefer `setSession`, which also lets `removeSession` find it); returns its index. */
  add(tag: Uint8Array, hit: TagHit): number {
    if ((this.used + 1) * 2 > this.slots.length) this.grow();
    const index = this.free.pop() ?? this.values.length;
    this.values[index] = hit;
    this.insert(readU32(tag, 0), readU32(tag, 4), index);
    this.live++;
    return index;
  }

  private insert(hi: number, lo: number, index: number): void {
    const mask = this.slots.length - 1;
    let slot = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    while (this.slots[slot]! >= 0) slot = (slot + 1) & mask;
    if (this.slots[slot] === EMPTY) this.used++;
    this.slots[slot] = index;
    this.slotOf[index] = slot;
    this.hi[slot] = hi;
    this.lo[slot] = lo;
  }

  private removeIndex(index: number): void {
    const slot = this.slotOf[index];
    if (slot === undefined || this.slots[slot] !== index) return;
    this.slots[slot] = DELETED;
    this.values[index] = undefined;
    this.free.push(index);
    this.live--;
  }

  /** Doubles (or just cleans tombstones) and re-inserts the live entries. */
  private grow(): void {
    const oldSlots = this.slots;
    const oldHi = this.hi;
    const oldLo = this.lo;
    const size = this.live * 4 > oldSlots.length ? oldSlots.length * 2 : oldSlots.length;
    this.slots = new Int32Array(size).fill(EMPTY);
    this.hi = new Uint32Array(size);
    this.lo = new Uint32Array(size);
    this.used = 0;
    for (let slot = 0; slot < oldSlots.length; slot++) {
      const value = oldSlots[slot]!;
      if (value >= 0) this.insert(oldHi[slot]!, oldLo[slot]!, value);
    }
  }
}

const readU32 = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
