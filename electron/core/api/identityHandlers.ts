/** The `identities/*` channels: create, import and export (`.qid`), delete, contact card. */
import { randomUUID } from 'node:crypto';
import { type ApiHandlers, type IdentitySummary, MAX_DROPS_PER_IDENTITY } from '../../../shared/ipc/contract.js';
import { formatContactString, formatContactStringV1, formatQco, qcoFileName } from '../../../shared/protocol/contacts.js';

/** Capability bits a version-1 card announces (none beyond version 1 itself yet). */
const V1_CAPS = 0;
import { formatDropUrl, generateDropId } from '../../../shared/protocol/dropId.js';
import { toHex } from '../../../shared/protocol/encoding.js';
import type { EngineContext } from '../engine.js';
import { generateNativeKeyPair } from '../state/nativeKeyPair.js';
import { exportIdentity, importIdentity } from '../state/identityFile.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { asApiFailure } from './protocolFailure.js';
import { claimIfWanted as claimDrop } from '../spam/closedDrops.js';

type IdentityChannels =
  | 'identities/list'
  | 'identities/create'
  | 'identities/import'
  | 'identities/export'
  | 'identities/delete'
  | 'identities/contactCard'
  | 'identities/addDrop'
  | 'identities/removeDrop'
  | 'identities/rename';

/** Tells the UI the identities changed and lets the poller follow (watch new drops, forget old ones). */
export async function identitiesChanged(parts: EngineContext): Promise<void> {
  parts.emit('identities/changed', parts.stateStore.identities());
  if (parts.options.autoPoll !== false) await parts.poller.sync();
}

export function identityHandlers(parts: EngineContext, requireUnlocked: () => void): Pick<ApiHandlers, IdentityChannels> {
  const { stateStore, now } = parts;
  const changed = () => identitiesChanged(parts);
  const claimIfWanted = (identityId: string, dropUrl: string, withdraw: () => Promise<void>) =>
    claimDrop(stateStore, parts.network.client, identityId, dropUrl, withdraw);

  return {
    'identities/list': async () => {
      requireUnlocked();
      return stateStore.identities();
    },
    'identities/create': async ({ alias, serverUrl, dropBits }) => {
      requireUnlocked();
      const pair = generateNativeKeyPair();
      const dropUrl = asApiFailure(() => formatDropUrl(serverUrl, generateDropId(dropBits)));
      const summary: IdentitySummary = {
        id: randomUUID(),
        alias,
        publicKey: toHex(pair.publicKey),
        dropUrls: [dropUrl],
        dropBits,
        createdAt: now(),
      };
      const created = await stateStore.addIdentity(summary, pair.privateKey);
      await claimIfWanted(created.id, dropUrl, () => stateStore.deleteIdentity(created.id));
      await changed();
      return created;
    },
    'identities/import': async ({ backup, passphrase }) => {
      requireUnlocked();
      const imported = await importIdentity(backup, passphrase, parts.pool.argon2id);
      const created = await stateStore.addIdentity({ ...imported.summary, id: randomUUID(), createdAt: now() }, imported.privateKey);
      await changed();
      return created;
    },
    'identities/export': async ({ identityId, passphrase }) => {
      requireUnlocked();
      return exportIdentity(stateStore.identity(identityId), stateStore.keyPair(identityId), passphrase, parts.options.passphraseLimits, parts.pool.argon2id);
    },
    'identities/delete': async ({ identityId }) => {
      requireUnlocked();
      await stateStore.deleteIdentity(identityId);
      // Its sessions go too (a restored backup of it starts without any).
      await parts.sessions.forgetIdentity(identityId);
      // And its device list, with this device's prekey private half (nothing else would ever remove it).
      await parts.devices.store.forget(identityId);
      parts.receiver.invalidate();
      await changed();
      return null;
    },
    'identities/addDrop': async ({ identityId, serverUrl }) => {
      requireUnlocked();
      const identity = stateStore.identity(identityId);
      if (identity.dropUrls.length >= MAX_DROPS_PER_IDENTITY) {
        throw new ApiFailure('bad_input', `An identity can have at most ${MAX_DROPS_PER_IDENTITY} drops: remove one first.`);
      }
      const dropUrl = asApiFailure(() => formatDropUrl(serverUrl, generateDropId(identity.dropBits)));
      const updated = await stateStore.setDropUrls(identityId, [...identity.dropUrls, dropUrl], parts.now());
      await claimIfWanted(identityId, dropUrl, () => stateStore.withdrawNewDrop(identityId, dropUrl));
      await changed();
      return updated;
    },
    'identities/removeDrop': async ({ identityId, dropUrl }) => {
      requireUnlocked();
      const identity = stateStore.identity(identityId);
      if (!identity.dropUrls.includes(dropUrl)) throw new ApiFailure('not_found', 'This identity has no such drop.');
      if (identity.dropUrls.length === 1) {
        throw new ApiFailure('bad_input', 'This is the last drop of this identity: add another drop before removing it.');
      }
      const updated = await stateStore.setDropUrls(identityId, identity.dropUrls.filter((url) => url !== dropUrl), parts.now());
      await changed();
      return updated;
    },
    'identities/rename': async ({ identityId, alias }) => {
      requireUnlocked();
      const updated = await stateStore.setAlias(identityId, alias);
      await changed();
      return updated;
    },
    'identities/contactCard': async ({ identityId }) => {
      requireUnlocked();
      const identity = stateStore.identity(identityId);
      const prekey = await stateStore.showQrPrekey(identityId, parts.now());
      const v1 = { qrPrekey: prekey.publicKey, qrPrekeyExpiresDay: Math.floor(prekey.expiresAt / (24 * 3600_000)), caps: V1_CAPS };
      const contact = { alias: identity.alias, publicKey: identity.publicKey, dropUrls: identity.dropUrls };
      return asApiFailure(() => ({
        contactString: formatContactString(contact),
        v1ContactString: formatContactStringV1({ ...contact, v1 }),
        qco: formatQco([{ ...contact, v1 }]),
        fileName: qcoFileName(identity.alias),
      }));
    },
  };
}

