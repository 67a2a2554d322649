/**
 * Reloads the UI after its renderer process died (crash, OOM kill), but at most `maxReloads` times
 * within `periodMs`: a UI that dies on load must not spin in a reload loop.
 */
export interface RendererRecovery {
  /** Returns true when the window should be reloaded for this exit. */
  shouldReload(reason: string): boolean;
}

export function createRendererRecovery(maxReloads = 3, periodMs = 60_000, now: () => number = Date.now): RendererRecovery {
  const recent: number[] = [];
  return {
    shouldReload(reason) {
      if (reason === 'clean-exit') return false;
      const at = now();
      while (recent.length > 0 && at - (recent[0] ?? at) >= periodMs) recent.shift();
      if (recent.length >= maxReloads) return false;
      recent.push(at);
      return true;
    },
  };
}
