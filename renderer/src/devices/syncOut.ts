/**
 * Sibling sync, what this device tells the identity's other devices (shared/modules/sync.ts): a
 * conversation read here, a contact added, renamed, verified, blocked or deleted here. Texts sent here
 * need nothing from the UI: the engine tells the other devices of each itself. The engine sends
 * nothing while the identity is on this device alone, so these calls cost nothing then.
 *
 * Contact changes are ordered by a Lamport clock per identity (a number in the settings table): each
 * change here takes the next tick past every clock seen, so the last writer wins on every device,
 * ties broken by device id (`newerThan`).
 */
import type { SyncContactItem, SyncItem } from '../../../shared/modules/sync.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { createLogger } from '../../../shared/log.js';
import { useSession } from '../stores/sessionStore.js';
import { openRecord, sealRecord } from '../db/sealing.js';

const log = createLogger('sibling-sync');

/** Who last wrote a contact's shared state: compared as (clock, device). */
export interface ContactStamp {
  clock: number;
  device: string;
}

const clockKey = (identityId: string) => `sync:clock:${identityId}`;

const tombstonesKey = (identityId: string) => `sync:tombstones:${identityId}`;
/** Sealed like a record (the settings table is not): the keys of deleted contacts stay private at rest. */
const TOMBSTONE_SEAL = 'syncTombstones';
/** Deletions remembered per identity; beyond it the oldest are forgotten (a stale change could then bring one back). */
const MAX_TOMBSTONES = 1000;

/** Every settings key sibling sync keeps for an identity (forgotten with the identity). */
export function syncSettingKeys(identityId: string): string[] {
  return [clockKey(identityId), `sync:history:${identityId}`, `sync:online:${identityId}`, tombstonesKey(identityId), `sync:settings:${identityId}`];
}

async function tombstones(db: DeaddropDatabase, identityId: string): Promise<Record<string, ContactStamp>> {
  const stored = await db.settings.get(tombstonesKey(identityId));
  if (!stored) return {};
  const opened = openRecord(TOMBSTONE_SEAL, stored) as { value?: unknown };
  return (opened.value && typeof opened.value === 'object' ? opened.value : {}) as Record<string, ContactStamp>;
}

/**
 * Who deleted a contact, kept after its record is gone, so that an older change arriving later does
 * not bring it back. Inside a transaction on `settings`.
 */
export async function deletionStamp(db: DeaddropDatabase, identityId: string, contactKey: string): Promise<ContactStamp | undefined> {
  return (await tombstones(db, identityId))[contactKey];
}

/** Records (stamp) or clears (null) a contact's deletion. Inside a transaction on `settings`. */
export async function noteDeletion(db: DeaddropDatabase, identityId: string, contactKey: string, stamp: ContactStamp | null): Promise<void> {
  const all = await tombstones(db, identityId);
  if (stamp) all[contactKey] = stamp;
  else if (contactKey in all) delete all[contactKey];
  else return;
  const kept = Object.entries(all)
    .sort(([, a], [, b]) => b.clock - a.clock)
    .slice(0, MAX_TOMBSTONES);
  await db.settings.put(sealRecord(TOMBSTONE_SEAL, { key: tombstonesKey(identityId), value: Object.fromEntries(kept) }, ['key']) as { key: string; value: unknown });
}

/** True when `a` was written after `b` (a higher clock, or the same clock from a higher device id). */
export function newerThan(a: ContactStamp, b: ContactStamp | undefined): boolean {
  if (!b) return true;
  return a.clock > b.clock || (a.clock === b.clock && a.device > b.device);
}

/** Moves the identity's clock past `clock` (a write seen here). Inside a transaction on `settings`. */
export async function noteClock(db: DeaddropDatabase, identityId: string, clock: number): Promise<void> {
  const current = ((await db.settings.get(clockKey(identityId)))?.value as number | undefined) ?? 0;
  if (clock > current) await db.settings.put({ key: clockKey(identityId), value: clock });
}

const selfIds = new Map<string, string>();

/** This device's id for the identity (`devices/list`), remembered; null while the engine cannot say. */
export async function selfDeviceId(bridge: EngineBridge, identityId: string): Promise<string | null> {
  const known = selfIds.get(identityId);
  if (known) return known;
  const list = await bridge.invoke('devices/list', { identityId });
  const self = list.ok ? list.value.devices.find((device) => device.self) : undefined;
  if (!self) return null;
  selfIds.set(identityId, self.deviceId);
  return self.deviceId;
}

async function send(bridge: EngineBridge, identityId: string, items: SyncItem[]): Promise<void> {
  const result = await bridge.invoke('devices/sync', { identityId, items });
  if (!result.ok) log.warn('not told to the other devices', { code: result.error.code });
}

/**
 * The contact's state as it is now here (gone: a deletion), as the next write of this device. The
 * stamp is kept in the (sealed) contact record, a deletion's in the sealed tombstones.
 */
export async function contactItem(db: DeaddropDatabase, identityId: string, contactKey: string, device: string): Promise<SyncContactItem> {
  return db.transaction('rw', db.contacts, db.settings, async () => {
    const clock = (((await db.settings.get(clockKey(identityId)))?.value as number | undefined) ?? 0) + 1;
    await db.settings.put({ key: clockKey(identityId), value: clock });
    const contact = await db.contacts.get([identityId, contactKey]);
    if (!contact) {
      await noteDeletion(db, identityId, contactKey, { clock, device });
      return { kind: 'contact', contact: contactKey, clock, op: 'del' } as const;
    }
    await db.contacts.update([identityId, contactKey], { syncStamp: { clock, device } });
    return {
      kind: 'contact',
      contact: contactKey,
      clock,
      op: 'put',
      alias: contact.alias,
      aliasFromUser: contact.aliasFromUser === true,
      status: contact.status,
      // A request's offered drops stay on each device's own copy: only accepted drops are shared state.
      dropUrls: contact.dropUrls.slice(0, 16),
      ...(contact.v1 ? { v1: contact.v1 } : {}),
    } as const;
  });
}

/** Tells the other devices a contact's state after a change here (or its deletion). Never throws. */
export async function syncContact(db: DeaddropDatabase, identityId: string, contactKey: string, bridge = useSession.getState().bridge): Promise<void> {
  if (!bridge) return;
  try {
    const device = await selfDeviceId(bridge, identityId);
    if (!device) return;
    await send(bridge, identityId, [await contactItem(db, identityId, contactKey, device)]);
  } catch (err) {
    log.warn('contact change not told to the other devices', { reason: String(err) });
  }
}

/** Tells the other devices a conversation was read here up to `upTo` (its newest message). Never throws. */
export async function syncRead(identityId: string, contactKey: string, upTo: number, bridge = useSession.getState().bridge): Promise<void> {
  if (!bridge) return;
  try {
    await send(bridge, identityId, [{ kind: 'read', contact: contactKey, upTo: Math.max(0, Math.floor(upTo)) }]);
  } catch (err) {
    log.warn('read state not told to the other devices', { reason: String(err) });
  }
}

/**
 * The user read a conversation here: its unread count goes to 0, and the other devices hear it was
 * read up to its newest message.
 */
export async function readConversation(db: DeaddropDatabase, identityId: string, contactKey: string, bridge = useSession.getState().bridge): Promise<void> {
  const conversation = await db.conversations.get([identityId, contactKey]);
  if (!conversation || conversation.unreadCount === 0) return;
  await db.conversations.update([identityId, contactKey], { unreadCount: 0 });
  await syncRead(identityId, contactKey, conversation.lastMessageAt, bridge);
}

/** What `takeSiblingSync` needs of each identity; this device's ids are asked only when `withDevices`. */
export async function syncIdentities(
  bridge: EngineBridge,
  identities: readonly { id: string; publicKey: string; dropUrls: readonly string[] }[],
  withDevices: boolean,
): Promise<Map<string, { publicKey: string; dropUrls: readonly string[]; selfDevice: string | null }>> {
  const out = new Map<string, { publicKey: string; dropUrls: readonly string[]; selfDevice: string | null }>();
  for (const identity of identities) {
    const selfDevice = withDevices ? await selfDeviceId(bridge, identity.id).catch(() => null) : null;
    out.set(identity.id, { publicKey: identity.publicKey, dropUrls: identity.dropUrls, selfDevice });
  }
  return out;
}
