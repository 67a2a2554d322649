import type { Result } from '../../../shared/ipc/result.js';

/**
 * The desktop shell's own functions (`window.deaddropDesktop`, exposed by the Electron preload next
 * to `window.deaddrop`). Declared here by shape because the renderer may not import electron/;
 * absent in the browser test host, so every use is feature-detected.
 */
export type NotificationPreview = 'nameAndText' | 'nameOnly' | 'nothing';

export interface DesktopSettings {
  closeToTray: boolean;
  startMinimised: boolean;
  startAtLogin: boolean;
  notificationPreview: NotificationPreview;
  localServer: { port: number; expose: boolean } | null;
}

export interface DesktopApi {
  setUnreadCount(request: { count: number }): Promise<Result<null>>;
  setConversationOnScreen(request: { conversation: { identityId: string; contactKey: string } | null }): Promise<Result<null>>;
  setContactNames(request: { names: Record<string, string> }): Promise<Result<null>>;
  allowCamera(request: { seconds: number }): Promise<Result<{ allowedUntil: number }>>;
  getSettings(request?: Record<string, never>): Promise<Result<DesktopSettings>>;
  setSettings(request: Partial<Omit<DesktopSettings, 'localServer'>>): Promise<Result<DesktopSettings>>;
}

/** The desktop shell, or null outside the desktop app. */
export function desktopApi(): DesktopApi | null {
  return (window as Window & { deaddropDesktop?: DesktopApi }).deaddropDesktop ?? null;
}
