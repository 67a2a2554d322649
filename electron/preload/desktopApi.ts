import { type Result } from '../../shared/ipc/result.js';
import { type PreloadIpc, invokeResult } from './preloadApi.js';

/**
 * The shell's own channels (tray count, conversation on screen, contact names for notifications,
 * camera gate, desktop settings). They mirror `desktopChannels` in electron/main/desktopIpc.ts, which
 * the preload may not import; test/electron checks that both lists are equal.
 */
export const desktopChannelNames = {
  setUnreadCount: 'ui/unread',
  setConversationOnScreen: 'ui/conversationOnScreen',
  setContactNames: 'ui/contactNames',
  allowCamera: 'camera/allow',
  getSettings: 'desktop/getSettings',
  setSettings: 'desktop/setSettings',
} as const;

export type NotificationPreview = 'nameAndText' | 'nameOnly' | 'nothing';
export interface DesktopSettings {
  closeToTray: boolean;
  startMinimised: boolean;
  startAtLogin: boolean;
  notificationPreview: NotificationPreview;
  /** Read-only here: follows `localServer/start|stop`. */
  localServer: { port: number; expose: boolean } | null;
}
export interface ConversationRef {
  identityId: string;
  contactKey: string;
}

/** `window.deaddropDesktop`: present only in the desktop app; the UI feature-detects it. */
export interface DesktopApi {
  setUnreadCount(request: { count: number }): Promise<Result<null>>;
  setConversationOnScreen(request: { conversation: ConversationRef | null }): Promise<Result<null>>;
  setContactNames(request: { names: Record<string, string> }): Promise<Result<null>>;
  allowCamera(request: { seconds: number }): Promise<Result<{ allowedUntil: number }>>;
  getSettings(request?: Record<string, never>): Promise<Result<DesktopSettings>>;
  setSettings(request: Partial<Omit<DesktopSettings, 'localServer'>>): Promise<Result<DesktopSettings>>;
}

export function buildDesktopApi(ipc: PreloadIpc): DesktopApi {
  const api: Record<string, unknown> = {};
  for (const [method, channel] of Object.entries(desktopChannelNames)) {
    api[method] = (request: unknown) => invokeResult(ipc, channel, request ?? {});
  }
  return Object.freeze(api) as unknown as DesktopApi;
}
