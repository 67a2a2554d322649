import type { DesktopApi } from '../../../shared/ipc/desktopContract.js';

/**
 * The desktop shell's own functions (`window.deaddropDesktop`, exposed by the Electron preload next
 * to `window.deaddrop`). The contract lives in shared/ipc/desktopContract.ts; absent in the browser
 * test host, so every use is feature-detected.
 */
export type { DesktopApi, DesktopSettings, NotificationPreview } from '../../../shared/ipc/desktopContract.js';

/** The desktop shell, or null outside the desktop app. */
export function desktopApi(): DesktopApi | null {
  return (window as Window & { deaddropDesktop?: DesktopApi }).deaddropDesktop ?? null;
}
