import type { MenuItemConstructorOptions } from 'electron';
import { type LockMenuState, lockMenuItems } from './trayPresenter.js';

/**
 * The application menu: Electron's standard Edit, View and Window menus (copy, paste and the rest keep
 * their shortcuts), with File holding "Lock now" (CmdOrCtrl+L, as in the window) when the profile has
 * a passphrase, and Quit (Close on macOS, whose app menu has Quit).
 */
export function appMenuTemplate(platform: NodeJS.Platform, lock: LockMenuState, onLock: () => void): MenuItemConstructorOptions[] {
  const lockItems = lockMenuItems(lock, onLock, 'CmdOrCtrl+L');
  const file: MenuItemConstructorOptions = {
    label: 'File',
    submenu: [...lockItems, ...(lockItems.length > 0 ? [{ type: 'separator' as const }] : []), platform === 'darwin' ? { role: 'close' } : { role: 'quit' }],
  };
  return [...(platform === 'darwin' ? [{ role: 'appMenu' as const }] : []), file, { role: 'editMenu' }, { role: 'viewMenu' }, { role: 'windowMenu' }];
}
