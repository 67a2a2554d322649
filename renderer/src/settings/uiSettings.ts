import type { DeaddropDatabase } from '../db/database.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { database } from '../db/database.js';

export type Theme = 'system' | 'light' | 'dark';
/** How much a system notification reveals. */
export type NotificationPrivacy = 'nameAndText' | 'nameOnly' | 'nothing';

/** Settings that only the UI uses; engine settings go through `settings/set`. */
export interface UiSettings {
  theme: Theme;
  notificationPrivacy: NotificationPrivacy;
  startMinimised: boolean;
}

export const defaultUiSettings: UiSettings = { theme: 'system', notificationPrivacy: 'nameOnly', startMinimised: false };

const KEY = 'ui';

export async function loadUiSettings(db: DeaddropDatabase): Promise<UiSettings> {
  const stored = await db.settings.get(KEY);
  const value = (stored?.value ?? {}) as Partial<UiSettings>;
  return { ...defaultUiSettings, ...value };
}

export async function saveUiSettings(db: DeaddropDatabase, patch: Partial<UiSettings>): Promise<void> {
  const current = await loadUiSettings(db);
  await db.settings.put({ key: KEY, value: { ...current, ...patch } });
}

export function useUiSettings(): UiSettings {
  return useLiveQuery(() => loadUiSettings(database()), [], defaultUiSettings);
}
