import type { BrowserWindow, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import type { AppInfo } from '../../shared/ipc/contract.js';

export interface TrayMenuActions {
  open(): void;
  setPaused(paused: boolean): void;
  quit(): void;
  lock?(): void;
}

/**
 * Whether "Lock now" is offered, and usable. `none`: the profile's keys open with the OS keyring at
 * login, so there is no passphrase to lock with and no Lock item (the screen lock protects it).
 */
export type LockMenuState = 'none' | 'unlocked' | 'locked';

export function lockMenuState(info: Pick<AppInfo, 'keyProtection' | 'locked'>): LockMenuState {
  if (info.keyProtection === 'host') return 'none';
  return info.locked ? 'locked' : 'unlocked';
}

/** The "Lock now" item of the tray and app menus (none without a passphrase; greyed out while locked). */
export function lockMenuItems(lock: LockMenuState, onLock: () => void, accelerator?: string): MenuItemConstructorOptions[] {
  if (lock === 'none') return [];
  return [{ label: 'Lock now', ...(accelerator ? { accelerator } : {}), enabled: lock === 'unlocked', click: () => onLock() }];
}

/** The tray menu: Open, Lock now (with a passphrase), Pause polling (a checkbox showing the engine's state), Quit. */
export function trayMenuTemplate(paused: boolean, actions: TrayMenuActions, lock: LockMenuState = 'none'): MenuItemConstructorOptions[] {
  return [
    { label: 'Open Deaddrop', click: () => actions.open() },
    ...lockMenuItems(lock, () => actions.lock?.()),
    {
      label: 'Pause polling',
      type: 'checkbox',
      checked: paused,
      click: (item) => actions.setPaused(item.checked),
    },
    { type: 'separator' },
    { label: 'Quit', click: () => actions.quit() },
  ];
}

export function unreadLabel(count: number): string {
  if (count <= 0) return 'Deaddrop';
  return `Deaddrop: ${count} unread message${count === 1 ? '' : 's'}`;
}

/** The pieces the unread badge touches; Electron's Tray, app and BrowserWindow satisfy them. */
export interface BadgeTargets {
  platform: NodeJS.Platform;
  tray: Pick<Tray, 'setToolTip' | 'setTitle'>;
  setBadgeCount(count: number): boolean;
  window(): Pick<BrowserWindow, 'setOverlayIcon' | 'isDestroyed'> | null;
  /** Small dot drawn over the taskbar button on Windows. */
  overlayIcon: NativeImage | null;
}

/**
 * Shows the unread count where each platform shows it: dock/launcher badge (macOS, Unity-style Linux),
 * taskbar overlay (Windows, which has no numeric badge), and tooltip + title next to the tray icon.
 */
export function presentUnread(count: number, targets: BadgeTargets): void {
  const label = unreadLabel(count);
  targets.tray.setToolTip(label);
  if (targets.platform === 'win32') {
    const window = targets.window();
    if (window && !window.isDestroyed()) window.setOverlayIcon(count > 0 ? targets.overlayIcon : null, count > 0 ? label : '');
    return;
  }
  targets.setBadgeCount(count);
  // macOS shows the title beside the menu-bar icon; many Linux trays show it as a label.
  targets.tray.setTitle(count > 0 ? String(count) : '');
}
