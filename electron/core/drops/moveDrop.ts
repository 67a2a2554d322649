/**
 * `identities/moveDrop`: drop migration in one message (PROTOCOL-V1.md 2c "Migration", steps 1 and 4).
 * The engine opens the new drop, reads it before anything is announced (a contact who hears of it at
 * once finds it read), and keeps reading the old one (drops/retiring.ts). The announcement is the
 * UI's `box_contact_update` with the new list; a contact who missed it learns the new drop from the
 * meta data of our next message (the first drop is named in every one), and writes to the old drop
 * meanwhile, which we still read.
 */
import type { ApiHandlers } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { formatDropUrl, generateDropId } from '../../../shared/protocol/dropId.js';
import { asApiFailure } from '../api/protocolFailure.js';
import { identitiesChanged } from '../api/identityHandlers.js';
import type { EngineContext } from '../engine.js';

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
