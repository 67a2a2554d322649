/**
 * k-of-n posting over an outbox record (PROTOCOL-V1.md 2c): which sealed bytes go to which of the
 * recipient's servers, how many copies are out, and what the UI is told.
 *
 * A record's `targets` are the recipient's drops one per distinct server. Version 0: every target has
 * its own box of each piece (the same drop message, the same non-"0" acknowledge_id, a fresh
 * ephemeral key each), so no two servers ever hold equal bytes of one message, and a copy that fails
 * over to the next server takes that server's box. A message that asks for no receipt has one box
 * only, posted to one server: its acknowledge_id "0" makes the receiver dedupe by PDU hash, which
 * only identical bytes pass (PROTOCOL.md 4). Version 1: `sealed[i]` is copy index i (its own tag and
 * ephemeral key). A copy index is tied to the server that holds it or may hold it: a POST that surely
 * stored nothing (refused, no connection) lets the next server take the index; one whose answer was
 * lost (timeout, reset, 500) keeps the index at that server, and the next server takes another index
 * (a session seals 2 by default), so no two servers ever hold equal bytes or tags of one message.
 */
import type { EventMap, OutboxCopies, RepostState } from '../../../shared/ipc/contract.js';
import type { StoredOutboxRecord } from '../state/stateSchema.js';

/** Servers a message is sealed for: k copies (at most 4) and a spare or two to fail over to. */
export const MAX_TARGETS = 6;

type Piece = StoredOutboxRecord['pieces'][number];

/** Copies of every piece accepted by servers, of `wanted`. */
export function copiesOf(record: StoredOutboxRecord): OutboxCopies {
  const posted = record.pieces.length === 0 ? 0 : Math.min(...record.pieces.map((piece) => piece.placed.length));
  return { posted: Math.min(posted, record.wanted), wanted: record.wanted };
}

/** Every piece has at least one copy on a server. */
export function isPosted(record: StoredOutboxRecord): boolean {
  return record.pieces.length > 0 && record.pieces.every((piece) => piece.placed.length > 0);
}

/** Some piece lacks copies that could still go out (a resend goes on with them). */
export function needsPosting(record: StoredOutboxRecord): boolean {
  if (record.status === 'cancelled' || record.repostEnded !== null) return false;
  return record.pieces.some((piece, index) => !pieceDone(record, index) && piece.placed.length < record.wanted && freeTargets(record, piece).length > 0 && hasBytes(piece));
}

/**
 * Per-device sessions (outbox/sender.ts): every part sealed once per device of the contact, piece
 * `d * parts + part` for device d, each in its own session.
 */
export function isPerDevice(record: StoredOutboxRecord): boolean {
  return record.protocol === 1 && record.parts > 0 && record.pieces.length > record.parts && record.refs.length === record.pieces.length;
}

/**
 * Piece `index` needs no more posts. A message is delivered (for the user) once any device of the
 * contact acknowledged each part, but with per-device sessions a piece is done only when its own
 * device's session acknowledged it: a receipt names a part, not a device, and a copy lost on the way
 * to one device is repaired by re-posting that device's piece, not by another device having read its own.
 */
export function pieceDone(record: StoredOutboxRecord, index: number): boolean {
  if (!isPerDevice(record)) return record.deliveredAt !== null || pieceAcked(record, index);
  return record.acked.includes(record.refs[index]!);
}

/** Something is left to post or re-post: a piece not done whose bytes are kept, and the message not cancelled or ended. */
export function awaitsPosts(record: StoredOutboxRecord): boolean {
  if (record.status === 'cancelled' || record.repostEnded !== null) return false;
  return record.pieces.some((piece, index) => !pieceDone(record, index) && hasBytes(piece));
}

/** Forgets the sealed bytes of the pieces that are done. */
export function dropDone(record: StoredOutboxRecord): StoredOutboxRecord {
  return { ...record, pieces: record.pieces.map((piece, index) => (pieceDone(record, index) ? { ...piece, sealed: piece.sealed.map(() => '') } : piece)) };
}

/** Targets (indices) that hold no copy of this piece yet. */
export function freeTargets(record: StoredOutboxRecord, piece: Piece): number[] {
  return record.targets.map((_, index) => index).filter((index) => !piece.placed.some((placed) => placed.target === index));
}

/**
 * Which sealed item a copy of `piece` takes to `target`, or null when none may go there. Version 0:
 * that target's own box (or the one box of a message without receipt, which may go anywhere: the
 * receiver dedupes it by its bytes). Version 1: a copy index is tied to the one server that holds it
 * or may hold it (`tied`: placed there, or tried there and the answer lost) and goes there again and
 * nowhere else, so no two servers ever hold one copy's bytes or its tag; a server with no tied index
 * takes the first untied one.
 */
export function chooseSealed(record: StoredOutboxRecord, piece: Piece, target: number, tied: ReadonlyMap<number, number>): number | null {
  if (record.protocol === 0) {
    const index = piece.sealed.length === 1 ? 0 : target;
    return piece.sealed[index] ? index : null;
  }
  for (const [index, at] of tied) if (at === target) return piece.sealed[index] ? index : null;
  for (let index = 0; index < piece.sealed.length; index++) if (!tied.has(index) && piece.sealed[index]) return index;
  return null;
}

/** Version 1: the copy indices of a piece already tied to a server by a placement (index → target). */
export function tiedCopies(piece: Piece): Map<number, number> {
  return new Map(piece.placed.map((placed) => [placed.sealed, placed.target]));
}

/** The bytes of sealed item `index` of a piece. */
export function sealedAt(piece: Piece, index: number): Uint8Array {
  return new Uint8Array(Buffer.from(piece.sealed[index] ?? '', 'base64'));
}

/** Forgets the sealed bytes no longer needed: all of them (`keep` none), or all but the placed copies. */
export function dropSealed(record: StoredOutboxRecord, keep: 'none' | 'placed'): StoredOutboxRecord {
  return {
    ...record,
    pieces: record.pieces.map((piece) => {
      const used = new Set(keep === 'placed' ? piece.placed.map((placed) => placed.sealed) : []);
      return { ...piece, sealed: piece.sealed.map((pdu, index) => (used.has(index) ? pdu : '')) };
    }),
  };
}

/**
 * Whether piece `index` is acknowledged: by a receipt for its own acknowledge id (a long text has one
 * per piece), or in version 1 by the peer's acknowledgement vector covering its session reference.
 */
export function pieceAcked(record: StoredOutboxRecord, index: number): boolean {
  // Per-device sessions (outbox/sender.ts): piece `d * parts + part` is part `part` for device d; a
  // receipt names the part.
  const ackId = record.acknowledgeIds[record.parts > 0 ? index % record.parts : index];
  const ref = record.refs[index];
  return (ackId !== undefined && record.acked.includes(ackId)) || (ref !== undefined && record.acked.includes(ref));
}

/**
 * Something will acknowledge this message: a receipt it asks for, or in version 1 the peer's
 * acknowledgement vector (which covers every message, receipt or not). Only those are re-posted.
 */
export function awaitsAcknowledgement(record: StoredOutboxRecord): boolean {
  return record.acknowledgeIds.length > 0 || record.refs.length > 0;
}

export function repostOf(record: StoredOutboxRecord): RepostState | undefined {
  if (record.repostEnded !== null) return { kind: 'ended', why: record.repostEnded };
  if (record.nextRepostAt !== null && record.repostUntil !== null && record.deliveredAt === null) {
    return { kind: 'scheduled', nextAt: record.nextRepostAt, until: record.repostUntil };
  }
  return undefined;
}

/** The `outbox/status` of a record as it stands. */
export function statusEvent(localId: string, record: StoredOutboxRecord): EventMap['outbox/status'] {
  if (record.pieces.length === 0) return { localId, status: record.status };
  const repost = repostOf(record);
  return { localId, status: record.status, copies: copiesOf(record), ...(repost ? { repost } : {}) };
}

function hasBytes(piece: Piece): boolean {
  return piece.sealed.some((pdu) => pdu !== '');
}
