import type { BrowserWindow, Menu, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import type { ApiHandlers, EventMap, EventName } from '../../shared/ipc/contract.js';
import { createLogger } from '../../shared/log.js';
import type { CameraGate } from './cameraGate.js';
import type { DesktopShellPort } from './desktopIpc.js';
import type { ConversationRef, DesktopSettings } from '../../shared/ipc/desktopContract.js';
import type { DesktopSettingsStore } from './desktopSettings.js';
import { NotificationPlanner, type PlannedNotification } from './messageNotifications.js';
import { presentUnread, trayMenuTemplate } from './trayPresenter.js';
import { UnreadCounter } from './unreadCounter.js';

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
  showNotification(notification: PlannedNotification, onClick: () => void): void;
  setBadgeCount(count: number): boolean;
  setOpenAtLogin(open: boolean): void;
  overlayIcon: NativeImage | null;
  quit(): void;
}

export interface ShellDeps {
  electron: ShellPlatform;
  handlers: Pick<ApiHandlers, 'app/info' | 'poller/setPaused'>;
  settings: DesktopSettingsStore;
  camera: CameraGate;
}

/**
 * The desktop shell's state and behaviour: one main window (hidden, not closed, when it lives in the
 * tray), the tray menu and unread badge, message notifications, and the UI's shell messages.
 */
export class DesktopShell implements DesktopShellPort {
  private window: ShellWindow | null = null;
  private tray: ShellTray | null = null;
  private quitting = false;
  private paused = false;
  private conversationOnScreen: ConversationRef | null = null;
  private contactNames = new Map<string, string>();
  private readonly unread = new UnreadCounter();
  private readonly planner = new NotificationPlanner();

  constructor(private readonly deps: ShellDeps) {}

  /** Opens the window (hidden when starting minimised) and the tray; applies the login-item setting. */
  async start(): Promise<void> {
    const settings = this.deps.settings.get();
    this.tray = this.deps.electron.createTray();
    this.tray.on('click', () => this.showWindow());
    try {
      this.paused = (await this.deps.handlers['app/info']({})).paused;
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

  /** Forwards an engine event to the UI; new messages also drive notifications and the badge. */
  handleEngineEvent<E extends EventName>(event: E, payload: EventMap[E]): void {
    const window = this.liveWindow();
    window?.webContents.send(event, payload);
    if (event === 'inbox/batch') this.onBatch(payload as EventMap['inbox/batch']);
  }

  setUnreadCount(count: number): void {
    this.unread.report(count);
    this.presentUnread();
  }

  setConversationOnScreen(conversation: ConversationRef | null): void {
    this.conversationOnScreen = conversation;
  }

  setContactNames(names: Record<string, string>): void {
    this.contactNames = new Map(Object.entries(names));
  }

  allowCamera(seconds: number): { allowedUntil: number } {
    return { allowedUntil: this.deps.camera.allowFor(seconds) };
  }

  getSettings(): DesktopSettings {
    return this.deps.settings.get();
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
    return this.unread.count;
  }

  private onBatch(batch: EventMap['inbox/batch']): void {
    const window = this.liveWindow();
    const watching = window !== null && window.isVisible() && window.isFocused();
    const onScreen = watching ? this.conversationOnScreen : null;
    const planned = this.planner.plan(batch, {
      conversationOnScreen: onScreen,
      preview: this.deps.settings.get().notificationPreview,
      contactNames: this.contactNames,
    });
    for (const notification of planned) {
      this.deps.electron.showNotification(notification, () => this.openConversation(notification.conversation));
    }
    this.unread.addBatch(batch, onScreen);
    this.presentUnread();
  }

  /** A clicked notification: bring the window up and ask the UI to open that conversation. */
  openConversation(conversation: ConversationRef): void {
    const window = this.showWindow();
    const send = () => window.webContents.send('app/openConversation', conversation);
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

  private refreshTray(): void {
    if (!this.tray) return;
    const template = trayMenuTemplate(this.paused, {
      open: () => this.showWindow(),
      setPaused: (paused) => void this.setPaused(paused),
      quit: () => {
        this.beginQuit();
        this.deps.electron.quit();
      },
    });
    this.tray.setContextMenu(this.deps.electron.buildMenu(template));
    this.presentUnread();
  }

  private presentUnread(): void {
    if (!this.tray) return;
    presentUnread(this.unread.count, {
      platform: this.deps.electron.platform,
      tray: this.tray,
      setBadgeCount: (count) => this.deps.electron.setBadgeCount(count),
      window: () => this.liveWindow(),
      overlayIcon: this.deps.electron.overlayIcon,
    });
  }
}
