import { BrowserWindow, app, dialog, protocol, session, shell } from 'electron';
import { readFile } from 'node:fs/promises';
import { createLogger } from '../../shared/log.js';
import { APP_ENTRY_URL, APP_ORIGIN, APP_SCHEME, createAppProtocolHandler } from './appProtocol.js';
import { iconPath, preloadPath, rendererDir } from './bundlePaths.js';
import type { CameraGate } from './cameraGate.js';
import { devServerUrlFrom } from './devServer.js';
import { createLinkOpener } from './externalLinks.js';
import { type SenderCheck, mainFrameSenderCheck } from './ipcBridge.js';
import { appUrlMatcher, installNavigationGuard } from './navigationGuard.js';
import { installNetworkGuard } from './networkGuard.js';
import { installPermissionPolicy } from './permissionPolicy.js';
import { createRendererRecovery } from './rendererRecovery.js';
import { createMainWindow } from './windowFactory.js';

const log = createLogger('main');

/** The window side of the shell once the app scheme and the session's guards are in place. */
export interface AppWindows {
  /** Creates the main window and loads the UI; `show` false starts it hidden in the tray. */
  createWindow(show: boolean): BrowserWindow;
  /** Whether an IPC call comes from our window's main frame showing the UI. */
  isTrustedSender: SenderCheck;
  /** Opens an http(s) link in the system browser after re-parsing it (`links/open`). */
  openLink: ReturnType<typeof createLinkOpener>;
}

/** Native confirmation when the UI asks for the camera without opening the gate first. */
async function confirmCameraUse(parent: BrowserWindow | null): Promise<boolean> {
  const options = {
    type: 'question' as const,
    buttons: ['Allow', 'Deny'],
    defaultId: 1,
    cancelId: 1,
    message: 'Use the camera to scan a QR code?',
    detail: 'Deaddrop uses the camera only while the QR scanner is open.',
  };
  const answer = parent ? await dialog.showMessageBox(parent, options) : await dialog.showMessageBox(options);
  return answer.response === 0;
}

/**
 * Serves the UI from the app scheme and installs the guards (network, permissions, navigation) before
 * any window exists. Vite's dev server during `npm run dev` is honoured only unpackaged and on loopback.
 */
export function installAppWindows(camera: CameraGate): AppWindows {
  const devServerUrl = devServerUrlFrom(process.env.DEADDROP_DEV_SERVER_URL, app.isPackaged);
  const isAppUrl = appUrlMatcher(devServerUrl ? [APP_ORIGIN, new URL(devServerUrl).origin] : [APP_ORIGIN]);
  const openLink = createLinkOpener((url) => shell.openExternal(url));
  protocol.handle(APP_SCHEME, createAppProtocolHandler(rendererDir, (file) => readFile(file)));
  let mainWindow: BrowserWindow | null = null;
  installNetworkGuard(session.defaultSession, devServerUrl ? new URL(devServerUrl).origin : null);
  installPermissionPolicy(session.defaultSession, {
    isAppUrl,
    camera,
    confirmCamera: () => confirmCameraUse(mainWindow),
  });
  const isTrustedSender = mainFrameSenderCheck(() => mainWindow?.webContents.mainFrame ?? null, isAppUrl);
  // Every web contents, not only our window's: nothing may navigate away, open windows or embed webviews.
  app.on('web-contents-created', (_event, contents) =>
    installNavigationGuard(contents, { isAppUrl, openExternal: (url) => void openLink({ url }).catch(() => undefined) }),
  );
  const recovery = createRendererRecovery();

  const createWindow = (show: boolean): BrowserWindow => {
    const window = createMainWindow(BrowserWindow, { preloadPath, show, icon: iconPath('icon.png') });
    window.on('closed', () => {
      if (mainWindow === window) mainWindow = null;
    });
    window.webContents.on('render-process-gone', (_event, details) => {
      log.warn('the UI process ended', { reason: details.reason });
      if (recovery.shouldReload(details.reason) && !window.isDestroyed()) window.reload();
    });
    mainWindow = window;
    window.loadURL(devServerUrl ?? APP_ENTRY_URL).catch((err: unknown) =>
      log.error('could not load the UI', { error: err instanceof Error ? err.message : 'unknown' }),
    );
    return window;
  };
  return { createWindow, isTrustedSender, openLink };
}
