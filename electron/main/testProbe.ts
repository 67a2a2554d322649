/**
 * What the Playwright Electron smoke test reads from the main process (tray, notifications, badge),
 * which Electron offers no API to inspect. Recorded only when DEADDROP_E2E_PROBE=1.
 */
export interface ShellProbe {
  trayCreated: boolean;
  notifications: { title: string; body: string }[];
  unread: number;
}

type ProbeUpdate = { trayCreated: true } | { notification: { title: string; body: string } } | { unread: number };

const probeKey = '__deaddropProbe';

export function recordProbe(update: ProbeUpdate): void {
  if (process.env.DEADDROP_E2E_PROBE !== '1') return;
  const store = globalThis as unknown as Record<string, ShellProbe | undefined>;
  const probe = (store[probeKey] ??= { trayCreated: false, notifications: [], unread: 0 });
  if ('trayCreated' in update) probe.trayCreated = true;
  else if ('notification' in update) probe.notifications.push(update.notification);
  else probe.unread = update.unread;
}
