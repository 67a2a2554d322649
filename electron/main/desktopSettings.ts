import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from './atomicFile.js';

/** How much a message notification may reveal on a shared screen. */
export const notificationPreviewSchema = z.enum(['nameAndText', 'nameOnly', 'nothing']);
export type NotificationPreview = z.infer<typeof notificationPreviewSchema>;

/** Settings only the desktop shell uses (the engine and the UI keep their own). */
export const desktopSettingsSchema = z.object({
  /** Closing the window hides it; the app keeps polling in the tray. */
  closeToTray: z.boolean(),
  /** Launch hidden in the tray. */
  startMinimised: z.boolean(),
  /** Register with the OS to start at login. */
  startAtLogin: z.boolean(),
  notificationPreview: notificationPreviewSchema,
  /**
   * The local drop server to start again at launch (null: not running). Identities created on it
   * have its port in their drop URLs, so it must come back on the same port.
   */
  localServer: z.object({ port: z.number().int().min(1).max(65_535), expose: z.boolean() }).nullable(),
});
export type DesktopSettings = z.infer<typeof desktopSettingsSchema>;

/** What the UI may change; the local server entry follows `localServer/start|stop` only. */
export const uiSettableSettingsSchema = desktopSettingsSchema.omit({ localServer: true }).partial();

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
