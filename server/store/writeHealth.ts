/**
 * Whether a store takes writes, for `/health`: failing from a failed write until a later write or a
 * probe write succeeds. Probes wait a while after each failure, so health neither flaps nor costs a
 * write per load-balancer check.
 */

/** After a failed write or probe, the next probe waits this long. */
const PROBE_INTERVAL_MS = 1000;

export interface WriteHealth {
  /** Runs a write and records its outcome; resolves or rejects as the write does. */
  writing<T>(write: Promise<T>): Promise<T>;
  isHealthy(): Promise<boolean>;
}

/** @param probe a tiny write of the size a message needs, in its own transaction */
export function trackWrites(probe: () => Promise<unknown>, now: () => number = Date.now): WriteHealth {
  let failing = false;
  let lastFailureMs = 0;
  const writing = async <T>(write: Promise<T>): Promise<T> => {
    try {
      const result = await write;
      failing = false;
      return result;
    } catch (error) {
      failing = true;
      lastFailureMs = now();
      throw error;
    }
  };
  const probeAgain = async (): Promise<boolean> => {
    if (now() - lastFailureMs < PROBE_INTERVAL_MS) return false;
    await writing(probe()).catch(() => undefined);
    return !failing;
  };
  return { writing, isHealthy: async () => !failing || probeAgain() };
}
