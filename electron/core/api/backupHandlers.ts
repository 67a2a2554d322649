/**
 * The `backup/*` channels: full backups of an identity (README "Backup files"). The UI owns contacts
 * and messages, the engine owns keys and cursors, so each side gathers its own part and the engine
 * seals the whole with the passphrase. Restoring checks the whole file before either side writes: the
 * UI stores its part in one transaction, then the engine adds the identity and its cursors in one write.
 */
import { randomUUID } from 'node:crypto';
import type { BackupPayload } from '../../../shared/backup/backupPayload.js';
import type { ApiHandlers, BackupPreview } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import type { EngineContext } from '../engine.js';
import { type OpenedBackup, backupFileName, openBackup, sealBackup } from '../state/backupFile.js';
import { BackupTransfers } from '../state/backupTransfers.js';
import { identityBackupPayload } from '../state/identityBackup.js';
import { identitiesChanged } from './identityHandlers.js';

type BackupChannels =
  | 'backup/exportBegin'
  | 'backup/exportSeal'
  | 'backup/importBegin'
  | 'backup/importOpen'
  | 'backup/importCommit'
  | 'backup/upload'
  | 'backup/download'
  | 'backup/discard';

type TransferState =
  | { kind: 'export'; identityId: string; includeHistory: boolean; cursors: Record<string, string> }
  | { kind: 'import'; opened: OpenedBackup | null };

export function backupHandlers(parts: EngineContext, requireUnlocked: () => void): Pick<ApiHandlers, BackupChannels> {
  const { stateStore, now } = parts;
  const transfers = new BackupTransfers<TransferState>(now);

  const exportState = (transferId: string) => {
    const transfer = transfers.get(transferId, 'export');
    if (transfer.state.kind !== 'export') throw new ApiFailure('internal', 'Backup transfer in a wrong state.');
    return { transfer, state: transfer.state };
  };
  const importState = (transferId: string) => {
    const transfer = transfers.get(transferId, 'import');
    if (transfer.state.kind !== 'import') throw new ApiFailure('internal', 'Backup transfer in a wrong state.');
    return { transfer, state: transfer.state };
  };

  return {
    'backup/exportBegin': async ({ identityId, includeHistory }) => {
      requireUnlocked();
      const identity = stateStore.identity(identityId);
      const retiring = stateStore.retiredDropsOf(identityId, now()).map((drop) => drop.url);
      const transfer = transfers.begin('export', { kind: 'export', identityId, includeHistory, cursors: stateStore.cursorsOf([...identity.dropUrls, ...retiring]) });
      return { transferId: transfer.id };
    },
    'backup/upload': async ({ transferId, offset, data }) => {
      requireUnlocked();
      return { received: transfers.upload(transferId, offset, Buffer.from(data, 'base64url')) };
    },
    'backup/exportSeal': async ({ transferId, passphrase }) => {
      requireUnlocked();
      const { transfer, state } = exportState(transferId);
      let ui: unknown;
      try {
        ui = JSON.parse(transfers.takeUpload(transferId).toString('utf8'));
      } catch {
        throw new ApiFailure('bad_input', 'The contacts and messages for the backup arrived incomplete: try again.');
      }
      const identity = stateStore.identity(state.identityId);
      // The UI's part is checked completely by sealBackup, with the rest of the payload.
      const payload = identityBackupPayload(stateStore, { ...state, ui: ui as BackupPayload['ui'] }, now());
      transfer.download = await sealBackup(payload, passphrase, parts.pool.argon2id, parts.options.passphraseLimits);
      return { fileName: backupFileName(identity.alias), size: transfer.download.length };
    },
    'backup/importBegin': async () => {
      requireUnlocked();
      return { transferId: transfers.begin('import', { kind: 'import', opened: null }).id };
    },
    'backup/importOpen': async ({ transferId, passphrase }) => {
      requireUnlocked();
      const { transfer, state } = importState(transferId);
      const opened = await openBackup(transfers.takeUpload(transferId), passphrase, parts.pool.argon2id);
      const preview = previewOf(opened);
      const here = stateStore.identities().find((identity) => identity.publicKey === preview.publicKey);
      if (here) {
        forget(opened);
        throw new ApiFailure('already_exists', `${here.alias} is already here, with this key: delete it first to restore it from this backup. Nothing was changed.`);
      }
      state.opened = opened;
      if (opened.kind === 'full') {
        transfer.download = Buffer.from(JSON.stringify(opened.payload.ui), 'utf8');
        preview.uiBytes = transfer.download.length;
      }
      return preview;
    },
    'backup/importCommit': async ({ transferId }) => {
      requireUnlocked();
      const { state } = importState(transferId);
      const opened = state.opened;
      if (!opened) throw new ApiFailure('bad_input', 'Open the backup with its passphrase first.');
      let restored;
      if (opened.kind === 'identity') {
        restored = await stateStore.addIdentity({ ...opened.identity.summary, id: randomUUID(), createdAt: now() }, opened.identity.privateKey);
      } else {
        const { id, alias, publicKey, dropUrls, dropBits, createdAt, retiringDrops, dropsEpoch } = opened.payload.identity;
        restored = await stateStore.restoreIdentity({ id, alias, publicKey, dropUrls, dropBits, createdAt }, opened.privateKey, opened.payload.cursors, {
          retiredDrops: retiringDrops,
          dropsEpoch,
          now: now(),
        });
        // A backup carries no sessions: whatever the sessions file still holds for this id was sealed for
        // the identity's earlier life (stateStore gave it a new session epoch) and is dropped here.
        await parts.sessions.forgetIdentity(id);
        parts.receiver.invalidate();
      }
      forget(opened);
      transfers.discard(transferId);
      await identitiesChanged(parts);
      return restored;
    },
    'backup/download': async ({ transferId, offset }) => {
      requireUnlocked();
      const { data, size } = transfers.read(transferId, offset);
      return { data: data.toString('base64url'), size };
    },
    'backup/discard': async ({ transferId }) => {
      transfers.discard(transferId);
      return null;
    },
  };
}

function previewOf(opened: OpenedBackup): BackupPreview {
  if (opened.kind === 'identity') {
    const { alias, publicKey } = opened.identity.summary;
    return { kind: 'identity', alias, publicKey, identityId: null, includesHistory: false, contacts: 0, conversations: 0, messages: 0, uiBytes: 0 };
  }
  const { identity, ui, includesHistory } = opened.payload;
  return {
    kind: 'full',
    alias: identity.alias,
    publicKey: identity.publicKey,
    identityId: identity.id,
    includesHistory,
    contacts: ui.contacts.length,
    conversations: ui.conversations.length,
    messages: ui.messages.length,
    uiBytes: 0,
  };
}

/** Wipes the private key of an opened backup that is done with. */
function forget(opened: OpenedBackup): void {
  (opened.kind === 'identity' ? opened.identity.privateKey : opened.privateKey).fill(0);
}
