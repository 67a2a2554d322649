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
 * it), plus 4 bytes per entry for each session's list of its slots: replacing a session after a commit
 * (once per committed batch and session) touches only its own slots, where a scan of all slots cost
 * ~1 ms (25 X25519s) at 500 sessions. The epoch in a hit is informational (mod 2^16): the session's own
 * tag check decides.
 */
import { type SessionState, forEachTag } from './session.js';

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
  /** Per session index: the slots of its entries (the first `counts[index]` cells), exactly sized. */
  private readonly slotLists: (Int32Array | undefined)[] = [];
  /** Where `setSession` collects a session's slots before copying them into its list. */
  private scratch = new Int32Array(1024);

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

  /** Bytes held by the slots and the sessions' slot lists (the typed arrays). */
  get bytes(): number {
    return this.owner.length * (4 + 4 + 4 + 2 + 2) + 4 * this.live;
  }

  /** Replaces a session's entries with the tags it recognises now (call after each commit). */
  setSession(state: SessionState): void {
    this.removeSession(state.id);
    const index = this.freeIndexes.pop() ?? this.sessionIds.length;
    this.sessionIds[index] = state.id;
    this.sessionIndex.set(state.id, index);
    this.counts[index] = 0;
    this.slotLists[index] = undefined;
    forEachTag(state, (tags, at, epoch, n, copy, consumed) => {
      const offset = at * 16;
      this.addSlot(index, readU32(tags, offset), readU32(tags, offset + 4), epoch, (n << 3) | ((copy & 3) << 1) | (consumed ? 1 : 0));
    });
    this.slotLists[index] = this.scratch.slice(0, this.counts[index]);
  }

  removeSession(sessionId: string): void {
    const index = this.sessionIndex.get(sessionId);
    if (index === undefined) return;
    const slots = this.slotLists[index];
    const count = this.counts[index] ?? 0;
    for (let i = 0; i < count; i++) this.owner[slots![i]!] = DELETED;
    this.live -= count;
    this.sessionIndex.delete(sessionId);
    this.sessionIds[index] = undefined;
    this.counts[index] = 0;
    this.slotLists[index] = undefined;
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

  /** Adds one entry of the session being set (its slot goes to `scratch`, copied to the list at the end). */
  private addSlot(index: number, hi: number, lo: number, epoch: number, info: number): void {
    if (this.used + 1 > this.owner.length * MAX_LOAD) {
      // Mostly tombstones: sweep them at the same size; otherwise grow to load 0.6.
      const capacity = this.live + 1 <= this.owner.length * SWEEP_LOAD ? this.owner.length : Math.ceil((this.live + 1) / SWEEP_LOAD);
      this.rebuild(capacity, index);
    }
    const count = this.counts[index]!;
    if (count === this.scratch.length) {
      const grown = new Int32Array(2 * count);
      grown.set(this.scratch);
      this.scratch = grown;
    }
    this.scratch[count] = this.insert(hi, lo, index + 1, epoch, info);
    this.counts[index] = count + 1;
    this.live++;
  }

  /** Puts an entry in the first free slot of its probe sequence; returns that slot. */
  private insert(hi: number, lo: number, owner: number, epoch: number, info: number): number {
    const capacity = this.owner.length;
    let slot = slotOf(hi, lo, capacity);
    while (this.owner[slot]! > 0) slot = slot + 1 === capacity ? 0 : slot + 1;
    if (this.owner[slot] === EMPTY) this.used++;
    this.keyHi[slot] = hi;
    this.keyLo[slot] = lo;
    this.owner[slot] = owner;
    this.epochs[slot] = epoch & 0xffff;
    this.info[slot] = info;
    return slot;
  }

  /**
   * Re-inserts the live entries into `capacity` slots (drops tombstones) and rewrites every session's
   * slot list; `filling` is the session whose slots are still being collected in `scratch`.
   */
  private rebuild(capacity: number, filling: number): void {
    const { keyHi, keyLo, owner, epochs, info } = this;
    this.keyHi = new Uint32Array(capacity);
    this.keyLo = new Uint32Array(capacity);
    this.owner = new Int32Array(capacity);
    this.epochs = new Uint16Array(capacity);
    this.info = new Uint16Array(capacity);
    this.used = 0;
    const written = this.counts.map(() => 0);
    for (let slot = 0; slot < owner.length; slot++) {
      const mark = owner[slot]!;
      if (mark <= 0) continue;
      const index = mark - 1;
      const list = index === filling ? this.scratch : this.slotLists[index]!;
      list[written[index]!++] = this.insert(keyHi[slot]!, keyLo[slot]!, mark, epochs[slot]!, info[slot]!);
    }
  }
}

const slotOf = (hi: number, lo: number, capacity: number): number => ((lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0) % capacity;

const readU32 = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
