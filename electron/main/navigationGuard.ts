import type { Event, HandlerDetails, WebContents, WindowOpenHandlerResponse } from 'electron';

/** The parts of WebContents the guard hooks; Electron's WebContents satisfies it. */
export type GuardedContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

export interface NavigationPolicy {
  /** True for URLs of our own UI (the app scheme, or the dev server in development). */
  isAppUrl(url: string): boolean;
  /** Hands an http(s) link to the system browser (after its own re-parsing). */
  openExternal(url: string): void;
}

/**
 * Denies by default: the window never navigates away from our UI, never opens another window and never
 * hosts a webview. A link the user clicked that would open a window goes to the system browser instead.
 */
export function installNavigationGuard(contents: GuardedContents, policy: NavigationPolicy): void {
  const keepInApp = (event: Event, url: string) => {
    if (!policy.isAppUrl(url)) event.preventDefault();
  };
  contents.on('will-navigate', keepInApp);
  contents.on('will-redirect', keepInApp);
  contents.on('will-frame-navigate', (event) => {
    if (!policy.isAppUrl(event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler((details: HandlerDetails): WindowOpenHandlerResponse => {
    if (/^https?:/i.test(details.url)) policy.openExternal(details.url);
    return { action: 'deny' };
  });
}

/** Builds `isAppUrl` for the app origin plus, in development only, the dev server's origin. */
export function appUrlMatcher(origins: readonly string[]): (url: string) => boolean {
  return (url) => {
    try {
      // URL#origin is "null" for custom schemes under Node's URL, so compare scheme and host ourselves.
      const parsed = new URL(url);
      return origins.includes(`${parsed.protocol}//${parsed.host}`);
    } catch {
      return false;
    }
  };
}
