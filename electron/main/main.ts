/**
 * Electron main entry: profile and single-instance lock, the app scheme, the engine with its secret,
 * IPC, the window, tray and notifications. Everything with logic lives in the modules it wires.
 */
import { BrowserWindow, Menu, Notification, Tray, app, dialog, ipcMain, nativeImage, protocol, safeStorage, session, shell } from 'electron';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { capabilitiesOf } from '../../shared/ipc/channels.js';
import type { HandlerTable } from '../../shared/ipc/contract.js';
import { createLogger } from '../../shared/log.js';
import { startDropServer } from '../../server/index.js';
import { createEngine } from '../core/engine.js';
import { APP_ID } from './appIdentity.js';
import { APP_ENTRY_URL, APP_ORIGIN, APP_SCHEME, appSchemePrivileges, createAppProtocolHandler } from './appProtocol.js';
import { createCameraGate } from './cameraGate.js';
import { childProcessServerStarter } from './childDropServer.js';
import { devServerUrlFrom } from './devServer.js';
import { openDesktopSettings } from './desktopSettings.js';
import { DesktopShell } from './desktopShell.js';
import { createLinkOpener } from './externalLinks.js';
import { type AutostartTarget, setLinuxAutostart } from './linuxAutostart.js';
import { mainFrameSenderCheck, registerIpcHandlers } from './ipcBridge.js';
import { type StartServer, createLocalServerController } from './localDropServer.js';
import { appUrlMatcher, installNavigationGuard } from './navigationGuard.js';
import { installNetworkGuard } from './networkGuard.js';
import { installPermissionPolicy } from './permissionPolicy.js';
import { type ProfilePaths, profileNameFrom, profilePaths } from './profile.js';
import { createRendererRecovery } from './rendererRecovery.js';
import { chooseSecret } from './secretProvider.js';
import { recordProbe } from './testProbe.js';
import { createMainWindow } from './windowFactory.js';

const log = createLogger('main');
const bundleDir = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.join(bundleDir, '..', 'dist-renderer');
const preloadPath = path.join(bundleDir, 'preload.cjs');
const iconPath = (name: string) => path.join(bundleDir, 'icons', name);
/** Vite's dev server during `npm run dev`; never honoured in a packaged app, only on loopback. */
const devServerUrl = devServerUrlFrom(process.env.DEADDROP_DEV_SERVER_URL, app.isPackaged);
const isAppUrl = appUrlMatcher(devServerUrl ? [APP_ORIGIN, new URL(devServerUrl).origin] : [APP_ORIGIN]);

function setUpProfile(): ProfilePaths | null {
  try {
    const name = profileNameFrom(process.argv, process.env);
    const profile = profilePaths(process.env.DEADDROP_USER_DATA_DIR ?? app.getPath('userData'), name);
    // Per-profile userData: separate IndexedDB, separate single-instance lock.
    app.setPath('userData', profile.root);
    return profile;
  } catch (err) {
    dialog.showErrorBox('Deaddrop', err instanceof Error ? err.message : 'Bad command line.');
    return null;
  }
}

/** How a Linux session starts this app: the AppImage, the installed binary, or electron with the app folder. */
function linuxAutostartTarget(profileName: string): AutostartTarget {
  const command = process.env.APPIMAGE
    ? [process.env.APPIMAGE]
    : app.isPackaged
      ? [process.execPath]
      : [process.execPath, app.getAppPath()];
  return { configHome: process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), profile: profileName, command };
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
 * In-process in a packaged app (its better-sqlite3 is rebuilt for Electron). From source, npm's Node
 * runs the server instead: there the addon is built for Node's ABI and would not load in Electron.
 */
function localServerStarter(): StartServer {
  const node = process.env.npm_node_execpath;
  if (app.isPackaged || !node) return (options) => startDropServer({ ...options, logLevel: 'warn' });
  const root = app.getAppPath();
  return childProcessServerStarter({ node, serverScript: path.join(root, 'bin', 'deaddrop-server.mjs'), cwd: root });
}

async function startApp(profile: ProfilePaths): Promise<void> {
  const settings = await openDesktopSettings(profile.desktopSettingsFile);
  const secret = await chooseSecret(safeStorage, profile, process.platform);
  if (secret.mode === 'passphrase') log.info('engine starts locked', { reason: secret.reason });
  // The app's own drop server, at its loopback URL, is one the user chose: the engine may reach it
  // even with local-network servers not allowed (see the destination guard in electron/core/net).
  let localServerUrl: string | null = null;
  const localServer = createLocalServerController({
    startServer: localServerStarter(),
    dataDir: profile.dropServerDir,
    networkInterfaces: os.networkInterfaces,
    onChange: async (running) => {
      localServerUrl = running ? (await localServer.status()).url : null;
      await settings.update({ localServer: running });
    },
  });
  // Before the engine starts polling: own drops on the local server must find it listening.
  const restore = settings.get().localServer;
  if (restore) {
    await localServer.start(restore).catch((err: unknown) =>
      log.warn('could not restart the local drop server', { error: err instanceof Error ? err.message : 'unknown' }),
    );
  }
  // What main serves beyond the engine; known once the table below exists, asked for by `app/info`.
  let capabilities = capabilitiesOf([]);
  const engine = await createEngine({
    dataDir: profile.engineDir,
    secret: secret.secret,
    host: 'electron',
    capabilities: () => capabilities,
    version: app.getVersion(),
    network: { trustedServers: () => (localServerUrl ? [localServerUrl] : []) },
  });
  const openLink = createLinkOpener((url) => shell.openExternal(url));
  const camera = createCameraGate();
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
  const notifications = new Set<Notification>();
  const recovery = createRendererRecovery();
  const appIcon = nativeImage.createFromPath(iconPath('icon.png'));

  const desktop = new DesktopShell({
    handlers: engine.handlers,
    settings,
    camera,
    electron: {
      platform: process.platform,
      createWindow: (show) => {
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
      },
      createTray: () => {
        const tray = new Tray(nativeImage.createFromPath(iconPath(process.platform === 'darwin' ? 'trayTemplate.png' : 'tray.png')));
        recordProbe({ trayCreated: true });
        return tray;
      },
      buildMenu: (template) => Menu.buildFromTemplate(template),
      showNotification: (planned, onClick) => {
        recordProbe({ notification: { title: planned.title, body: planned.body } });
        if (!Notification.isSupported()) return;
        // Keep a reference until it is gone: a collected Notification loses its click handler.
        const note = new Notification({ title: planned.title, body: planned.body, icon: appIcon });
        notifications.add(note);
        note.on('click', () => {
          notifications.delete(note);
          onClick();
        });
        note.on('close', () => notifications.delete(note));
        note.show();
      },
      setBadgeCount: (count) => {
        recordProbe({ unread: count });
        return app.setBadgeCount(count);
      },
      setOpenAtLogin: (openAtLogin) => {
        if (process.platform === 'linux') {
          void setLinuxAutostart(linuxAutostartTarget(profile.name), openAtLogin).catch((err: unknown) =>
            log.warn('could not change autostart', { error: err instanceof Error ? err.message : 'unknown' }),
          );
        } else {
          app.setLoginItemSettings({ openAtLogin, args: ['--profile', profile.name] });
        }
      },
      overlayIcon: nativeImage.createFromPath(iconPath('overlay.png')),
      quit: () => app.quit(),
    },
  });

  // One table for every channel: the engine's, the shell's, links and the local drop server.
  const table: HandlerTable = {
    ...engine.handlers,
    'poller/setPaused': async (request) => {
      const answer = await engine.handlers['poller/setPaused'](request);
      desktop.reflectPaused(answer.paused);
      return answer;
    },
    ...desktop.handlers(),
    'links/open': openLink,
    'localServer/status': () => localServer.status(),
    'localServer/start': (request) => localServer.start(request),
    'localServer/stop': () => localServer.stop(),
  };
  capabilities = capabilitiesOf(Object.keys(table));
  const removeIpc = registerIpcHandlers(ipcMain, table, { isTrustedSender });
  const unsubscribe = engine.subscribe((event) => desktop.forward(event));

  app.on('second-instance', () => desktop.showWindow());
  app.on('activate', () => desktop.showWindow());
  app.on('before-quit', () => desktop.beginQuit());
  app.on('window-all-closed', () => app.quit());
  let stopped = false;
  app.on('will-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    stopped = true;
    unsubscribe();
    removeIpc();
    void Promise.allSettled([localServer.close(), engine.close()]).finally(() => app.quit());
  });
  await desktop.start();
}

const profile = setUpProfile();
if (process.platform === 'win32') app.setAppUserModelId(APP_ID);
if (profile === null) {
  app.exit(2);
} else {
  protocol.registerSchemesAsPrivileged([appSchemePrivileges]);
  if (!app.requestSingleInstanceLock()) {
    // Another window of this profile is running: it gets a `second-instance` event and shows itself.
    app.quit();
  } else {
    app
      .whenReady()
      .then(() => startApp(profile))
      .catch((err: unknown) => {
        log.error('startup failed', { error: err instanceof Error ? err.message : 'unknown' });
        dialog.showErrorBox('Deaddrop could not start', err instanceof Error ? err.message : 'Unknown error.');
        app.exit(1);
      });
  }
}
