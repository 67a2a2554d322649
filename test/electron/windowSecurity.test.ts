import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createCameraGate } from '../../electron/main/cameraGate.js';
import { appUrlMatcher, installNavigationGuard, type GuardedContents } from '../../electron/main/navigationGuard.js';
import { isPermissionAllowed } from '../../electron/main/permissionPolicy.js';
import { createMainWindow, mainWindowOptions, secureWebPreferences } from '../../electron/main/windowFactory.js';
import { createRendererRecovery } from '../../electron/main/rendererRecovery.js';
import { isUiRequestAllowed } from '../../electron/main/networkGuard.js';

describe('window factory', () => {
  it('turns on sandbox and context isolation and turns off Node in every frame and worker', () => {
    const prefs = secureWebPreferences('/app/preload.cjs');
    expect(prefs).toMatchObject({
      preload: '/app/preload.cjs',
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });
  it('creates the window hidden and shows it when painted, unless it starts in the tray', () => {
    const made: FakeWindow[] = [];
    class FakeWindow extends EventEmitter {
      shown = 0;
      constructor(readonly options: unknown) {
        super();
        made.push(this);
      }
      show() {
        this.shown++;
      }
    }
    const Ctor = FakeWindow as unknown as Parameters<typeof createMainWindow>[0];
    createMainWindow(Ctor, { preloadPath: '/p.cjs', show: true });
    createMainWindow(Ctor, { preloadPath: '/p.cjs', show: false });
    expect(made.map((w) => (w.options as { show: boolean }).show)).toEqual([false, false]);
    made.forEach((w) => w.emit('ready-to-show'));
    expect(made.map((w) => w.shown)).toEqual([1, 0]);
    expect(mainWindowOptions({ preloadPath: '/p.cjs', show: true }).webPreferences).toEqual(secureWebPreferences('/p.cjs'));
  });
});

class FakeContents extends EventEmitter {
  openHandler: ((details: { url: string }) => { action: string }) | null = null;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
    this.openHandler = handler;
  }
  /** Emits like Electron does and tells whether a listener prevented the default. */
  fire(name: string, url: string): boolean {
    let prevented = false;
    const event = { url, preventDefault: () => (prevented = true) };
    this.emit(name, event, url);
    return prevented;
  }
}

describe('navigation guard', () => {
  const isAppUrl = appUrlMatcher(['deaddrop://app']);
  const setup = () => {
    const contents = new FakeContents();
    const opened: string[] = [];
    installNavigationGuard(contents as unknown as GuardedContents, { isAppUrl, openExternal: (url) => opened.push(url) });
    return { contents, opened };
  };

  it('keeps navigation inside the app origin', () => {
    const { contents } = setup();
    expect(contents.fire('will-navigate', 'deaddrop://app/index.html#/chat')).toBe(false);
    for (const url of ['https://example.com/', 'file:///etc/passwd', 'deaddrop://other/x', 'javascript:alert(1)']) {
      expect(contents.fire('will-navigate', url), url).toBe(true);
      expect(contents.fire('will-redirect', url), url).toBe(true);
      expect(contents.fire('will-frame-navigate', url), url).toBe(true);
    }
  });
  it('never opens a window; http(s) links go to the system browser, others nowhere', () => {
    const { contents, opened } = setup();
    expect(contents.openHandler?.({ url: 'https://example.com/a' })).toEqual({ action: 'deny' });
    expect(contents.openHandler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(contents.openHandler?.({ url: 'deaddrop://app/index.html' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://example.com/a']);
  });
  it('refuses webviews', () => {
    const { contents } = setup();
    expect(contents.fire('will-attach-webview', 'deaddrop://app/')).toBe(true);
  });
  it('matches origins exactly, also for the custom scheme', () => {
    expect(isAppUrl('deaddrop://app/x')).toBe(true);
    expect(isAppUrl('deaddrop://app.evil/x')).toBe(false);
    expect(isAppUrl('http://app/x')).toBe(false);
    expect(isAppUrl('::')).toBe(false);
    expect(appUrlMatcher(['http://127.0.0.1:5173'])('http://127.0.0.1:5173/src/main.tsx')).toBe(true);
  });
});

describe('permissions and the camera gate', () => {
  const isAppUrl = appUrlMatcher(['deaddrop://app']);
  const camera = () => {
    let now = 1_000_000;
    const gate = createCameraGate(() => now);
    return { gate, advance: (ms: number) => (now += ms) };
  };
  const videoAsk = { permission: 'media', origin: 'deaddrop://app/index.html', isMainFrame: true, mediaTypes: ['video'] };

  it('denies everything but the camera', () => {
    const { gate } = camera();
    gate.allowFor(30);
    for (const permission of ['notifications', 'geolocation', 'clipboard-read', 'openExternal', 'fullscreen', 'midi']) {
      expect(isPermissionAllowed({ ...videoAsk, permission }, { isAppUrl, camera: gate }), permission).toBe(false);
    }
    expect(isPermissionAllowed(videoAsk, { isAppUrl, camera: gate })).toBe(true);
  });
  it('allows the camera only while the gate is open, and never the microphone or other frames', () => {
    const { gate, advance } = camera();
    expect(isPermissionAllowed(videoAsk, { isAppUrl, camera: gate })).toBe(false);
    gate.allowFor(10);
    expect(isPermissionAllowed({ ...videoAsk, mediaTypes: ['video', 'audio'] }, { isAppUrl, camera: gate })).toBe(false);
    expect(isPermissionAllowed({ ...videoAsk, mediaTypes: [] }, { isAppUrl, camera: gate })).toBe(false);
    expect(isPermissionAllowed({ ...videoAsk, isMainFrame: false }, { isAppUrl, camera: gate })).toBe(false);
    expect(isPermissionAllowed({ ...videoAsk, origin: 'https://evil.example' }, { isAppUrl, camera: gate })).toBe(false);
    advance(9_999);
    expect(isPermissionAllowed(videoAsk, { isAppUrl, camera: gate })).toBe(true);
    advance(1);
    expect(isPermissionAllowed(videoAsk, { isAppUrl, camera: gate })).toBe(false);
  });
  it('closes on 0 and caps long requests', () => {
    const { gate, advance } = camera();
    gate.allowFor(60);
    gate.allowFor(0);
    expect(gate.isOpen()).toBe(false);
    gate.allowFor(10_000);
    advance(300_000);
    expect(gate.isOpen()).toBe(false);
  });
});

describe('renderer recovery', () => {
  it('reloads after crashes but not after a clean exit, and stops reloading a UI that keeps dying', () => {
    let now = 0;
    const recovery = createRendererRecovery(3, 60_000, () => now);
    expect(recovery.shouldReload('clean-exit')).toBe(false);
    expect([1, 2, 3, 4].map(() => recovery.shouldReload('crashed'))).toEqual([true, true, true, false]);
    now += 59_999;
    expect(recovery.shouldReload('oom')).toBe(false);
    now += 1;
    expect(recovery.shouldReload('killed')).toBe(true);
  });
});

describe('network guard for the UI session', () => {
  it('lets app-scheme, data and blob loads through and cancels the network', () => {
    for (const url of ['deaddrop://app/assets/a.js', 'data:image/png;base64,AA', 'blob:deaddrop://app/1', 'devtools://devtools/x']) {
      expect(isUiRequestAllowed(url, null), url).toBe(true);
    }
    for (const url of ['https://tracker.example/p.gif', 'http://127.0.0.1:8080/drop', 'ws://127.0.0.1:5173/', 'file:///etc/passwd', 'ftp://x/', 'nonsense']) {
      expect(isUiRequestAllowed(url, null), url).toBe(false);
    }
  });
  it('allows only the dev server in development, including its hot-reload socket', () => {
    const dev = 'http://127.0.0.1:5173';
    expect(isUiRequestAllowed('http://127.0.0.1:5173/src/main.tsx', dev)).toBe(true);
    expect(isUiRequestAllowed('ws://127.0.0.1:5173/?token=x', dev)).toBe(true);
    expect(isUiRequestAllowed('http://127.0.0.1:5174/', dev)).toBe(false);
    expect(isUiRequestAllowed('https://127.0.0.1:5173/', dev)).toBe(false);
  });
});
