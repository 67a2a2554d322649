import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import {
  type ConversationRef,
  type DesktopMethod,
  type DesktopSettings,
  desktopChannels,
  desktopRequestSchemas,
} from '../../shared/ipc/desktopContract.js';
import { type Result, fail, ok } from '../../shared/ipc/result.js';
import { DEFAULT_IPC_TIMEOUT_MS, type SenderCheck, withTimeout } from './ipcBridge.js';

/** What the shell does with the desktop contract's messages (shared/ipc/desktopContract.ts). */
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

/**
 * Registers the shell's own channels with the same sender check, Result shape and timeout as the
 * engine's (a settings write or a login-item change stuck in the OS must not hang the UI).
 */
export function registerDesktopIpc(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  port: DesktopShellPort,
  isTrustedSender: SenderCheck,
  timeoutMs = DEFAULT_IPC_TIMEOUT_MS,
): () => void {
  const methods = Object.keys(desktopChannels) as DesktopMethod[];
  for (const method of methods) {
    const channel = desktopChannels[method];
    ipcMain.handle(channel, (event: IpcMainInvokeEvent, request: unknown) => {
      if (!isTrustedSender(event.senderFrame)) return fail('invalid_request', 'This window may not call the shell.');
      return withTimeout(runDesktopMethod(port, method, request), timeoutMs, channel);
    });
  }
  return () => {
    for (const method of methods) ipcMain.removeHandler(desktopChannels[method]);
  };
}
