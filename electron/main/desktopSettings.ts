import { promises as fs } from 'node:fs';
import { type DesktopSettings, desktopSettingsSchema } from '../../shared/ipc/contract.js';
import { writeFileAtomic } from '../core/state/atomicFile.js';

export const defaultDesktopSettings: DesktopSettings = {
  closeToTray: true,
  startMinimised: false,
  startAtLogin: false,
  notificationPreview: 'nameAndText',
  localServer: null,
};

export interface DesktopSettingsStore {
  get(): DesktopSettings;
  /** Merges, persists atomically and returns the new settings. */
  update(patch: Partial<DesktopSettings>): Promise<DesktopSettings>;
}

/**
 * Loads the settings file of a profile. A missing or unreadable file gives the defaults (it holds only
 * preferences, nothing that would be lost), and unknown or invalid fields are dropped one by one.
 */
export async function openDesktopSettings(file: string): Promise<DesktopSettingsStore> {
  let current = { ...defaultDesktopSettings };
  try {
    const stored: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
    if (stored && typeof stored === 'object') current = { ...current, ...validFields(stored as Record<string, unknown>) };
  } catch {
    // First run or a damaged file: defaults.
  }
  return {
    get: () => ({ ...current }),
    async update(patch) {
      const next = desktopSettingsSchema.parse({ ...current, ...patch });
      await writeFileAtomic(file, JSON.stringify(next, null, 2));
      current = next;
      return { ...current };
    },
  };
}

function validFields(stored: Record<string, unknown>): Partial<DesktopSettings> {
  const valid: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(desktopSettingsSchema.shape)) {
    const field = schema.safeParse(stored[key]);
    if (field.success) valid[key] = field.data;
  }
  return valid as Partial<DesktopSettings>;
}
