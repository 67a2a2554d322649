/**
 * A device another device removed from an identity stops everything it would send as that identity
 * (issue 17): once it merged a list holding its own tombstone (`removedAt`, deviceStore.ts) it still
 * holds the key and reads the drops, but writes nothing more, so the user's other devices and contacts
 * see no further word from a device they removed (a lost laptop found by someone else included).
 *
 * Two layers, so that no path is forgotten:
 * - every channel that would make something leave for the identity refuses with REMOVED_MESSAGE
 *   (messages, files and uploads, receipts, sibling sync, drop changes, device changes and links, key
 *   rotation, ticket revocation, session resets);
 * - underneath, the outbox itself: `send` refuses (what the engine sends by itself: a sibling sync of a
 *   sent text, drop lists to siblings), `sendReceipt` drops the receipt (those owed through
 *   `inbox/ack`, answered again for duplicates, asked by the poller) and `postOwn` drops what it would
 *   post for the identity to a contact (version-1 PINGs, drop requests, stale-prekey answers). Device
 *   news checks `removedAt` itself (deviceNews.ts).
 * Reading, listing, exporting and deleting the identity stay possible: the UI shows the identity read
 * only and says what to do (link this device again from one that still holds the identity).
 */
import type { ApiHandlers } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import type { Logger } from '../../../shared/log.js';
import type { Sender } from '../outbox/sender.js';
import type { StateStore } from '../state/stateStore.js';

export const REMOVED_MESSAGE =
  'This device was removed from this identity by another of its devices: it sends nothing more as this identity. To use it here again, link it from a device that still holds the identity.';

/** The channels that would make something leave for an identity. */
export const SENDING_CHANNELS = [
  'messages/send',
  'files/send',
  'files/upload',
  'receipts/send',
  'devices/sync',
  'devices/rename',
  'devices/remove',
  'devices/linkBegin',
  'devices/rotateKey',
  'identities/addDrop',
  'identities/removeDrop',
  'identities/moveDrop',
  'identities/moveConfirmed',
  'contacts/revokeTickets',
  'sessions/confirmReset',
] as const satisfies readonly (keyof ApiHandlers)[];

export interface RemovedGuardParts {
  stateStore: StateStore;
  /** Whether another device removed this one from the identity (deviceNews.ts `removedHere`). */
  removedHere(identityId: string): Promise<boolean>;
  logger: Logger;
}

/** Resolves, or throws REMOVED_MESSAGE when this device was removed from the identity. */
async function refuseRemoved(parts: RemovedGuardParts, identityId: string): Promise<void> {
  // Locked: the channel refuses by itself; an unknown identity: the channel says so.
  if (parts.stateStore.locked || !parts.stateStore.identities().some((identity) => identity.id === identityId)) return;
  if (await parts.removedHere(identityId)) throw new ApiFailure('bad_input', REMOVED_MESSAGE);
}

/** Wraps the sending channels (see the top): each refuses first when this device was removed. */
export function guardRemovedChannels(handlers: Pick<ApiHandlers, (typeof SENDING_CHANNELS)[number]>, parts: RemovedGuardParts): void {
  for (const channel of SENDING_CHANNELS) {
    const handle = handlers[channel] as (request: { identityId: string }) => Promise<unknown>;
    (handlers as Record<string, unknown>)[channel] = async (request: { identityId: string }) => {
      await refuseRemoved(parts, request.identityId);
      return handle(request);
    };
  }
}

/**
 * Wraps the outbox's `send` (refused), `sendReceipt` and `postOwn` (dropped) for what the engine sends
 * by itself, below the channels. `sendReceipt` is synchronous, so it asks `removedNow`: what this device knew when
 * the receipt was due (the guard's `watch` keeps it up to date).
 */
export function guardRemovedOutbox(sender: Pick<Sender, 'send' | 'sendReceipt' | 'postOwn'>, parts: RemovedGuardParts, removedNow: (identityId: string) => boolean): void {
  const send = sender.send.bind(sender);
  const sendReceipt = sender.sendReceipt.bind(sender);
  const postOwn = sender.postOwn.bind(sender);
  sender.postOwn = (dropUrls, pdu, to) => {
    if (to && removedNow(to.identityId)) {
      parts.logger.info('not posted: this device was removed from the identity');
      return Promise.resolve();
    }
    return postOwn(dropUrls, pdu, to);
  };
  sender.send = async (request, built) => {
    await refuseRemoved(parts, request.identityId);
    return send(request, built);
  };
  sender.sendReceipt = (identityId, recipientKey, dropUrls, acknowledgeId) => {
    if (removedNow(identityId)) return parts.logger.info('receipt not sent: this device was removed from the identity');
    sendReceipt(identityId, recipientKey, dropUrls, acknowledgeId);
  };
}

/**
 * The identities this device was removed from, known without waiting: read for every identity at
 * start, and again whenever an identity's list changed here (`onChanged`, deviceNews.ts).
 */
export class RemovedIdentities {
  private readonly removed = new Set<string>();

  constructor(private readonly parts: RemovedGuardParts) {}

  has(identityId: string): boolean {
    return this.removed.has(identityId);
  }

  /** Reads whether this device was removed from `identityId` (every identity when absent). Never throws. */
  async refresh(identityId?: string): Promise<void> {
    const { stateStore } = this.parts;
    if (stateStore.locked) return;
    const ids = identityId === undefined ? stateStore.identities().map((identity) => identity.id) : [identityId];
    for (const id of ids) {
      try {
        if (await this.parts.removedHere(id)) this.removed.add(id);
        else this.removed.delete(id);
      } catch (err) {
        this.parts.logger.warn('could not read whether this device was removed', { error: err instanceof Error ? err.message : 'unknown' });
      }
    }
  }
}
