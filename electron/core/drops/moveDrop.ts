/**
 * `identities/moveDrop`: drop migration in one message (PROTOCOL-V1.md 2c "Migration", steps 1 and 4).
 * The engine opens the new drop, reads it before anything is announced (a contact who hears of it at
 * once finds it read), and keeps reading the old one (drops/retiring.ts). The announcement is the
 * UI's `box_contact_update` with the new list; a contact who missed it learns the new drop from the
 * meta data of our next message (the first drop is named in every one), and writes to the old drop
 * meanwhile, which we still read. With closed drops on, the new drop is claimed like a created one
 * (spam/closedDrops.ts) before its URL leaves the engine; a claim the server does not take undoes the
 * move, so the identity stays on its old drop and no drop meant to be closed is given out open.
 */
import type { ApiHandlers } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { formatDropUrl, generateDropId } from '../../../shared/protocol/dropId.js';
import { asApiFailure } from '../api/protocolFailure.js';
import { identitiesChanged } from '../api/identityHandlers.js';
import type { EngineContext } from '../engine.js';
import { claimIfWanted } from '../spam/closedDrops.js';

export function dropHandlers(parts: EngineContext, requireUnlocked: () => void): Pick<ApiHandlers, 'identities/moveDrop' | 'identities/moveConfirmed'> {
  const { stateStore } = parts;
  return {
    'identities/moveDrop': async ({ identityId, fromDropUrl, serverUrl }) => {
      requireUnlocked();
      const identity = stateStore.identity(identityId);
      if (!identity.dropUrls.includes(fromDropUrl)) throw new ApiFailure('not_found', 'This identity has no such drop.');
      // The same server is allowed: a fresh drop ID after the old one leaked.
      const dropUrl = asApiFailure(() => formatDropUrl(serverUrl, generateDropId(identity.dropBits)));
      const moved = await stateStore.moveDrop(identityId, fromDropUrl, dropUrl, parts.now());
      // Undone in two steps the store has: the new drop, never given out, is not read on; the old
      // list (order included) comes back, which drops the old drop's "moving away" entry.
      const undoMove = async () => {
        await stateStore.withdrawNewDrop(identityId, dropUrl);
        await stateStore.setDropUrls(identityId, identity.dropUrls, parts.now());
      };
      await claimIfWanted(stateStore, parts.network.client, identityId, dropUrl, undoMove);
      // The poller watches the new drop before the UI can announce it.
      await identitiesChanged(parts);
      return moved;
    },
    'identities/moveConfirmed': async ({ identityId, fromDropUrl }) => {
      requireUnlocked();
      const updated = await stateStore.moveConfirmed(identityId, fromDropUrl, parts.now());
      // The poller looks again: the old drop's daily windows start now.
      await identitiesChanged(parts);
      return updated;
    },
  };
}
