/**
 * An identity as a full backup carries it (shared/backup/backupPayload.ts): its key, drops, retiring
 * drops and drops epoch, the cursors noted when the export began, and the UI's records. A backup file
 * (api/backupHandlers.ts) and a device link's bundle (devices/linkOffer.ts) hold the same payload.
 */
import { BACKUP_PAYLOAD_SCHEMA, BACKUP_PAYLOAD_VERSION, type BackupPayload } from '../../../shared/backup/backupPayload.js';
import { toHex } from '../../../shared/protocol/encoding.js';
import type { StateStore } from './stateStore.js';

export interface IdentityExport {
  identityId: string;
  /** The cursors noted before the UI read its records: the restored copy may fetch a message twice, never miss one. */
  cursors: Record<string, string>;
  includeHistory: boolean;
  ui: BackupPayload['ui'];
}

/** The payload of one identity; the private key's copy read from the state store is wiped. */
export function identityBackupPayload(stateStore: StateStore, exported: IdentityExport, now: number): BackupPayload {
  const identity = stateStore.identity(exported.identityId);
  const retiring = stateStore.retiredDropsOf(identity.id, now);
  const { privateKey } = stateStore.keyPair(identity.id);
  const payload: BackupPayload = {
    schema: BACKUP_PAYLOAD_SCHEMA,
    version: BACKUP_PAYLOAD_VERSION,
    createdAt: now,
    identity: {
      id: identity.id,
      alias: identity.alias,
      publicKey: identity.publicKey,
      privateKey: toHex(privateKey),
      dropUrls: identity.dropUrls,
      dropBits: identity.dropBits,
      createdAt: identity.createdAt,
      // A move's overlap (or a removal's) goes on after a restore: the old drop is read until its end.
      retiringDrops: retiring,
      dropsEpoch: stateStore.dropsEpoch(identity.id),
    },
    // A drop removed (or retired) since the export began has no cursor to keep.
    cursors: Object.fromEntries(
      Object.entries(exported.cursors).filter(([dropUrl]) => identity.dropUrls.includes(dropUrl) || retiring.some((drop) => drop.url === dropUrl)),
    ),
    includesHistory: exported.includeHistory,
    ui: exported.ui,
  };
  privateKey.fill(0);
  return payload;
}
