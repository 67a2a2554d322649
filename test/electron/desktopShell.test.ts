import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventMap, IncomingMessage } from '../../shared/ipc/contract.js';
import { capabilitiesOf } from '../../shared/ipc/channels.js';
import { dispatch } from '../../shared/ipc/dispatch.js';
import { createCameraGate } from '../../electron/main/cameraGate.js';
import { type DesktopSettingsStore, openDesktopSettings } from '../../electron/main/desktopSettings.js';
import { DesktopShell, type ShellPlatform, type ShellWindow } from '../../electron/main/desktopShell.js';

const alice = 'a'.repeat(64);

class FakeWindow extends EventEmitter {
  visible: boolean;
  focused: boolean;
  destroyed = false;
  loading = false;
  readonly sent: [string, unknown][] = [];
  readonly webContents = {
    send: (channel: string, payload: unknown) => this.sent.push([channel, payload]),
    isLoading: () => this.loading,
    once: (name: string, listener: () => void) => this.once(`contents:${name}`, listener),
  };
  constructor(show: boolean) {
    super();
    this.visible = show;
    this.focused = show;
  }
  show = () => {
    this.visible = true;
  };
  hide = () => {
    this.visible = false;
    this.focused = false;
  };
  focus = () => {
    this.focused = true;
  };
  restore = () => undefined;
  isMinimized = () => false;
  isVisible = () => this.visible;
  isFocused = () => this.focused;
  isDestroyed = () => this.destroyed;
  setOverlayIcon = () => undefined;
  /** Emits `close` like Electron and tells whether the shell prevented it. */
  tryClose(): boolean {
    let prevented = false;
    this.emit('close', { preventDefault: () => (prevented = true) });
    if (!prevented) {
      this.destroyed = true;
      this.emit('closed');
    }
    return !prevented;
  }
}

interface Harness {
  shell: DesktopShell;
  windows: FakeWindow[];
  notifications: { title: string; body: string; click: () => void }[];
  tray: { tooltip: string; menu: unknown; clicks: (() => void)[] };
  loginItem: boolean[];
  pausedCalls: boolean[];
  settings: DesktopSettingsStore;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-shell-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function harness(): Promise<Harness> {
  const windows: FakeWindow[] = [];
  const notifications: Harness['notifications'] = [];
  const tray = { tooltip: '', menu: null as unknown, clicks: [] as (() => void)[] };
  const loginItem: boolean[] = [];
  const pausedCalls: boolean[] = [];
  const settings = await openDesktopSettings(path.join(dir, 'desktop-settings.json'));
  const electron: ShellPlatform = {
    platform: 'linux',
    createWindow: (show) => {
      const window = new FakeWindow(show);
      windows.push(window);
      return window as unknown as ShellWindow;
    },
    createTray: () =>
      ({
        setToolTip: (text: string) => (tray.tooltip = text),
        setTitle: () => undefined,
        setContextMenu: (menu: unknown) => (tray.menu = menu),
        on: (_name: string, listener: () => void) => tray.clicks.push(listener),
      }) as never,
    buildMenu: (template) => template as never,
    setApplicationMenu: () => undefined,
    showNotification: (n, click) => notifications.push({ title: n.title, body: n.body, click }),
    setBadgeCount: () => true,
    setOpenAtLogin: (open) => loginItem.push(open),
    overlayIcon: null,
    quit: () => undefined,
  };
  const shell = new DesktopShell({
    electron,
    settings,
    camera: createCameraGate(),
    handlers: {
      'app/info': async () => ({ version: '0', host: 'electron', paused: false, locked: false, keyProtection: 'host', capabilities: capabilitiesOf([]) }),
      'poller/setPaused': async ({ paused }) => {
        pausedCalls.push(paused);
        return { paused };
      },
      'app/lock': async () => {
        throw new Error('this profile has no passphrase');
      },
    },
  });
  return { shell, windows, notifications, tray, loginItem, pausedCalls, settings };
}

function incoming(dedupeKey: string, senderKey = alice): IncomingMessage {
  return {
    dedupeKey, identityId: 'me', senderKey, type: 'box_message', payload: '{}', content: { type: 'box_message', msg: 'hi', part: null }, text: 'hi', share: null, part: null,
    acknowledgeId: '0', meta: { alias: 'Alice' }, sentAt: 1, receivedAt: 1, dropUrl: 'http://127.0.0.1/d',
  };
}
const batch = (...messages: IncomingMessage[]): EventMap['inbox/batch'] => ({ batchId: 'b', messages, receipts: [] });

describe('desktop shell', () => {
  it('starts with a window and a tray, and hides the window on close when it lives in the tray', async () => {
    const h = await harness();
    await h.shell.start();
    expect(h.windows).toHaveLength(1);
    expect(h.windows[0]?.visible).toBe(true);
    expect(h.tray.tooltip).toBe('Deaddrop');
    expect(h.windows[0]?.tryClose()).toBe(false);
    expect(h.windows[0]?.visible).toBe(false);
    h.tray.clicks.forEach((click) => click());
    expect(h.windows).toHaveLength(1);
    expect(h.windows[0]?.visible).toBe(true);
  });
  it('really closes when quitting or when close-to-tray is off, and opens a new window afterwards', async () => {
    const h = await harness();
    await h.settings.update({ closeToTray: false });
    await h.shell.start();
    expect(h.windows[0]?.tryClose()).toBe(true);
    h.shell.showWindow();
    expect(h.windows).toHaveLength(2);
    await h.settings.update({ closeToTray: true });
    h.shell.beginQuit();
    expect(h.windows[1]?.tryClose()).toBe(true);
  });
  it('starts minimised in the tray and applies start-at-login', async () => {
    const h = await harness();
    await h.shell.setSettings({ startMinimised: true, startAtLogin: true });
    await h.shell.start();
    expect(h.windows[0]?.visible).toBe(false);
    expect(h.loginItem).toEqual([true, true]);
  });
  it('forwards engine events to the UI and decides nothing about them: no notification, no unread count of its own', async () => {
    const h = await harness();
    await h.shell.start();
    const window = h.windows[0]!;
    window.focused = false;
    // Any sender, blocked or ignored in the UI or not: main cannot tell, so it never notifies by itself.
    h.shell.forward({ event: 'inbox/batch', payload: batch(incoming('k1')) });
    expect(window.sent.map(([name]) => name)).toEqual(['inbox/batch']);
    expect(h.notifications).toEqual([]);
    expect(h.shell.unreadCount).toBe(0);
    expect(h.tray.tooltip).toBe('Deaddrop');
  });
  it('shows the notifications the UI asks for and the count it reports, and opens the conversation on click', async () => {
    const h = await harness();
    await h.shell.start();
    const window = h.windows[0]!;
    const call = (channel: string, request: unknown) => dispatch(h.shell.handlers(), channel, request);
    expect(await call('notifications/show', { title: 'Alice', body: 'hello', conversation: { identityId: 'me', contactKey: alice } })).toEqual({ ok: true, value: null });
    expect(h.notifications.map(({ title, body }) => ({ title, body }))).toEqual([{ title: 'Alice', body: 'hello' }]);
    expect(await call('unread/set', { count: 5 })).toEqual({ ok: true, value: null });
    expect(h.shell.unreadCount).toBe(5);
    expect(h.tray.tooltip).toBe('Deaddrop: 5 unread messages');
    window.hide();
    h.notifications[0]?.click();
    expect(window.visible && window.focused).toBe(true);
    expect(window.sent.at(-1)).toEqual(['app/openConversation', { identityId: 'me', contactKey: alice }]);
  });
  it('keeps control and bidi characters out of what the OS shows, whatever the UI sends', async () => {
    const h = await harness();
    await h.shell.start();
    h.shell.showNotification({ title: 'Bob\u202e)deifirev(\u202c\nBank', body: 'line1\r\nline2\u0007', conversation: { identityId: 'me', contactKey: alice } });
    h.shell.showNotification({ title: '\u2067\u2069', body: '', conversation: { identityId: 'me', contactKey: alice } });
    expect(h.notifications.map(({ title, body }) => ({ title, body }))).toEqual([
      { title: 'Bob )deifirev( Bank', body: 'line1 line2' },
      { title: 'Deaddrop', body: '' },
    ]);
  });
  it('waits for the page to load before asking it to open a conversation', async () => {
    const h = await harness();
    await h.shell.start();
    const window = h.windows[0]!;
    window.loading = true;
    h.shell.openConversation({ identityId: 'me', contactKey: alice });
    expect(window.sent).toEqual([]);
    window.emit('contents:did-finish-load');
    expect(window.sent).toEqual([['app/openConversation', { identityId: 'me', contactKey: alice }]]);
  });
  it('pauses polling from the tray menu', async () => {
    const h = await harness();
    await h.shell.start();
    const menu = h.tray.menu as { label?: string; click?: (item: { checked: boolean }) => void }[];
    menu.find((item) => item.label === 'Pause polling')?.click?.({ checked: true });
    await expect.poll(() => h.pausedCalls).toEqual([true]);
    await expect.poll(() => (h.tray.menu as { checked?: boolean }[])[1]?.checked).toBe(true);
  });
  it('follows pause changes made elsewhere (the UI) in the tray menu', async () => {
    const h = await harness();
    await h.shell.start();
    const checked = () => (h.tray.menu as { checked?: boolean }[])[1]?.checked;
    expect(checked()).toBe(false);
    h.shell.reflectPaused(true);
    expect(checked()).toBe(true);
  });
  it('serves the camera gate and the desktop settings', async () => {
    const h = await harness();
    await h.shell.start();
    const call = (channel: string, request: unknown) => dispatch(h.shell.handlers(), channel, request);
    expect(await call('camera/allow', { seconds: 30 })).toMatchObject({ ok: true, value: { allowedUntil: expect.any(Number) } });
    expect(await call('desktop/setSettings', { notificationPreview: 'nothing' })).toMatchObject({ ok: true, value: { notificationPreview: 'nothing' } });
    expect(await call('desktop/getSettings', {})).toMatchObject({ ok: true, value: { notificationPreview: 'nothing', closeToTray: true } });
    expect(await call('desktop/setSettings', { startAtLogin: true })).toMatchObject({ ok: true });
    expect(h.loginItem.at(-1)).toBe(true);
    expect(h.settings.get().localServer).toBeNull();
  });
});

describe('desktop settings file', () => {
  it('persists updates and keeps valid fields of a damaged file', async () => {
    const file = path.join(dir, 'settings.json');
    const store = await openDesktopSettings(file);
    await store.update({ startAtLogin: true });
    expect((await openDesktopSettings(file)).get().startAtLogin).toBe(true);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, JSON.stringify({ startAtLogin: true, closeToTray: 'maybe', notificationPreview: 'nameOnly' }));
    expect((await openDesktopSettings(file)).get()).toEqual({
      closeToTray: true,
      startMinimised: false,
      startAtLogin: true,
      notificationPreview: 'nameOnly',
      localServer: null,
    });
    await writeFile(file, '{not json');
    expect((await openDesktopSettings(file)).get().closeToTray).toBe(true);
    await expect(store.update({ closeToTray: 'no' as never })).rejects.toThrow();
  });
});
