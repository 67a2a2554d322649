import type { BrowserWindow, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';

export interface TrayMenuActions {
  open(): void;
  setPaused(paused: boolean): void;
  quit(): void;
}

/** The tray menu: Open, Pause polling (a checkbox showing the engine's state), Quit. */
export function trayMenuTemplate(paused: boolean, actions: TrayMenuActions): MenuItemConstructorOptions[] {
  return [
    { label: 'Open Deaddrop', click: () => actions.open() },
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
