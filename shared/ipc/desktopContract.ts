/**
 * The contract between the UI and the desktop shell (electron/main), next to the engine contract in
 * `contract.ts`. These messages are not part of the engine's API: the browser test host has no tray,
 * notifications or camera gate, so the preload exposes them separately as `deaddropDesktop` on the page's global object and
 * the UI feature-detects it.
 *
 * Main validates every request with the schema of its method; the preload builds one function per
 * entry of `desktopChannels`; the renderer uses the types. Nothing else spells these channel names.
 */
import { z } from 'zod';
import type { Result } from './result.js';

/** Method name on the page's `deaddropDesktop` → IPC channel. */
export const desktopChannels = {
  setUnreadCount: 'ui/unread',
  setConversationOnScreen: 'ui/conversationOnScreen',
  setContactNames: 'ui/contactNames',
  allowCamera: 'camera/allow',
  getSettings: 'desktop/getSettings',
  setSettings: 'desktop/setSettings',
} as const;
export type DesktopMethod = keyof typeof desktopChannels;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');

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
   * The local drop server to start again at launch (null: not running). Read-only for the UI: it
   * follows `localServer/start|stop`. Identities created on it have its port in their drop URLs, so it
   * must come back on the same port.
   */
  localServer: z.object({ port: z.number().int().min(1).max(65_535), expose: z.boolean() }).nullable(),
});
export type DesktopSettings = z.infer<typeof desktopSettingsSchema>;

/** What the UI may change. */
export const uiSettableSettingsSchema = desktopSettingsSchema.omit({ localServer: true }).partial();
export type UiSettableSettings = z.infer<typeof uiSettableSettingsSchema>;

/** One conversation: the local identity and the contact's public key. */
export const conversationRefSchema = z.object({ identityId: z.string().min(1).max(128), contactKey: hex64 });
export type ConversationRef = z.infer<typeof conversationRefSchema>;

/** Request schema of every method (unknown fields are dropped, except in `setSettings`, which is strict). */
export const desktopRequestSchemas = {
  setUnreadCount: z.object({ count: z.number().int().min(0).max(1_000_000) }),
  setConversationOnScreen: z.object({ conversation: conversationRefSchema.nullable() }),
  /** Contact names by public key, so notifications can use the name the user gave. */
  setContactNames: z.object({
    names: z.record(hex64, z.string().max(128)).refine((names) => Object.keys(names).length <= 10_000, 'at most 10,000 names'),
  }),
  /** Seconds the camera may be opened (the QR scanner is showing); 0 closes the gate. */
  allowCamera: z.object({ seconds: z.number().int().min(0).max(300) }),
  getSettings: z.object({}),
  setSettings: uiSettableSettingsSchema.strict(),
} satisfies Record<DesktopMethod, z.ZodType>;

export type DesktopRequest<M extends DesktopMethod> = z.input<(typeof desktopRequestSchemas)[M]>;

/** What each method answers. */
export interface DesktopResponseMap {
  setUnreadCount: null;
  setConversationOnScreen: null;
  setContactNames: null;
  /** Epoch milliseconds until which a camera permission request is granted. */
  allowCamera: { allowedUntil: number };
  getSettings: DesktopSettings;
  setSettings: DesktopSettings;
}

/** The page's `deaddropDesktop`: present only in the desktop app; every function answers a `Result`. */
export type DesktopApi = {
  readonly [M in DesktopMethod]: (request: DesktopRequest<M>) => Promise<Result<DesktopResponseMap[M]>>;
};
