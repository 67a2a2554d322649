/**
 * Electron main entry: profile and single-instance lock, then the shell's parts in order. Everything
 * with logic lives in the modules it wires.
 */
import { BrowserWindow, app, dialog, ipcMain, protocol } from 'electron';
import { fileSaving } from './fileSaving.js';
import { capabilitiesOf } from '../../shared/ipc/channels.js';
import { createLogger } from '../../shared/log.js';
import { APP_ID } from './appIdentity.js';
import { installAppLifecycle } from './appLifecycle.js';
import { appSchemePrivileges } from './appProtocol.js';
import { installAppWindows } from './appWindow.js';
import { createCameraGate } from './cameraGate.js';
import { startDesktopEngine } from './desktopEngine.js';
import { openDesktopSettings } from './desktopSettings.js';
import { DesktopShell } from './desktopShell.js';
import { debugLogExport, installLogFile } from './debugLog.js';
import { registerIpcHandlers } from './ipcBridge.js';
import { launchLocalServer } from './localServerLaunch.js';
import { mainHandlerTable } from './mainHandlers.js';
import type { ProfilePaths } from './profile.js';
import type { RotatingLogFile } from './rotatingLogFile.js';
import { profileSecret, setUpProfile } from './profileSetup.js';
import { electronShellPlatform } from './shellPlatform.js';

const log = createLogger('main');

async function startApp(profile: ProfilePaths, logFile: RotatingLogFile): Promise<void> {
  // Marks where a run begins in the log file, which keeps the runs before it.
  log.info('Deaddrop starts', { version: app.getVersion(), platform: process.platform, arch: process.arch });
  const settings = await openDesktopSettings(profile.desktopSettingsFile);
  const secret = await profileSecret(profile);
  const localServer = await launchLocalServer(profile, settings);
  // What main serves beyond the engine; known once the table below exists, asked for by `app/info`.
  let capabilities = capabilitiesOf([]);
  const engine = await startDesktopEngine(profile, secret, { capabilities: () => capabilities, trustedServers: localServer.trustedServers });
  const camera = createCameraGate();
  const windows = installAppWindows(camera);
  const desktop = new DesktopShell({ handlers: engine.handlers, settings, camera, electron: electronShellPlatform(profile, windows.createWindow) });

  const debugLog = debugLogExport(logFile, { version: app.getVersion(), platform: process.platform, arch: process.arch });
  const saving = fileSaving(engine, {
    choose: async (defaultPath) => {
      const parent = BrowserWindow.getFocusedWindow();
      const answer = parent ? await dialog.showSaveDialog(parent, { defaultPath }) : await dialog.showSaveDialog({ defaultPath });
      return answer.canceled || !answer.filePath ? null : answer.filePath;
    },
    defaultFolder: () => app.getPath('downloads'),
  });
  const table = mainHandlerTable({ engine, desktop, openLink: windows.openLink, localServer: localServer.controller, debugLog, fileSaving: saving });
  capabilities = capabilitiesOf(Object.keys(table));
  const removeIpc = registerIpcHandlers(ipcMain, table, { isTrustedSender: windows.isTrustedSender });
  const unsubscribe = engine.subscribe((event) => desktop.forward(event));
  installAppLifecycle(desktop, () => {
    unsubscribe();
    removeIpc();
    // The log file last, so it keeps what the engine and the server said while they stopped.
    return Promise.allSettled([localServer.controller.close(), engine.close()]).then(() => logFile.close());
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
    const logFile = installLogFile({ dir: profile.logDir });
    app
      .whenReady()
      .then(() => startApp(profile, logFile))
      .catch(async (err: unknown) => {
        log.error('startup failed', { error: err instanceof Error ? err.message : 'unknown' });
        dialog.showErrorBox('Deaddrop could not start', err instanceof Error ? err.message : 'Unknown error.');
        await logFile.close();
        app.exit(1);
      });
  }
}
