import { create } from 'zustand';
import type { EngineSettings } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';

/**
 * The engine's settings as last read or saved by a Settings panel: one panel's save (copies per
 * message, in Network) changes what another shows (the traffic budget's "most you can send").
 */
export const useSavedSettings = create<{ settings: EngineSettings | null; publish: (settings: EngineSettings) => void }>()((set) => ({
  settings: null,
  publish: (settings) => set({ settings }),
}));

let reading: EngineBridge | null = null;

/** Reads the engine's settings once when no panel has yet (a sending message asks whether the budget is on). */
export function readSavedSettings(bridge: EngineBridge): void {
  if (useSavedSettings.getState().settings !== null || reading === bridge) return;
  reading = bridge;
  void bridge
    .invoke('settings/get', {})
    .then((result) => {
      if (result.ok && result.value && useSavedSettings.getState().settings === null) useSavedSettings.getState().publish(result.value);
    })
    .finally(() => {
      if (reading === bridge) reading = null;
    });
}
