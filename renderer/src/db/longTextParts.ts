/**
 * Long texts arriving in parts. Each piece is one small `textParts` record; the message row holds
 * only the count, so a piece costs the same whatever came before it, and the text is joined once,
 * when the last piece arrives (its pieces are then deleted).
 */
import Dexie from 'dexie';
import type { IncomingMessage } from '../../../shared/ipc/contract.js';
import type { DeaddropDatabase } from './database.js';
import { incomingRecord, partsStored } from './incomingMessage.js';
import type { MessageRecord, TextPartRecord } from './records.js';

/** A long text's message row and its pieces, while one transaction adds to it. */
export interface PartGroup {
  row: MessageRecord & { parts: { count: number; stored: number } };
  /** Indexes stored in `textParts` before this transaction. */
  known: ReadonlySet<number>;
  /** Pieces added in this transaction: written to `textParts` only if the text is still incomplete. */
  added: Map<number, string>;
}

/** The message row a piece belongs to: one per sender and group. */
export function groupMessageId(message: IncomingMessage): string {
  return `in:${message.identityId}:${message.senderKey}:part:${message.part!.groupId}`;
}

function storedPieces(db: DeaddropDatabase, messageId: string) {
  return db.textParts.where('[messageId+index]').between([messageId, Dexie.minKey], [messageId, Dexie.maxKey]);
}

/** A group whose first piece arrives now. */
export function newGroup(id: string, message: IncomingMessage): PartGroup {
  const row = { ...incomingRecord(id, message), text: '', parts: { count: message.part!.count, stored: 0 } };
  return { row, known: new Set(), added: new Map() };
}

/**
 * The groups stored under these ids, with the indexes of their stored pieces (keys only: nothing
 * is unsealed). A row of schema 6 or before brings its inline pieces along, to be moved out.
 */
export async function loadGroups(db: DeaddropDatabase, ids: string[]): Promise<Map<string, PartGroup>> {
  const groups = new Map<string, PartGroup>();
  const rows = await db.messages.bulkGet(ids);
  for (const row of rows) {
    if (!row?.parts) continue;
    const { count, received } = row.parts;
    const added = new Map<number, string>();
    let known: ReadonlySet<number> = new Set();
    const incomplete = partsStored(row.parts) < count;
    if (incomplete && received) {
      for (const [index, text] of Object.entries(received)) added.set(Number(index), text);
    } else if (incomplete) {
      const keys = (await storedPieces(db, row.id).primaryKeys()) as unknown as Array<[string, number]>;
      known = new Set(keys.map(([, index]) => index));
    }
    const stored = incomplete ? known.size + added.size : count;
    groups.set(row.id, { row: { ...row, parts: { count, stored } }, known, added });
  }
  return groups;
}

export function isComplete(group: PartGroup): boolean {
  return group.row.parts.stored >= group.row.parts.count;
}

export function hasPiece(group: PartGroup, index: number): boolean {
  return isComplete(group) || group.known.has(index) || group.added.has(index);
}

/** Adds one piece (the caller checked `hasPiece` and the index range). */
export function addPiece(group: PartGroup, index: number, text: string): void {
  group.added.set(index, text);
  group.row.parts = { count: group.row.parts.count, stored: group.known.size + group.added.size };
}

/**
 * Settles what a transaction added to a group: a complete text is joined into the row (its stored
 * pieces are read once and deleted); otherwise the new pieces are returned, to be written.
 */
export async function settleGroup(db: DeaddropDatabase, group: PartGroup): Promise<TextPartRecord[]> {
  const { row } = group;
  if (!isComplete(group)) {
    return [...group.added].map(([index, text]) => ({ messageId: row.id, index, identityId: row.identityId, contactKey: row.contactKey, text }));
  }
  const pieces = new Map(group.added);
  if (group.known.size > 0) {
    for (const piece of await storedPieces(db, row.id).toArray()) if (!pieces.has(piece.index)) pieces.set(piece.index, piece.text);
    await storedPieces(db, row.id).delete();
  }
  const texts: string[] = [];
  for (let i = 0; i < row.parts.count; i++) texts.push(pieces.get(i) ?? '');
  row.text = texts.join('');
  return [];
}
