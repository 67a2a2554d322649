/**
 * Sibling sync, the engine's half (shared/modules/sync.ts): while an identity is on more than one
 * device, every chat text the outbox accepts for a contact is also told to the identity's other
 * devices (`sent`), and the UI's own news (`read`, `contact`: `devices/sync`) goes the same way. Each
 * goes as a version-0 box from the identity to itself, into its own drops, through the normal outbox:
 * k copies, re-posted until a sibling's receipt comes, stamped or ticketed like any message, so to a
 * server it is one more PDU of the usual size. An identity on one device sends nothing.
 *
 * What comes in is checked by the batch opener (a `box_sync` not sealed by the identity itself is
 * dropped) and applied by the UI, which skips what its own device sent; except `drops`, which the
 * engine applies itself (`take`, it owns the identity's drops): a drop added, moved or removed on one
 * device is read at once by the others, and named in what they send (the first drop in every
 * message's meta data, the drops epoch in version-1 headers). A file the outbox accepts goes as a
 * `sent` item with its notice (`file`), so a sibling can download it as the recipient does.
 */
import { randomUUID } from 'node:crypto';
import type { ParsedRequestOf } from '../../../shared/ipc/contract.js';
import type { Logger } from '../../../shared/log.js';
import { type ApiHandlers, type IdentitySummary, type IncomingMessage, MAX_DROPS_PER_IDENTITY } from '../../../shared/ipc/contract.js';
import { BOX_MESSAGE, type DropMessage, NO_ACKNOWLEDGE_ID } from '../../../shared/protocol/message.js';
import { BOX_SHARE_NOTIFICATION } from '../../../shared/protocol/payloadTypes.js';
import { BOX_SYNC, type SyncContent, type SyncDropsItem, type SyncFile, type SyncItem, buildSyncMessages, sentItems } from '../../../shared/modules/sync.js';
import { dropsEpochNewer } from '../sessions/receiver.js';
import type { Sender } from '../outbox/sender.js';
import type { StateStore } from '../state/stateStore.js';
import type { DeviceStore } from './deviceStore.js';
import { onPolicySeqChange } from '../spam/revocation.js';

/** The outbox's local ids of sync messages start with this (the UI knows no such message). */
export const SYNC_LOCAL_ID_PREFIX = 'sync-';

export interface SiblingSyncParts {
  stateStore: StateStore;
  sender: Sender;
  store: DeviceStore;
  now(): number;
  logger: Logger;
  /** The identity's drops changed here by a sibling's `drops`: tell the UI, read the new drops (identities/changed). */
  dropsChanged?(identityId: string): Promise<void>;
}

export class SiblingSync {
  /** Incoming `drops` items are applied one at a time, in arrival order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly parts: SiblingSyncParts) {
    // A revocation changed a closed drop's policy seq: the siblings hear the claims (revocation.ts).
    onPolicySeqChange(parts.stateStore, (identityId) => {
      void this.tellDrops(identityId).catch((err: unknown) => parts.logger.warn('claims not told to other devices', { error: err instanceof Error ? err.message : 'unknown' }));
    });
    parts.sender.onAccepted((request, messages) => {
      void this.noteSent(request, messages).catch((err: unknown) => parts.logger.warn('sent message not told to other devices', { error: err instanceof Error ? err.message : 'unknown' }));
    });
  }

  /**
   * Sends `items` to the identity's other devices; 0 messages when it has none. One outbox entry
   * (several pieces when the items need several messages).
   */
  async send(identityId: string, items: readonly SyncItem[], dropUrls?: readonly string[]): Promise<{ messages: number }> {
    const { stateStore, store, sender } = this.parts;
    const identity = stateStore.identity(identityId);
    const view = await store.view(identityId);
    if (view.devices.length < 2 || items.length === 0) return { messages: 0 };
    const messages = buildSyncMessages(items, { sender: identity.publicKey, device: view.selfId, now: this.parts.now(), newId: randomUUID });
    const request = {
      identityId,
      localId: `${SYNC_LOCAL_ID_PREFIX}${randomUUID()}`,
      recipient: { publicKey: identity.publicKey, dropUrls: [...(dropUrls ?? identity.dropUrls)] },
      wantReceipt: true,
    } as ParsedRequestOf<'messages/send'>;
    await sender.send(request, messages);
    return { messages: messages.length };
  }

  /**
   * Tells the siblings the identity's drops as they are now (after a drop was added, moved, removed or
   * its move confirmed here): the list, its epoch, the retiring drops and the listed drops' claims.
   */
  async tellDrops(identityId: string): Promise<{ messages: number }> {
    const { stateStore } = this.parts;
    const identity = stateStore.identity(identityId);
    const listed = new Set(identity.dropUrls);
    const item: SyncDropsItem = {
      kind: 'drops',
      epoch: stateStore.dropsEpoch(identityId),
      dropUrls: [...identity.dropUrls],
      retiring: stateStore
        .retiredDropsOf(identityId, this.parts.now())
        .slice(-16)
        .map((drop) => ({ url: drop.url, until: drop.until, ...(drop.movedAt !== undefined ? { movedAt: drop.movedAt } : {}), ...(drop.confirmedAt !== undefined ? { confirmedAt: drop.confirmedAt } : {}) })),
      claims: stateStore
        .closedDrops(identityId)
        .filter((claim) => listed.has(claim.url))
        .map((claim) => ({ url: claim.url, seq: claim.seq, keyIds: [...claim.keyIds], introPerDay: claim.introPerDay })),
    };
    // To the drops the siblings read now too: after a move they do not read the new one yet (and the
    // outbox takes one drop per server, the new one first), so the list also goes to each retiring drop.
    const sent = await this.send(identityId, [item]);
    for (const drop of item.retiring) sent.messages += (await this.send(identityId, [item], [drop.url])).messages;
    return sent;
  }

  /**
   * Takes an inbox batch's messages (the engine hands every batch here before the UI sees it) and
   * applies, after this returns and in order, the `drops` items a sibling sealed. The messages stay in
   * the batch: the UI stores their dedupe keys and owes the sibling its receipt.
   */
  take(messages: readonly IncomingMessage[]): void {
    const drops = messages.filter((m): m is IncomingMessage & { content: SyncContent } => m.content.type === BOX_SYNC && m.content.items.some((item) => item.kind === 'drops'));
    if (drops.length === 0) return;
    this.queue = this.queue
      .then(async () => {
        for (const message of drops) {
          await this.applyDrops(message).catch((err: unknown) => this.parts.logger.warn('sibling drops skipped', { error: err instanceof Error ? err.message : 'unknown' }));
        }
      })
      .catch(() => undefined);
  }

  /** Resolves when the `drops` taken so far are applied (tests, closing). */
  settled(): Promise<void> {
    return this.queue;
  }

  private async applyDrops(message: IncomingMessage & { content: SyncContent }): Promise<void> {
    const { stateStore, store } = this.parts;
    if (stateStore.locked) return;
    const identity = stateStore.identity(message.identityId);
    // Only the identity seals a sync of its own (the batch opener dropped any other); checked again.
    if (message.senderKey !== identity.publicKey) return;
    const view = await store.view(message.identityId);
    if (message.content.device === view.selfId) return;
    let changed = false;
    let merged = false;
    for (const item of message.content.items) {
      if (item.kind !== 'drops') continue;
      // Claims of drops listed here go by their seq, whichever list wins (a revocation sends no new list).
      await this.mergeClaims(message.identityId, item, stateStore.identity(message.identityId).dropUrls);
      const ourEpoch = stateStore.dropsEpoch(message.identityId);
      let adopt: { epoch: number; dropUrls: string[] } = { epoch: item.epoch, dropUrls: item.dropUrls };
      if (item.epoch === ourEpoch) {
        // The same epoch: both devices changed their drops at once (each took the next epoch of the
        // same list). The higher device id wins; the other one (this device, when the sender's id is
        // higher) merges both changes and announces the result at the next epoch, which the winner
        // takes as newer. Identical lists (a replay, or the same change) change nothing.
        const tie = this.mergeTie(message.identityId, item);
        if (!tie || message.content.device < view.selfId) continue;
        adopt = { epoch: (item.epoch + 1) & 0xffff, dropUrls: tie };
        merged = true;
      } else if (!dropsEpochNewer(item.epoch, ourEpoch)) {
        // The higher epoch wins: an older or replayed list never rolls a newer one back.
        continue;
      }
      await stateStore.adoptSiblingDrops(message.identityId, { epoch: adopt.epoch, dropUrls: adopt.dropUrls, retiring: item.retiring }, this.parts.now());
      const ours = new Map(stateStore.closedDrops(message.identityId).map((claim) => [claim.url, claim]));
      for (const claim of item.claims) {
        if (!item.dropUrls.includes(claim.url)) continue;
        const own = ours.get(claim.url);
        if (own && own.seq >= claim.seq) continue;
        // Tickets this device hands out for it are minted from keys it derives itself (spam/closedDrops.ts).
        if (own) {
          await stateStore.updateClosedDrop(message.identityId, claim.url, (kept) => Object.assign(kept, { seq: claim.seq, keyIds: [...claim.keyIds], introPerDay: claim.introPerDay }));
        } else {
          await stateStore.setClosedDrop(message.identityId, { url: claim.url, seq: claim.seq, keyIds: [...claim.keyIds], introPerDay: claim.introPerDay, given: [] });
        }
      }
      changed = true;
    }
    if (changed) await this.parts.dropsChanged?.(message.identityId);
    if (merged) await this.tellDrops(message.identityId);
  }

  /** Takes the sibling's claims of drops in `listed` whose seq is higher than ours (the policy its server took later). */
  private async mergeClaims(identityId: string, item: SyncDropsItem, listed: readonly string[]): Promise<void> {
    const { stateStore } = this.parts;
    const ours = new Map(stateStore.closedDrops(identityId).map((claim) => [claim.url, claim]));
    for (const claim of item.claims) {
      const own = ours.get(claim.url);
      if (!own || own.seq >= claim.seq || !listed.includes(claim.url) || !item.dropUrls.includes(claim.url)) continue;
      await stateStore.updateClosedDrop(identityId, claim.url, (kept) => Object.assign(kept, { seq: claim.seq, keyIds: [...claim.keyIds], introPerDay: claim.introPerDay }));
    }
  }

  /**
   * Two lists of one epoch: null when they are the same (the listed drops, in order, and nothing the
   * sibling retires that is listed here); else both changes in one list: the sibling's drops in its
   * order, then ours it does not list, without any drop either side retires (removed or moved away
   * from), at most MAX_DROPS_PER_IDENTITY.
   */
  private mergeTie(identityId: string, item: SyncDropsItem): string[] | null {
    const { stateStore } = this.parts;
    const ours = stateStore.identity(identityId).dropUrls;
    const theirsRetiring = new Set(item.retiring.map((drop) => drop.url));
    const same = ours.length === item.dropUrls.length && ours.every((url, at) => url === item.dropUrls[at]) && !ours.some((url) => theirsRetiring.has(url));
    if (same) return null;
    const oursRetiring = new Set(stateStore.retiredDropsOf(identityId, this.parts.now()).map((drop) => drop.url));
    const merged = [...new Set([...item.dropUrls, ...ours])].filter((url) => !theirsRetiring.has(url) && !oursRetiring.has(url)).slice(0, MAX_DROPS_PER_IDENTITY);
    // Never no drop at all (each side retired what the other listed): the sibling's list then.
    return merged.length > 0 ? merged : [...item.dropUrls];
  }

  /** A chat text or file the outbox took for a contact: its text (or notice), time and receipt ids go to the siblings. */
  private async noteSent(request: ParsedRequestOf<'messages/send'>, messages: readonly DropMessage[]): Promise<void> {
    const identity = this.parts.stateStore.identity(request.identityId);
    if (request.recipient.publicKey === identity.publicKey || request.localId.startsWith(SYNC_LOCAL_ID_PREFIX)) return;
    const content = request.content;
    // A file's notice (a shared folder's revisions are not synced): its caption, or its name in its place, as the UI stores it.
    const file: SyncFile | undefined =
      content?.type === BOX_SHARE_NOTIFICATION && content.ref !== null && content.share === null ? { name: content.file, mime: content.mime, ref: content.ref } : undefined;
    const text = file ? (content?.type === BOX_SHARE_NOTIFICATION && content.text.trim() !== '' ? content.text : file.name) : (request.text ?? (content?.type === BOX_MESSAGE ? content.text : null));
    if (text === null || messages.length === 0) return;
    const view = await this.parts.store.view(request.identityId);
    if (view.devices.length < 2) return;
    const items = sentItems({
      contact: request.recipient.publicKey,
      localId: request.localId,
      sentAt: messages[0]!.time_stamp,
      text,
      ackIds: messages.map((m) => m.acknowledge_id).filter((id) => id !== NO_ACKNOWLEDGE_ID),
      ...(file ? { file } : {}),
    });
    await this.send(request.identityId, items);
  }
}

/** The channels that change an identity's drops here; each is followed by `drops` to the siblings. */
const DROP_CHANNELS = ['identities/addDrop', 'identities/removeDrop', 'identities/moveDrop', 'identities/moveConfirmed'] as const;

/**
 * Wraps the handlers that change an identity's drops so that, once one succeeded, the identity's
 * other devices hear the new list (`drops`). Telling them never fails the change itself: a sync that
 * could not be queued is logged, and the next change sends the whole list again.
 */
export function followDropChanges(handlers: Pick<ApiHandlers, (typeof DROP_CHANNELS)[number]>, sync: SiblingSync, logger: Logger): void {
  for (const channel of DROP_CHANNELS) {
    const handle = handlers[channel] as (request: { identityId: string }) => Promise<IdentitySummary>;
    (handlers as Record<string, unknown>)[channel] = async (request: { identityId: string }) => {
      const result = await handle(request);
      await sync.tellDrops(request.identityId).catch((err: unknown) => logger.warn('drop change not told to other devices', { error: err instanceof Error ? err.message : 'unknown' }));
      return result;
    };
  }
}
