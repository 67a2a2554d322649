/**
 * A stand-in for the `electron` module, bundled into the real main entry by the headless main test
 * (esbuild alias), so main.ts's wiring runs under plain Node. It records what main does on
 * `globalThis.__fakeElectron`; it implements only what main calls.
 */
import { EventEmitter } from 'node:events';

type Listener = (...args: unknown[]) => unknown;
type InvokeHandler = (event: { senderFrame: unknown }, request: unknown) => unknown;

export interface FakeElectronState {
  userData: string;
  ready: () => void;
  readyPromise: Promise<void>;
  app: FakeApp;
  ipcHandlers: Map<string, InvokeHandler>;
  windows: FakeBrowserWindow[];
  trays: FakeTray[];
  notifications: FakeNotification[];
  protocolHandlers: Map<string, (request: Request) => Promise<Response>>;
  privilegedSchemes: unknown[];
  openedExternally: string[];
  errors: string[];
  badge: number[];
  permissionRequestHandler: Listener | null;
  beforeRequest: Listener | null;
}

class FakeApp extends EventEmitter {
  isPackaged = false;
  readonly paths = new Map<string, string>();
  quitRequested = 0;
  exitCode: number | null = null;
  getPath(name: string) {
    return this.paths.get(name) ?? state.userData;
  }
  setPath(name: string, value: string) {
    this.paths.set(name, value);
  }
  getAppPath() {
    return process.cwd();
  }
  getVersion() {
    return '0.0.0-test';
  }
  requestSingleInstanceLock() {
    return true;
  }
  whenReady() {
    return state.readyPromise;
  }
  quit() {
    this.quitRequested++;
    const event = { defaultPrevented: false, preventDefault: () => (event.defaultPrevented = true) };
    this.emit('before-quit', event);
    if (this.quitRequested === 1 || !event.defaultPrevented) this.emit('will-quit', event);
  }
  exit(code: number) {
    this.exitCode = code;
  }
  setBadgeCount(count: number) {
    state.badge.push(count);
    return true;
  }
  setLoginItemSettings() {}
}

class FakeWebContents extends EventEmitter {
  readonly sent: [string, unknown][] = [];
  readonly mainFrame = { url: '', processId: 7, routingId: 1 };
  openHandler: Listener | null = null;
  /** Records the message and emits `ipc-sent`, so a test can deliver it to a page acting as the renderer. */
  send(channel: string, payload: unknown) {
    this.sent.push([channel, payload]);
    this.emit('ipc-sent', channel, payload);
  }
  isLoading() {
    return false;
  }
  setWindowOpenHandler(handler: Listener) {
    this.openHandler = handler;
  }
}

export class FakeBrowserWindow extends EventEmitter {
  readonly webContents = new FakeWebContents();
  visible = false;
  focused = false;
  destroyed = false;
  constructor(readonly options: Record<string, unknown>) {
    super();
    state.windows.push(this);
    state.app.emit('web-contents-created', {}, this.webContents);
  }
  async loadURL(url: string) {
    this.webContents.mainFrame.url = url;
    this.emit('ready-to-show');
  }
  show() {
    this.visible = true;
  }
  hide() {
    this.visible = false;
  }
  focus() {
    this.focused = true;
  }
  blur() {
    this.focused = false;
  }
  restore() {}
  reload() {}
  isMinimized() {
    return false;
  }
  isVisible() {
    return this.visible;
  }
  isFocused() {
    return this.focused;
  }
  isDestroyed() {
    return this.destroyed;
  }
  setOverlayIcon() {}
  static getAllWindows() {
    return state.windows.filter((w) => !w.destroyed);
  }
}

class FakeTray extends EventEmitter {
  tooltip = '';
  title = '';
  menu: unknown = null;
  constructor(readonly image: unknown) {
    super();
    state.trays.push(this);
  }
  setToolTip(text: string) {
    this.tooltip = text;
  }
  setTitle(text: string) {
    this.title = text;
  }
  setContextMenu(menu: unknown) {
    this.menu = menu;
  }
}

class FakeNotification extends EventEmitter {
  shown = false;
  constructor(readonly options: { title: string; body: string }) {
    super();
  }
  static isSupported() {
    return true;
  }
  show() {
    this.shown = true;
    state.notifications.push(this);
  }
}

const state: FakeElectronState = (() => {
  let ready: () => void = () => undefined;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  return {
    userData: process.env.FAKE_ELECTRON_USER_DATA ?? '/nonexistent',
    ready,
    readyPromise,
    app: new FakeApp(),
    ipcHandlers: new Map(),
    windows: [],
    trays: [],
    notifications: [],
    protocolHandlers: new Map(),
    privilegedSchemes: [],
    openedExternally: [],
    errors: [],
    badge: [],
    permissionRequestHandler: null,
    beforeRequest: null,
  };
})();
(globalThis as unknown as { __fakeElectron: FakeElectronState }).__fakeElectron = state;

export const app = state.app;
export const BrowserWindow = FakeBrowserWindow;
export const Tray = FakeTray;
export const Notification = FakeNotification;
export const Menu = { buildFromTemplate: (template: unknown) => ({ template }), setApplicationMenu: (_menu: unknown) => undefined };
export const nativeImage = { createFromPath: (file: string) => ({ file }) };
export const ipcMain = {
  handle: (channel: string, handler: InvokeHandler) => state.ipcHandlers.set(channel, handler),
  removeHandler: (channel: string) => state.ipcHandlers.delete(channel),
};
export const protocol = {
  registerSchemesAsPrivileged: (schemes: unknown[]) => state.privilegedSchemes.push(...schemes),
  handle: (scheme: string, handler: (request: Request) => Promise<Response>) => state.protocolHandlers.set(scheme, handler),
};
export const dialog = {
  showErrorBox: (_title: string, message: string) => state.errors.push(message),
  showMessageBox: async () => ({ response: 1 }),
};
export const safeStorage = {
  isEncryptionAvailable: () => true,
  /** FAKE_SAFE_STORAGE_BACKEND=basic_text plays a Linux session without a keyring. */
  getSelectedStorageBackend: () => process.env.FAKE_SAFE_STORAGE_BACKEND ?? 'gnome_libsecret',
  encryptString: (text: string) => Buffer.from(`sealed:${text}`),
  decryptString: (data: Buffer) => data.toString().replace(/^sealed:/, ''),
};
export const session = {
  defaultSession: {
    setPermissionRequestHandler: (handler: Listener) => (state.permissionRequestHandler = handler),
    setPermissionCheckHandler: () => undefined,
    setDevicePermissionHandler: () => undefined,
    webRequest: {
      onBeforeRequest: (listener: Listener) => (state.beforeRequest = listener),
    },
  },
};
export const shell = {
  openExternal: async (url: string) => {
    state.openedExternally.push(url);
  },
};
