import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { z } from 'zod';
import { type Result, fail, ok } from '../../shared/ipc/result.js';
import type { SenderCheck } from './ipcBridge.js';
import { type DesktopSettings, uiSettableSettingsSchema } from './desktopSettings.js';
import type { ConversationRef } from './messageNotifications.js';

/**
 * Messages between the UI and the desktop shell only (not part of the engine contract: the browser
 * host has no tray, notifications or camera gate). The preload exposes them as `window.deaddropDesktop`
 * and spells the same names; test/electron checks both lists match.
 */
export const desktopChannels = {
  setUnreadCount: 'ui/unread',
  setConversationOnScreen: 'ui/conversationOnScreen',
  setContactNames: 'ui/contactNames',
  allowCamera: 'camera/allow',
  getSettings: 'desktop/getSettings',
  setSettings: 'desktop/setSettings',
} as const;
export type DesktopMethod = keyof typeof desktopChannels;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const conversationSchema = z.object({ identityId: z.string().min(1).max(128), contactKey: hex64 });

export const desktopRequestSchemas = {
  setUnreadCount: z.object({ count: z.number().int().min(0).max(1_000_000) }),
  setConversationOnScreen: z.object({ conversation: conversationSchema.nullable() }),
  /** Contact names by public key, so notifications can use the name the user gave. */
  setContactNames: z.object({ names: z.record(hex64, z.string().max(128)).refine((r) => Object.keys(r).length <= 10_000) }),
  /** Seconds the camera may be opened (the QR scanner is showing); 0 closes the gate. */
  allowCamera: z.object({ seconds: z.number().int().min(0).max(300) }),
  getSettings: z.object({}),
  setSettings: uiSettableSettingsSchema.strict(),
} satisfies Record<DesktopMethod, z.ZodType>;

/** What the shell does with those messages. */
export interface DesktopShellPort {
  setUnreadCount(count: number): void;
  setConversationOnScreen(conversation: ConversationRef | null): void;
  setContactNames(names: Record<string, string>): void;
  allowCamera(seconds: number): { allowedUntil: number };
  getSettings(): DesktopSettings;
  setSettings(patch: Partial<DesktopSettings>): Promise<DesktopSettings>;
}

async function runDesktopMethod(port: DesktopShellPort, method: DesktopMethod, request: unknown): Promise<Result<unknown>> {
  const parsed = desktopRequestSchemas[method].safeParse(request ?? {});
  if (!parsed.success) return fail('invalid_request', `Invalid request for ${desktopChannels[method]}.`);
  const data = parsed.data as Record<string, unknown>;
  switch (method) {
    case 'setUnreadCount':
      port.setUnreadCount(data.count as number);
      return ok(null);
    case 'setConversationOnScreen':
      port.setConversationOnScreen(data.conversation as ConversationRef | null);
      return ok(null);
    case 'setContactNames':
      port.setContactNames(data.names as Record<string, string>);
      return ok(null);
    case 'allowCamera':
      return ok(port.allowCamera(data.seconds as number));
    case 'getSettings':
      return ok(port.getSettings());
    case 'setSettings':
      return ok(await port.setSettings(data as Partial<DesktopSettings>));
  }
}

/** Registers the shell's own channels with the same sender check and Result shape as the engine's. */
export function registerDesktopIpc(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  port: DesktopShellPort,
  isTrustedSender: SenderCheck,
): () => void {
  const methods = Object.keys(desktopChannels) as DesktopMethod[];
  for (const method of methods) {
    ipcMain.handle(desktopChannels[method], async (event: IpcMainInvokeEvent, request: unknown) => {
      if (!isTrustedSender(event.senderFrame)) return fail('invalid_request', 'This window may not call the shell.');
      try {
        return await runDesktopMethod(port, method, request);
      } catch {
        return fail('internal', `${desktopChannels[method]} failed.`);
      }
    });
  }
  return () => {
    for (const method of methods) ipcMain.removeHandler(desktopChannels[method]);
  };
}
