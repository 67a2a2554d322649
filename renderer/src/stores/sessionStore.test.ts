import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { capabilitiesOf } from '../../../shared/ipc/channels.js';
import type { AppInfo, Capabilities, IdentitySummary, ServerStatus } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { reactView } from '../test/reactView.js';
import type * as SessionModule from './sessionStore.js';
import { hasCapability, useActiveIdentity, useCapability, useSession } from './sessionStore.js';

const REMEMBERED = 'deaddrop.activeIdentity';
/** A host that serves no channel beyond the engine. */
const none: Capabilities = capabilitiesOf([]);

function identity(id: string): IdentitySummary {
  return { id, alias: `Alias ${id}`, publicKey: id.padEnd(64, '0'), dropUrls: [`http://127.0.0.1:1/${id}`], dropBits: 256, createdAt: 1 };
}

function appInfo(capabilities: Partial<Capabilities>, locked = false): AppInfo {
  return { version: '1', host: 'electron', paused: false, locked, capabilities: { ...none, ...capabilities } } as AppInfo;
}

/**
 * The store module evaluated anew, as at the next start of the app (Vite loads a module again under
 * another query).
 */
const restarts = {
  // @ts-expect-error: TypeScript does not resolve Vite's query suffixes
  first: async () => (await import('./sessionStore.ts?restart=1')) as typeof SessionModule,
  // @ts-expect-error: as above
  second: async () => (await import('./sessionStore.ts?restart=2')) as typeof SessionModule,
};

beforeEach(() => {
  localStorage.removeItem(REMEMBERED);
  useSession.setState(useSession.getInitialState(), true);
  useSession.setState({ activeIdentityId: null });
});
afterEach(() => {
  vi.restoreAllMocks();
  localStorage.removeItem(REMEMBERED);
});

describe('session store: identities', () => {
  it('starts with no engine, connecting, and nothing known', () => {
    const s = useSession.getInitialState();
    expect(s).toMatchObject({ bridge: null, connection: 'connecting', appInfo: null, identities: null, serverStatus: [] });
  });

  it('picks the first identity when none is active, and remembers the choice for the next start', () => {
    useSession.getState().setIdentities([identity('a'), identity('b')]);
    expect(useSession.getState()).toMatchObject({ identities: [identity('a'), identity('b')], activeIdentityId: 'a' });
    expect(localStorage.getItem(REMEMBERED)).toBe('a');
  });

  it('keeps the active identity when the list changes around it', () => {
    useSession.getState().setIdentities([identity('a'), identity('b')]);
    useSession.getState().setActiveIdentity('b');
    useSession.getState().setIdentities([identity('c'), identity('b')]);
    expect(useSession.getState().activeIdentityId).toBe('b');
    expect(localStorage.getItem(REMEMBERED)).toBe('b');
  });

  it('moves to the first remaining identity when the active one is deleted, and to none when none is left', () => {
    useSession.getState().setIdentities([identity('a'), identity('b')]);
    useSession.getState().setActiveIdentity('b');
    useSession.getState().setIdentities([identity('a')]);
    expect(useSession.getState().activeIdentityId).toBe('a');
    expect(localStorage.getItem(REMEMBERED)).toBe('a');
    useSession.getState().setIdentities([]);
    expect(useSession.getState()).toMatchObject({ identities: [], activeIdentityId: null });
  });

  it('switches identity on request and remembers it; switching to none forgets nothing', () => {
    useSession.getState().setIdentities([identity('a'), identity('b')]);
    useSession.getState().setActiveIdentity('b');
    expect(useSession.getState().activeIdentityId).toBe('b');
    expect(localStorage.getItem(REMEMBERED)).toBe('b');
    useSession.getState().setActiveIdentity(null);
    expect(useSession.getState().activeIdentityId).toBeNull();
    expect(localStorage.getItem(REMEMBERED)).toBe('b');
  });

  it('starts with the identity remembered from the last run, which the engine’s list then confirms or replaces', async () => {
    localStorage.setItem(REMEMBERED, 'b');
    const fresh = await restarts.first();
    expect(fresh.useSession.getState().activeIdentityId).toBe('b');
    fresh.useSession.getState().setIdentities([identity('a'), identity('b')]);
    expect(fresh.useSession.getState().activeIdentityId).toBe('b');
    fresh.useSession.getState().setIdentities([identity('c')]);
    expect(fresh.useSession.getState().activeIdentityId).toBe('c');
  });

  it('works on when the browser refuses storage (private mode): the choice is just not remembered', async () => {
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    vi.spyOn(Storage.prototype, 'getItem').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    useSession.getState().setIdentities([identity('a'), identity('b')]);
    useSession.getState().setActiveIdentity('b');
    expect(useSession.getState().activeIdentityId).toBe('b');
    const fresh = await restarts.second();
    expect(fresh.useSession.getState().activeIdentityId).toBeNull();
  });
});

describe('session store: engine state', () => {
  it('keeps the bridge, the connection state, app info and server status as told', () => {
    const bridge = { kind: 'websocket' } as EngineBridge;
    const status: ServerStatus[] = [{ serverUrl: 'http://127.0.0.1:1', reachable: true, lastPollAt: 5 } as ServerStatus];
    const s = useSession.getState();
    s.setBridge(bridge);
    s.setConnection('open');
    s.setAppInfo(appInfo({}, true));
    s.setServerStatus(status);
    expect(useSession.getState()).toMatchObject({ bridge, connection: 'open', appInfo: { locked: true }, serverStatus: status });
    // Unlocking replaces app info whole; losing the engine clears the bridge.
    s.setAppInfo(appInfo({}, false));
    s.setConnection('closed');
    s.setBridge(null);
    expect(useSession.getState()).toMatchObject({ bridge: null, connection: 'closed', appInfo: { locked: false } });
  });

  it('offers a capability only once the host said so', () => {
    expect(hasCapability('notifications')).toBe(false);
    useSession.getState().setAppInfo(appInfo({ notifications: true }));
    expect(hasCapability('notifications')).toBe(true);
    expect(hasCapability('localServer')).toBe(false);
    useSession.getState().setAppInfo(appInfo({ localServer: true }));
    expect(hasCapability('notifications')).toBe(false);
  });
});

describe('session store hooks', () => {
  const view = reactView();
  beforeEach(() => view.attach());
  afterEach(() => view.detach());

  /** Renders what the hooks return as text, re-rendered by every store change. */
  function Probe() {
    const active = useActiveIdentity();
    const camera = useCapability('cameraGate');
    return createElement('p', null, `${active?.alias ?? 'none'} / camera ${camera ? 'on' : 'off'}`);
  }

  it('follow the store: the active identity’s summary, and capabilities', () => {
    view.mount(createElement(Probe));
    const { host } = view;
    expect(host.textContent).toBe('none / camera off');
    flushSync(() => useSession.getState().setIdentities([identity('a'), identity('b')]));
    expect(host.textContent).toBe('Alias a / camera off');
    flushSync(() => useSession.getState().setActiveIdentity('b'));
    expect(host.textContent).toBe('Alias b / camera off');
    flushSync(() => useSession.getState().setAppInfo(appInfo({ cameraGate: true })));
    expect(host.textContent).toBe('Alias b / camera on');
    // An active id the list does not know (yet) is no identity.
    flushSync(() => useSession.getState().setActiveIdentity('gone'));
    expect(host.textContent).toBe('none / camera on');
  });
});
