import { create } from 'zustand';
import type { AppInfo, Capability, IdentitySummary, ServerStatus } from '../../../shared/ipc/contract.js';
import type { ConnectionState, EngineBridge } from '../bridge/transport.js';

/** What the engine told us about itself; the UI's own data lives in Dexie. */
export interface SessionState {
  bridge: EngineBridge | null;
  connection: ConnectionState;
  appInfo: AppInfo | null;
  identities: IdentitySummary[] | null;
  activeIdentityId: string | null;
  serverStatus: ServerStatus[];
  setBridge(bridge: EngineBridge | null): void;
  setConnection(state: ConnectionState): void;
  setAppInfo(info: AppInfo): void;
  setIdentities(list: IdentitySummary[]): void;
  setActiveIdentity(id: string | null): void;
  setServerStatus(list: ServerStatus[]): void;
  /** The engine locked: keep only what it says about itself; identities and server status come again after unlock. */
  forgetUnlocked(info: AppInfo): void;
}

const ACTIVE_IDENTITY_KEY = 'deaddrop.activeIdentity';

function rememberedIdentity(): string | null {
  try {
    return localStorage.getItem(ACTIVE_IDENTITY_KEY);
  } catch {
    return null;
  }
}

function rememberIdentity(id: string | null): void {
  try {
    if (id) localStorage.setItem(ACTIVE_IDENTITY_KEY, id);
  } catch {
    // Private mode: the choice just is not remembered.
  }
}

export const useSession = create<SessionState>()((set, get) => ({
  bridge: null,
  connection: 'connecting',
  appInfo: null,
  identities: null,
  activeIdentityId: rememberedIdentity(),
  serverStatus: [],
  setBridge: (bridge) => set({ bridge }),
  setConnection: (connection) => set({ connection }),
  setAppInfo: (appInfo) => set({ appInfo }),
  setIdentities(list) {
    const active = get().activeIdentityId;
    const next = list.some((i) => i.id === active) ? active : (list[0]?.id ?? null);
    rememberIdentity(next);
    set({ identities: list, activeIdentityId: next });
  },
  setActiveIdentity(id) {
    rememberIdentity(id);
    set({ activeIdentityId: id });
  },
  setServerStatus: (serverStatus) => set({ serverStatus }),
  forgetUnlocked: (appInfo) => set({ appInfo, identities: null, serverStatus: [] }),
}));

/** The active identity, if the engine has any. */
export function useActiveIdentity(): IdentitySummary | null {
  return useSession((s) => s.identities?.find((i) => i.id === s.activeIdentityId) ?? null);
}

/** Whether the host offers a capability beyond the engine (`app/info`); false until it said so. */
export function useCapability(capability: Capability): boolean {
  return useSession((s) => s.appInfo?.capabilities[capability] === true);
}

/** The same outside React. */
export function hasCapability(capability: Capability): boolean {
  return useSession.getState().appInfo?.capabilities[capability] === true;
}
