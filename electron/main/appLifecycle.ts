import { app } from 'electron';
import type { DesktopShell } from './desktopShell.js';

/**
 * The app's life after start-up: a second launch or a dock click shows the window, closing the last
 * window quits, and quitting waits once for `shutdown` (engine, local server) before the app ends.
 */
export function installAppLifecycle(desktop: DesktopShell, shutdown: () => Promise<unknown>): void {
  app.on('second-instance', () => desktop.showWindow());
  app.on('activate', () => desktop.showWindow());
  app.on('before-quit', () => desktop.beginQuit());
  app.on('window-all-closed', () => app.quit());
  let stopped = false;
  app.on('will-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    stopped = true;
    void shutdown().finally(() => app.quit());
  });
}
