/**
 * Settings sync between the devices of an identity (shared/modules/sync.ts `settings`, PROTOCOL-V1.md
 * 5c SYNC subtype SETTINGS): the settings that belong to the user rather than to the computer
 * (SYNCED_SETTINGS: receipts, copies, the traffic budget, closed drops, auto-lock, what a notification
 * shows, the image download limit) follow the user to every device of the identity.
 *
 * Settings are the profile's (one engine, one UI database), sibling sync is an identity's: each
 * identity keeps, per key, the stamp and value of its last write (`sync:settings:<identity id>` in the
 * settings table). A save here sends every synced key whose value differs from what that identity last
 * wrote or took, stamped with the identity's next Lamport tick (the clock contacts use); a sibling's
 * entry is applied when its (clock, device) is higher than the kept stamp, as contacts are. The engine
 * sends nothing for an identity on one device, so a single-device profile only keeps stamps.
 *
 * A linked device takes the offering device's engine settings with the link when its profile was empty
 * (devices/deviceLinks.ts); the offering UI sends every synced setting once the link is done
 * (`tellAllSettings`), so the UI's settings and a profile that had identities of its own follow too.
 */
import type { EngineSettings } from '../../../shared/ipc/contract.js';
import { DEFAULT_COPIES } from '../../../shared/ipc/contract.js';
import { DEFAULT_TRAFFIC_BUDGET } from '../../../shared/budget/setting.js';
import {
  ENGINE_SYNCED_SETTINGS,
  SYNCED_SETTING_KEYS,
  type SyncSettingEntry,
  type SyncSettingsItem,
  type SyncStamp,
  type SyncedSettingKey,
  type SyncedSettings,
  winningSettings,
} from '../../../shared/modules/sync.js';
import { createLogger } from '../../../shared/log.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { loadFileSettings, saveFileSettings } from '../files/fileSettings.js';
import { type NotificationPrivacy, loadUiSettings, saveUiSettings } from '../settings/uiSettings.js';
import { useSavedSettings } from '../settings/savedSettings.js';
import { useAutoLock } from '../screens/sessionLock.js';
import { hasCapability, useSession } from '../stores/sessionStore.js';
import { noteClock, selfDeviceId } from './syncOut.js';

const log = createLogger('settings-sync');

/** One key's last write as this identity knows it. */
interface KeptSetting extends SyncStamp {
  value: unknown;
}
type Kept = Partial<Record<SyncedSettingKey, KeptSetting>>;

export const settingsStampKey = (identityId: string) => `sync:settings:${identityId}`;
const clockKey = (identityId: string) => `sync:clock:${identityId}`;

async function kept(db: DeaddropDatabase, identityId: string): Promise<Kept> {
  const value = (await db.settings.get(settingsStampKey(identityId)))?.value;
  return value && typeof value === 'object' ? (value as Kept) : {};
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The synced settings' values now: the engine's as given, the UI's from the database; what a
 * notification shows is the desktop shell's choice where there is one (`preview`).
 */
export async function syncedSettingsOf(db: DeaddropDatabase, engine: EngineSettings, preview?: NotificationPrivacy): Promise<SyncedSettings> {
  const ui = await loadUiSettings(db);
  const files = await loadFileSettings(db);
  return {
    sendReceipts: engine.sendReceipts,
    copies: engine.copies ?? DEFAULT_COPIES,
    trafficBudget: engine.trafficBudget ?? DEFAULT_TRAFFIC_BUDGET,
    closedDrops: engine.closedDrops ?? false,
    autoLockMinutes: engine.autoLockMinutes,
    notificationPrivacy: preview ?? ui.notificationPrivacy,
    autoDownloadImagesMb: files.autoDownloadImagesMb,
  };
}

/**
 * Stamps the keys of `values` this identity has not written with that value yet (all of them with
 * `all`), as this device's next write, and answers the item to send (null: nothing changed).
 */
export async function settingsItem(db: DeaddropDatabase, identityId: string, device: string, values: Partial<SyncedSettings>, all = false): Promise<SyncSettingsItem | null> {
  return db.transaction('rw', db.settings, async () => {
    const current = await kept(db, identityId);
    const changed = SYNCED_SETTING_KEYS.filter((key) => key in values && (all || !current[key] || !same(current[key]!.value, values[key])));
    if (changed.length === 0) return null;
    const clock = (((await db.settings.get(clockKey(identityId)))?.value as number | undefined) ?? 0) + 1;
    await db.settings.put({ key: clockKey(identityId), value: clock });
    const entries: SyncSettingEntry[] = [];
    for (const key of changed) {
      current[key] = { clock, device, value: values[key] };
      entries.push({ key, clock, value: values[key] });
    }
    await db.settings.put({ key: settingsStampKey(identityId), value: current });
    return { kind: 'settings', entries };
  });
}

/** What a sibling changed that the UI database does not hold: for the engine, and for the desktop shell. */
export interface HostSettings {
  engine: Partial<EngineSettings>;
  notificationPreview?: NotificationPrivacy;
}

/**
 * A sibling's `settings` (from `device`): the entries whose stamp is newer than this identity's are
 * kept and the UI's settings written; the engine's (and the notification preview, which the desktop
 * shell keeps) go into `host`, applied by the caller once the database transaction is over. Inside a
 * transaction on `settings`.
 */
export async function applySettingsItem(db: DeaddropDatabase, identityId: string, item: SyncSettingsItem, device: string, host: HostSettings): Promise<void> {
  const current = await kept(db, identityId);
  const won = winningSettings(current, item, device);
  for (const entry of item.entries) await noteClock(db, identityId, entry.clock);
  if (won.length === 0) return;
  for (const { key, value, stamp } of won) {
    current[key] = { ...stamp, value };
    if (key === 'notificationPrivacy') {
      await saveUiSettings(db, { notificationPrivacy: value as NotificationPrivacy });
      host.notificationPreview = value as NotificationPrivacy;
    } else if (key === 'autoDownloadImagesMb') await saveFileSettings(db, { autoDownloadImagesMb: value as number });
    else if ((ENGINE_SYNCED_SETTINGS as readonly string[]).includes(key)) Object.assign(host.engine, { [key]: value });
  }
  await db.settings.put({ key: settingsStampKey(identityId), value: current });
}

/** Applies what siblings changed of the engine's (and the shell's) settings; the panels showing them hear it. Never throws. */
export async function applyHostSettings(bridge: EngineBridge, host: HostSettings): Promise<void> {
  try {
    if (Object.keys(host.engine).length > 0) {
      const result = await bridge.invoke('settings/set', host.engine);
      if (!result.ok) log.warn('settings from another device not applied', { code: result.error.code });
      else {
        useSavedSettings.getState().publish(result.value);
        if (host.engine.autoLockMinutes !== undefined) useAutoLock.setState({ minutes: result.value.autoLockMinutes });
      }
    }
    if (host.notificationPreview !== undefined && hasCapability('desktopSettings')) {
      const result = await bridge.invoke('desktop/setSettings', { notificationPreview: host.notificationPreview });
      if (!result.ok) log.warn('notification preview from another device not applied', { code: result.error.code });
    }
  } catch (err) {
    log.warn('settings from another device not applied', { reason: String(err) });
  }
}

/**
 * After a save here: every identity's other devices hear the synced settings that changed. `engine`:
 * the engine's settings as saved (read from the engine when absent). Never throws.
 */
export async function tellSettings(db: DeaddropDatabase, engine?: EngineSettings, options: { all?: boolean; identityIds?: readonly string[] } = {}, bridge = useSession.getState().bridge): Promise<void> {
  if (!bridge) return;
  try {
    let settings = engine;
    if (!settings) {
      const read = await bridge.invoke('settings/get', {});
      if (!read.ok) return;
      settings = read.value;
    }
    const desktop = hasCapability('desktopSettings') ? await bridge.invoke('desktop/getSettings', {}) : null;
    const values = await syncedSettingsOf(db, settings, desktop?.ok ? desktop.value.notificationPreview : undefined);
    const identities = options.identityIds ?? (useSession.getState().identities ?? []).map((identity) => identity.id);
    for (const identityId of identities) {
      const device = await selfDeviceId(bridge, identityId);
      if (!device) continue;
      const item = await settingsItem(db, identityId, device, values, options.all === true);
      if (!item) continue;
      const sent = await bridge.invoke('devices/sync', { identityId, items: [item] });
      if (!sent.ok) log.warn('settings not told to the other devices', { code: sent.error.code });
    }
  } catch (err) {
    log.warn('settings not told to the other devices', { reason: String(err) });
  }
}

/** Once a device was linked here: it hears every synced setting of this one (its own stamps are older). */
export function tellAllSettings(db: DeaddropDatabase, identityId: string, bridge = useSession.getState().bridge): Promise<void> {
  return tellSettings(db, undefined, { all: true, identityIds: [identityId] }, bridge);
}
