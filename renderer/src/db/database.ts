import Dexie, { type Table } from 'dexie';
import type {
  ContactRecord,
  ConversationRecord,
  DropStateRecord,
  MessageRecord,
  PendingReceiptRecord,
  PostCopyRecord,
  PostRecord,
  SeenRecord,
  SettingRecord,
  TextPartRecord,
} from './records.js';
import type { ShareRecord } from '../shares/shareRecords.js';
import {
  schemaV1, schemaV2, schemaV3, schemaV4, schemaV5, schemaV6, schemaV7, schemaV8, schemaV9, upgradeToV2, upgradeToV3, upgradeToV4, upgradeToV5,
} from './schema.js';
import { sealingMiddleware } from './sealing.js';

export const DATABASE_NAME = 'deaddrop';

/** The user's data in IndexedDB: the source of truth for what they see (DESIGN.md), sealed at rest (`sealing.ts`). */
export class DeaddropDatabase extends Dexie {
  contacts!: Table<ContactRecord, [string, string]>;
  conversations!: Table<ConversationRecord, [string, string]>;
  messages!: Table<MessageRecord, string>;
  seen!: Table<SeenRecord, [string, string]>;
  pendingReceipts!: Table<PendingReceiptRecord, [string, string]>;
  drops!: Table<DropStateRecord, string>;
  settings!: Table<SettingRecord, string>;
  textParts!: Table<TextPartRecord, [string, number]>;
  posts!: Table<PostRecord, string>;
  postCopies!: Table<PostCopyRecord, string>;
  shares!: Table<ShareRecord, string>;

  constructor(name: string = DATABASE_NAME) {
    super(name);
    this.version(1).stores(schemaV1);
    this.version(2).stores(schemaV2).upgrade(upgradeToV2);
    this.version(3).stores(schemaV3).upgrade(upgradeToV3);
    this.version(4).stores(schemaV4).upgrade(upgradeToV4);
    this.version(5).stores(schemaV5).upgrade(upgradeToV5);
    this.version(6).stores(schemaV6);
    this.version(7).stores(schemaV7);
    this.version(8).stores(schemaV8);
    this.version(9).stores(schemaV9);
    this.use(sealingMiddleware);
  }
}

let shared: DeaddropDatabase | null = null;

/** The one database of this window. */
export function database(): DeaddropDatabase {
  shared ??= new DeaddropDatabase();
  return shared;
}
