/**
 * Sibling sync, the engine's half (shared/modules/sync.ts): while an identity is on more than one
 * device, every chat text the outbox accepts for a contact is also told to the identity's other
 * devices (`sent`), and the UI's own news (`read`, `contact`: `devices/sync`) goes the same way. Each
 * goes as a version-0 box from the identity to itself, into its own drops, through the normal outbox:
 * k copies, re-posted until a sibling's receipt comes, stamped or ticketed like any message, so to a
 * server it is one more PDU of the usual size. An identity on one device sends nothing.
 *
 * What comes in is checked by the batch opener (a `box_sync` not sealed by the identity itself is
 * dropped) and applied by the UI, which skips what its own device sent.
 */
import { randomUUID } from 'node:crypto';
import type { ParsedRequestOf } from '../../../shared/ipc/contract.js';
import type { Logger } from '../../../shared/log.js';
import { BOX_MESSAGE, type DropMessage, NO_ACKNOWLEDGE_ID } from '../../../shared/protocol/message.js';
import { type SyncItem, buildSyncMessages, sentItems } from '../../../shared/modules/sync.js';
import type { Sender } from '../outbox/sender.js';
import type { StateStore } from '../state/stateStore.js';
import type { DeviceStore } from './deviceStore.js';

/** The outbox's local ids of sync messages start with this (the UI knows no such message). */
export const SYNC_LOCAL_ID_PREFIX = 'sync-';

export interface SiblingSyncParts {
  stateStore: StateStore;
  sender: Sender;
  store: DeviceStore;
  now(): number;
  logger: Logger;
}

export class SiblingSync {
  constructor(private readonly parts: SiblingSyncParts) {
    parts.sender.onAccepted((request, messages) => {
      void this.noteSent(request, messages).catch((err: unknown) => parts.logger.warn('sent message not told to other devices', { error: err instanceof Error ? err.message : 'unknown' }));
    });
  }

  /**
   * Sends `items` to the identity's other devices; 0 messages when it has none. One outbox entry
   * (several pieces when the items need several messages).
   */
  async send(identityId: string, items: readonly SyncItem[]): Promise<{ messages: number }> {
    const { stateStore, store, sender } = this.parts;
    const identity = stateStore.identity(identityId);
    const view = await store.view(identityId);
    if (view.devices.length < 2 || items.length === 0) return { messages: 0 };
    const messages = buildSyncMessages(items, { sender: identity.publicKey, device: view.selfId, now: this.parts.now(), newId: randomUUID });
    const request = {
      identityId,
      localId: `${SYNC_LOCAL_ID_PREFIX}${randomUUID()}`,
      recipient: { publicKey: identity.publicKey, dropUrls: [...identity.dropUrls] },
      wantReceipt: true,
    } as ParsedRequestOf<'messages/send'>;
    await sender.send(request, messages);
    return { messages: messages.length };
  }

  /** A chat text the outbox took for a contact: its text, time and receipt ids go to the siblings. */
  private async noteSent(request: ParsedRequestOf<'messages/send'>, messages: readonly DropMessage[]): Promise<void> {
    const identity = this.parts.stateStore.identity(request.identityId);
    if (request.recipient.publicKey === identity.publicKey || request.localId.startsWith(SYNC_LOCAL_ID_PREFIX)) return;
    const text = request.text ?? (request.content?.type === BOX_MESSAGE ? request.content.text : null);
    if (text === null || messages.length === 0) return;
    const view = await this.parts.store.view(request.identityId);
    if (view.devices.length < 2) return;
    const items = sentItems({
      contact: request.recipient.publicKey,
      localId: request.localId,
      sentAt: messages[0]!.time_stamp,
      text,
      ackIds: messages.map((m) => m.acknowledge_id).filter((id) => id !== NO_ACKNOWLEDGE_ID),
    });
    await this.send(request.identityId, items);
  }
}
