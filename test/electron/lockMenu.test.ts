/**
 * "Lock now" in the tray and the application menu, with the desktop shell driving a real engine:
 * offered only for a profile with a passphrase, usable only while unlocked, and a click locks the
 * engine and tells the window.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import { afterEach, describe, expect, it } from 'vitest';
import { createCameraGate } from '../../electron/main/cameraGate.js';
import { openDesktopSettings } from '../../electron/main/desktopSettings.js';
import { DesktopShell, type ShellWindow } from '../../electron/main/desktopShell.js';
import { type TestEngine, removeDir, startTestEngine } from '../engine/helpers/testEngine.js';
import { waitFor } from '../engine/helpers/waitFor.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function shellFor(engine: TestEngine) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-lock-menu-'));
  const menus = { tray: [] as MenuItemConstructorOptions[], app: [] as MenuItemConstructorOptions[] };
  const sent: string[] = [];
  const window = {
    show: () => undefined, hide: () => undefined, focus: () => undefined, restore: () => undefined,
    isMinimized: () => false, isVisible: () => true, isFocused: () => true, isDestroyed: () => false,
    on: () => undefined, setOverlayIcon: () => undefined,
    webContents: { send: (channel: string) => void sent.push(channel), isLoading: () => false, once: () => undefined },
  };
  const shell = new DesktopShell({
    handlers: engine.engine.handlers,
    settings: await openDesktopSettings(path.join(dir, 'desktop-settings.json')),
    camera: createCameraGate(),
    electron: {
      platform: 'linux',
      createWindow: () => window as unknown as ShellWindow,
      createTray: () => ({ setToolTip: () => undefined, setTitle: () => undefined, setContextMenu: (menu: unknown) => void (menus.tray = menu as never), on: () => undefined }) as never,
      buildMenu: (template) => template as never,
      setApplicationMenu: (menu) => void (menus.app = menu as never),
      showNotification: () => undefined,
      setBadgeCount: () => true,
      setOpenAtLogin: () => undefined,
      overlayIcon: null,
      quit: () => undefined,
    },
  });
  const unsubscribe = engine.engine.subscribe((event) => shell.forward(event));
  cleanups.push(async () => {
    unsubscribe();
    await engine.close();
    removeDir(engine.dataDir);
    await rm(dir, { recursive: true, force: true });
  });
  await shell.start();
  const trayLock = () => menus.tray.find((item) => item.label === 'Lock now');
  const appLock = () => (menus.app.find((item) => item.label === 'File')?.submenu as MenuItemConstructorOptions[]).find((item) => item.label === 'Lock now');
  return { shell, menus, sent, trayLock, appLock };
}

describe('Lock now in the tray and the app menu', () => {
  it('locks a passphrase profile from the tray, tells the window, and is greyed out until unlocked', async () => {
    const engine = await startTestEngine({ secret: null, autoPoll: false });
    const { sent, trayLock, appLock } = await shellFor(engine);
    expect(trayLock()).toMatchObject({ enabled: false });
    await engine.call('app/unlock', { passphrase: 'a long enough passphrase' });
    await waitFor(() => trayLock()?.enabled === true, 'Lock now usable once unlocked');
    expect(appLock()).toMatchObject({ enabled: true, accelerator: 'CmdOrCtrl+L' });

    (trayLock()!.click as () => void)();
    await waitFor(() => trayLock()?.enabled === false, 'Lock now greyed out once locked');
    expect(await engine.call('app/info', {})).toMatchObject({ locked: true });
    expect(sent).toContain('app/locked');
    expect(appLock()).toMatchObject({ enabled: false });

    await engine.call('app/unlock', { passphrase: 'a long enough passphrase' });
    await waitFor(() => appLock()?.enabled === true, 'usable again after unlock');
    (appLock()!.click as () => void)();
    await waitFor(async () => (await engine.call('app/info', {})).locked, 'the app menu locks too');
  });

  it('offers no Lock for a profile the OS keyring opens, but keeps the standard menus', async () => {
    const engine = await startTestEngine({ autoPoll: false });
    const { menus, trayLock, appLock } = await shellFor(engine);
    expect(trayLock()).toBeUndefined();
    expect(appLock()).toBeUndefined();
    expect(menus.tray.map((item) => item.label ?? item.type)).toEqual(['Open Deaddrop', 'Pause polling', 'separator', 'Quit']);
    expect(menus.app.map((item) => item.label ?? item.role)).toEqual(['File', 'editMenu', 'viewMenu', 'windowMenu']);
  });
});
