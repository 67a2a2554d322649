import type { BrowserWindow, Menu, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import type { ApiHandlers, AppEvent, ConversationRef, DesktopSettings, HostHandlers, ParsedRequestOf } from '../../shared/ipc/contract.js';
import { createLogger } from '../../shared/log.js';
import { flattenUnsafe } from '../../shared/text/untrustedText.js';
import type { CameraGate } from './cameraGate.js';
import type { DesktopSettingsStore } from './desktopSettings.js';
import { appMenuTemplate } from './appMenu.js';
import { type LockMenuState, lockMenuState, presentUnread, trayMenuTemplate } from './trayPresenter.js';

const log = createLogger('shell');

/** The window calls the shell makes; Electron's BrowserWindow satisfies it. */
export type ShellWindow = Pick<
  BrowserWindow,
  'show' | 'hide' | 'focus' | 'restore' | 'isMinimized' | 'isVisible' | 'isFocused' | 'isDestroyed' | 'on' | 'setOverlayIcon'
> & { webContents: Pick<BrowserWindow['webContents'], 'send' | 'isLoading' | 'once'> };

export type ShellTray = Pick<Tray, 'setToolTip' | 'setTitle' | 'setContextMenu' | 'on'>;

/** Electron's side of the shell, injected so the shell runs under Node with fakes. */
export interface ShellPlatform {
  platform: NodeJS.Platform;
  /** Creates the main window (factory + guards); `show` false starts it hidden in the tray. */
  createWindow(show: boolean): ShellWindow;
  createTray(): ShellTray;
  buildMenu(template: MenuItemConstructorOptions[]): Menu;
  /** Electron's `Menu.setApplicationMenu`. */
  setApplicationMenu(menu: Menu): void;
  showNotification(notification: ShellNotification, onClick: () => void): void;
  setBadgeCount(count: number): boolean;
  setOpenAtLogin(open: boolean): void;
  overlayIcon: NativeImage | null;
  quit(): void;
}

/** A notification as the OS shows it: one line of plain text each. */
export interface ShellNotification {
  title: string;
  body: string;
}

/** The channels the shell itself serves (main adds links and the local drop server). */
export type ShellHandlers = Pick<HostHandlers, 'notifications/show' | 'unread/set' | 'camera/allow' | 'desktop/getSettings' | 'desktop/setSettings'>;

export interface ShellDeps {
  electron: ShellPlatform;
  handlers: Pick<ApiHandlers, 'app/info' | 'poller/setPaused' | 'app/lock'>;
  settings: DesktopSettingsStore;
  camera: CameraGate;
}

/**
 * The desktop shell's state and behaviour: one main window (hidden, not closed, when it lives in the
 * tray), the tray menu and unread badge, and notifications. It decides nothing about messages: the UI
 * owns them and says what to notify and what the unread count is (DESIGN.md, "Who owns which state").
 */
export class DesktopShell {
  private window: ShellWindow | null = null;
  private tray: ShellTray | null = null;
  private quitting = false;
  private paused = false;
  private unread = 0;
  private lock: LockMenuState = 'none';

  constructor(private readonly deps: ShellDeps) {}

  /** Opens the window (hidden when starting minimised) and the tray; applies the login-item setting. */
  async start(): Promise<void> {
    const settings = this.deps.settings.get();
    this.tray = this.deps.electron.createTray();
    this.tray.on('click', () => this.showWindow());
    try {
      const info = await this.deps.handlers['app/info']({});
      this.paused = info.paused;
      this.lock = lockMenuState(info);
    } catch {
      this.paused = false;
    }
    this.refreshTray();
    this.deps.electron.setOpenAtLogin(settings.startAtLogin);
    this.ensureWindow(!settings.startMinimised);
  }

  /** Marks the app as quitting, so closing the window no longer hides it. */
  beginQuit(): void {
    this.quitting = true;
  }

  /** Shows, restores and focuses the window; a second launch and the tray land here. */
  showWindow(): ShellWindow {
    const window = this.ensureWindow(true);
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
    return window;
  }

  /** Forwards an event to the UI; locking and unlocking (which announces the identities) also update Lock now. */
  forward({ event, payload }: AppEvent): void {
    this.liveWindow()?.webContents.send(event, payload);
    if (event === 'app/locked') this.reflectLock(lockMenuState(payload));
    if (event === 'identities/changed') void this.refreshLock();
  }

  /** "Lock now" from the tray or the app menu: the engine locks and tells the UI (`app/locked`). */
  async lockNow(): Promise<void> {
    try {
      this.reflectLock(lockMenuState(await this.deps.handlers['app/lock']({})));
    } catch (err) {
      log.warn('could not lock', { error: err instanceof Error ? err.message : 'unknown' });
    }
  }

  /** The channels the shell serves, for main's IPC table. */
  handlers(): ShellHandlers {
    return {
      'notifications/show': async (request) => {
        this.showNotification(request);
        return null;
      },
      'unread/set': async ({ count }) => {
        this.setUnreadCount(count);
        return null;
      },
      'camera/allow': async ({ seconds }) => ({ allowedUntil: this.deps.camera.allowFor(seconds) }),
      'desktop/getSettings': async () => this.deps.settings.get(),
      'desktop/setSettings': (patch) => this.setSettings(patch),
    };
  }

  /**
   * Shows what the UI composed. Its text comes from strangers in part (names, messages): control and
   * bidi characters could reorder or fake lines in what the OS shows, so they go once more here.
   */
  showNotification({ title, body, conversation }: ParsedRequestOf<'notifications/show'>): void {
    const shown = { title: flattenUnsafe(title) || 'Deaddrop', body: flattenUnsafe(body) };
    this.deps.electron.showNotification(shown, () => (conversation ? this.openConversation(conversation) : this.showWindow()));
  }

  setUnreadCount(count: number): void {
    this.unread = Math.max(0, Math.floor(count));
    this.presentUnread();
  }

  async setSettings(patch: Partial<DesktopSettings>): Promise<DesktopSettings> {
    const next = await this.deps.settings.update(patch);
    if (patch.startAtLogin !== undefined) this.deps.electron.setOpenAtLogin(next.startAtLogin);
    return next;
  }

  /** Keeps the tray's "Pause polling" tick in step when the UI pauses or resumes. */
  reflectPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    this.refreshTray();
  }

  get unreadCount(): number {
    return this.unread;
  }

  /** A clicked notification: bring the window up and ask the UI to open that conversation. */
  openConversation(conversation: ConversationRef): void {
    const window = this.showWindow();
    const send = () => this.forward({ event: 'app/openConversation', payload: conversation });
    if (window.webContents.isLoading()) window.webContents.once('did-finish-load', send);
    else send();
  }

  private ensureWindow(show: boolean): ShellWindow {
    const existing = this.liveWindow();
    if (existing) return existing;
    const window = this.deps.electron.createWindow(show);
    window.on('close', (event) => {
      if (!this.quitting && this.deps.settings.get().closeToTray) {
        event.preventDefault();
        window.hide();
      }
    });
    window.on('closed', () => {
      if (this.window === window) this.window = null;
    });
    this.window = window;
    return window;
  }

  private liveWindow(): ShellWindow | null {
    return this.window && !this.window.isDestroyed() ? this.window : null;
  }

  private async setPaused(paused: boolean): Promise<void> {
    try {
      this.reflectPaused((await this.deps.handlers['poller/setPaused']({ paused })).paused);
      return;
    } catch (err) {
      log.warn('could not change polling', { error: err instanceof Error ? err.message : 'unknown' });
    }
    this.refreshTray();
  }

  private async refreshLock(): Promise<void> {
    try {
      this.reflectLock(lockMenuState(await this.deps.handlers['app/info']({})));
    } catch {
      // The menus keep their last state; the next lock or unlock refreshes them.
    }
  }

  private reflectLock(lock: LockMenuState): void {
    if (lock === this.lock) return;
    this.lock = lock;
    this.refreshTray();
  }

  private refreshTray(): void {
    if (!this.tray) return;
    const template = trayMenuTemplate(
      this.paused,
      {
        open: () => this.showWindow(),
        setPaused: (paused) => void this.setPaused(paused),
        quit: () => {
          this.beginQuit();
          this.deps.electron.quit();
        },
        lock: () => void this.lockNow(),
      },
      this.lock,
    );
    this.tray.setContextMenu(this.deps.electron.buildMenu(template));
    this.deps.electron.setApplicationMenu(this.deps.electron.buildMenu(appMenuTemplate(this.deps.electron.platform, this.lock, () => void this.lockNow())));
    this.presentUnread();
  }

  private presentUnread(): void {
    if (!this.tray) return;
    presentUnread(this.unread, {
      platform: this.deps.electron.platform,
      tray: this.tray,
      setBadgeCount: (count) => this.deps.electron.setBadgeCount(count),
      window: () => this.liveWindow(),
      overlayIcon: this.deps.electron.overlayIcon,
    });
  }
}
