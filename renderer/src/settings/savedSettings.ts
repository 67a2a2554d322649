import { create } from 'zustand';
import type { EngineSettings } from '../../../shared/ipc/contract.js';

/**
 * The engine's settings as last read or saved by a Settings panel: one panel's save (copies per
 * message, in Network) changes what another shows (the traffic budget's "most you can send").
 */
export const useSavedSettings = create<{ settings: EngineSettings | null; publish: (settings: EngineSettings) => void }>()((set) => ({
  settings: null,
  publish: (settings) => set({ settings }),
}));
