import { Menu, Notification, Tray, app, nativeImage } from 'electron';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../shared/log.js';
import { iconPath } from './bundlePaths.js';
import type { ShellPlatform, ShellWindow } from './desktopShell.js';
import { type AutostartTarget, setLinuxAutostart } from './linuxAutostart.js';
import type { ProfilePaths } from './profile.js';
import { recordProbe } from './testProbe.js';

const log = createLogger('main');

/** How a Linux session starts this app: the AppImage, the installed binary, or electron with the app folder. */
function linuxAutostartTarget(profileName: string): AutostartTarget {
  const command = process.env.APPIMAGE
    ? [process.env.APPIMAGE]
    : app.isPackaged
      ? [process.execPath]
      : [process.execPath, app.getAppPath()];
  return { configHome: process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), profile: profileName, command };
}

/** Start at login for this profile: an autostart entry on Linux, the OS login item elsewhere. */
function setOpenAtLogin(profile: ProfilePaths, openAtLogin: boolean): void {
  if (process.platform === 'linux') {
    void setLinuxAutostart(linuxAutostartTarget(profile.name), openAtLogin).catch((err: unknown) =>
      log.warn('could not change autostart', { error: err instanceof Error ? err.message : 'unknown' }),
    );
  } else {
    app.setLoginItemSettings({ openAtLogin, args: ['--profile', profile.name] });
  }
}

/** Electron's side of the desktop shell: the tray, its menu, notifications, the badge and login items. */
export function electronShellPlatform(profile: ProfilePaths, createWindow: (show: boolean) => ShellWindow): ShellPlatform {
  // Keep a reference until it is gone: a collected Notification loses its click handler.
  const notifications = new Set<Notification>();
  const appIcon = nativeImage.createFromPath(iconPath('icon.png'));
  return {
    platform: process.platform,
    createWindow,
    createTray: () => {
      const tray = new Tray(nativeImage.createFromPath(iconPath(process.platform === 'darwin' ? 'trayTemplate.png' : 'tray.png')));
      recordProbe({ trayCreated: true });
      return tray;
    },
    buildMenu: (template) => Menu.buildFromTemplate(template),
    setApplicationMenu: (menu) => Menu.setApplicationMenu(menu),
    showNotification: (planned, onClick) => {
      recordProbe({ notification: { title: planned.title, body: planned.body } });
      if (!Notification.isSupported()) return;
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
    setOpenAtLogin: (openAtLogin) => setOpenAtLogin(profile, openAtLogin),
    overlayIcon: nativeImage.createFromPath(iconPath('overlay.png')),
    quit: () => app.quit(),
  };
}
