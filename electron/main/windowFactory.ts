import type { BrowserWindow, BrowserWindowConstructorOptions, WebPreferences } from 'electron';

/**
 * The one place that decides a window's web preferences. The same settings hold in development,
 * tests and the packaged app; the bundle check in test/electron scans the built main bundle for them.
 */
export function secureWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    sandbox: true,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    safeDialogs: true,
  };
}

export interface MainWindowOptions {
  preloadPath: string;
  /** Start hidden (start minimised to the tray); shown later from the tray or a second launch. */
  show: boolean;
  icon?: string;
}

/** Options for the main window: sandboxed, isolated, no Node, shown only once painted. */
export function mainWindowOptions(options: MainWindowOptions): BrowserWindowConstructorOptions {
  return {
    width: 1100,
    height: 760,
    minWidth: 720,
    minHeight: 480,
    title: 'Deaddrop',
    show: false,
    backgroundColor: '#14161a',
    autoHideMenuBar: true,
    ...(options.icon ? { icon: options.icon } : {}),
    webPreferences: secureWebPreferences(options.preloadPath),
  };
}

export type BrowserWindowConstructor = new (options: BrowserWindowConstructorOptions) => BrowserWindow;

/** Creates the main window and shows it when ready (unless it starts in the tray). */
export function createMainWindow(Ctor: BrowserWindowConstructor, options: MainWindowOptions): BrowserWindow {
  const window = new Ctor(mainWindowOptions(options));
  if (options.show) window.once('ready-to-show', () => window.show());
  return window;
}
