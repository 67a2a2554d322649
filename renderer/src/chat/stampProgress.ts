import { create } from 'zustand';
import type { EventMap } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';

/** How far the engine got with a message's proof-of-work stamp (`outbox/stampProgress`). */
export interface StampProgress {
  hashes: number;
  expected: number;
}

/**
 * Messages whose stamp the engine is computing right now. Kept in memory only: a stamp is worth
 * nothing after a restart (the engine starts it afresh), and it changes four times a second, which
 * IndexedDB (sealed records) has no business storing.
 */
export interface StampProgressState {
  byLocalId: Record<string, StampProgress>;
  report(event: EventMap['outbox/stampProgress']): void;
  /** A status event for the message: the stamp is over unless the message is still being sent now. */
  applyStatus(event: EventMap['outbox/status']): void;
  clear(localId: string): void;
}

export const useStampProgress = create<StampProgressState>()((set) => ({
  byLocalId: {},
  report: ({ localId, hashes, expected }) => set((s) => ({ byLocalId: { ...s.byLocalId, [localId]: { hashes, expected } } })),
  applyStatus: (event) => {
    // The engine announces a stamp with `sending` and a reason due now (retryAt null), and copies
    // going out also come as `sending`; anything else (posted, failed, or a retry scheduled because
    // the server still refused) ends the stamp.
    const stillSending = event.status === 'sending' && (event.reason === undefined || event.reason.retryAt === null);
    if (!stillSending) useStampProgress.getState().clear(event.localId);
  },
  clear: (localId) =>
    set((s) => {
      if (!(localId in s.byLocalId)) return s;
      const { [localId]: _gone, ...rest } = s.byLocalId;
      return { byLocalId: rest };
    }),
}));

/**
 * A stamp's progress in whole percent: hashes tried of those expected on average. A search may well
 * need more than the average, so this stops at 99 rather than promise an end that has not come.
 */
export function stampPercent({ hashes, expected }: StampProgress): number {
  if (!(expected > 0) || !(hashes > 0)) return 0;
  return Math.min(99, Math.floor((hashes / expected) * 100));
}

/** One subscription per bridge, however many messages show their status. */
const followers = new Map<EngineBridge, { count: number; stop: () => void }>();

/**
 * Follows the engine's stamp events for as long as someone shows them; returns the stop. The
 * subscription is shared, so a message scrolled back into view finds its progress where it was.
 */
export function followStampProgress(bridge: EngineBridge): () => void {
  let follower = followers.get(bridge);
  if (!follower) {
    const stops = [
      bridge.on('outbox/stampProgress', (event) => useStampProgress.getState().report(event)),
      bridge.on('outbox/status', (event) => useStampProgress.getState().applyStatus(event)),
    ];
    follower = { count: 0, stop: () => stops.forEach((stop) => stop()) };
    followers.set(bridge, follower);
  }
  follower.count += 1;
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    const current = followers.get(bridge);
    if (!current) return;
    current.count -= 1;
    if (current.count === 0) {
      current.stop();
      followers.delete(bridge);
    }
  };
}
