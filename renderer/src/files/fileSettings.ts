import type { DeaddropDatabase } from '../db/database.js';
import { database } from '../db/database.js';
import { useLiveQuery } from '../db/useLiveQuery.js';

/** What the user chose about files (kept in the `settings` table under `files`). */
export interface FileSettings {
  /** Images from accepted contacts up to this many MB are downloaded when shown; 0 = never. */
  autoDownloadImagesMb: number;
}

export const defaultFileSettings: FileSettings = { autoDownloadImagesMb: 5 };
/** The largest limit offered: beyond it a click is no burden compared with the download. */
export const MAX_AUTO_DOWNLOAD_MB = 100;

const KEY = 'files';

/** A stored value as a usable limit: anything else (an older or damaged record) is the default. */
function limitOf(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_AUTO_DOWNLOAD_MB
    ? value
    : defaultFileSettings.autoDownloadImagesMb;
}

export async function loadFileSettings(db: DeaddropDatabase): Promise<FileSettings> {
  const stored = (await db.settings.get(KEY))?.value as Partial<FileSettings> | undefined;
  return { autoDownloadImagesMb: limitOf(stored?.autoDownloadImagesMb) };
}

export async function saveFileSettings(db: DeaddropDatabase, patch: Partial<FileSettings>): Promise<void> {
  const current = await loadFileSettings(db);
  await db.settings.put({ key: KEY, value: { ...current, ...patch } });
}

/** The settings, null until read: nothing is fetched on a default the user may have turned off. */
export function useFileSettings(): FileSettings | null {
  return useLiveQuery<FileSettings | null>(() => loadFileSettings(database()), [], null);
}
