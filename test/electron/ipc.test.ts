import { describe, expect, it } from 'vitest';
import type { WebFrameMain } from 'electron';
import { type ApiHandlers, channels, eventNames } from '../../shared/ipc/contract.js';
import { mainFrameSenderCheck, registerApiHandlers, withTimeout } from '../../electron/main/ipcBridge.js';
import { appUrlMatcher } from '../../electron/main/navigationGuard.js';
import { type DesktopMethod, desktopChannels } from '../../shared/ipc/desktopContract.js';
import { type DesktopShellPort, registerDesktopIpc } from '../../electron/main/desktopIpc.js';
import { buildPreloadApi, type PreloadIpc } from '../../electron/preload/preloadApi.js';
import { buildDesktopApi } from '../../electron/preload/desktopApi.js';

type Handler = (event: { senderFrame: WebFrameMain | null }, request: unknown) => Promise<unknown> | unknown;

/** ipcMain as far as the bridge uses it. */
class FakeIpcMain {
  readonly handlers = new Map<string, Handler>();
  handle(channel: string, handler: Handler) {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, handler);
  }
  removeHandler(channel: string) {
    this.handlers.delete(channel);
  }
  call(channel: string, request: unknown, frame: WebFrameMain | null) {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    return handler({ senderFrame: frame }, request);
  }
}

const frame = (processId: number, routingId: number, url: string) => ({ processId, routingId, url }) as unknown as WebFrameMain;
const ourFrame = frame(4, 1, 'deaddrop://app/index.html');

function recordingHandlers(calls: unknown[][]): ApiHandlers {
  const table: Record<string, (request: unknown) => Promise<unknown>> = {};
  for (const channel of channels) {
    table[channel] = async (request) => {
      calls.push([channel, request]);
      return { answeredBy: channel };
    };
  }
  return table as unknown as ApiHandlers;
}

function setup(handlers?: ApiHandlers, timeoutMs?: number) {
  const ipcMain = new FakeIpcMain();
  const calls: unknown[][] = [];
  const isTrustedSender = mainFrameSenderCheck(() => ourFrame, appUrlMatcher(['deaddrop://app']));
  const remove = registerApiHandlers(ipcMain as unknown as Parameters<typeof registerApiHandlers>[0], handlers ?? recordingHandlers(calls), { isTrustedSender, ...(timeoutMs ? { timeoutMs } : {}) });
  return { ipcMain, calls, remove };
}

describe('IPC bridge in main', () => {
  it('registers exactly one handler per contract channel and removes them all', () => {
    const { ipcMain, remove } = setup();
    expect([...ipcMain.handlers.keys()].sort()).toEqual([...channels].sort());
    remove();
    expect(ipcMain.handlers.size).toBe(0);
  });
  it('runs valid requests and answers a Result', async () => {
    const { ipcMain, calls } = setup();
    const result = await ipcMain.call('poller/setPaused', { paused: true }, ourFrame);
    expect(result).toEqual({ ok: true, value: { answeredBy: 'poller/setPaused' } });
    expect(calls).toEqual([['poller/setPaused', { paused: true }]]);
  });
  it('rejects bad payloads before any handler runs', async () => {
    const { ipcMain, calls } = setup();
    const bad: [string, unknown][] = [
      ['poller/setPaused', { paused: 'yes' }],
      ['identities/create', { alias: '', serverUrl: 'http://x' }],
      ['identities/create', { alias: 'a', serverUrl: 'file:///etc/passwd' }],
      ['messages/send', { identityId: 'i', localId: 'l', recipient: { publicKey: 'zz', dropUrls: [] }, text: 'hi' }],
      ['localServer/start', { port: 70_000 }],
      ['app/unlock', 'not an object'],
    ];
    for (const [channel, request] of bad) {
      const result = (await ipcMain.call(channel, request, ourFrame)) as { ok: boolean; error?: { code: string } };
      expect(result.ok, channel).toBe(false);
      expect(result.error?.code).toBe('invalid_request');
    }
    expect(calls).toEqual([]);
  });
  it('refuses foreign senders: other frames, other origins, no frame', async () => {
    const { ipcMain, calls } = setup();
    const foreign = [
      frame(4, 2, 'deaddrop://app/index.html'),
      frame(5, 1, 'deaddrop://app/index.html'),
      frame(4, 1, 'https://evil.example/'),
      null,
    ];
    for (const sender of foreign) {
      const result = (await ipcMain.call('app/info', {}, sender)) as { ok: boolean; error?: { code: string } };
      expect(result).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    }
    expect(calls).toEqual([]);
  });
  it('turns thrown errors and hanging handlers into failed Results', async () => {
    const handlers = recordingHandlers([]);
    handlers['app/info'] = () => Promise.reject(new Error('boom'));
    handlers['servers/status'] = () => new Promise(() => undefined);
    const { ipcMain } = setup(handlers, 50);
    expect(await ipcMain.call('app/info', {}, ourFrame)).toEqual({ ok: false, error: { code: 'internal', message: 'boom' } });
    expect(await ipcMain.call('servers/status', {}, ourFrame)).toMatchObject({ ok: false, error: { code: 'timeout' } });
  });
  it('withTimeout never rejects', async () => {
    expect(await withTimeout(Promise.reject(new Error('x')), 1000, 'x')).toMatchObject({ ok: false, error: { code: 'internal' } });
  });
});

/** A shell whose settings write never finishes and whose unread count throws. */
function stuckShell(calls: string[]): DesktopShellPort {
  const settings = { closeToTray: true, startMinimised: false, startAtLogin: false, notificationPreview: 'nothing' as const, localServer: null };
  return {
    setUnreadCount: () => {
      throw new Error('tray gone');
    },
    setConversationOnScreen: () => calls.push('onScreen'),
    setContactNames: () => calls.push('names'),
    allowCamera: () => ({ allowedUntil: 1 }),
    getSettings: () => settings,
    setSettings: () => new Promise(() => undefined),
  };
}

describe('desktop shell IPC in main', () => {
  it('checks senders, validates, and answers failures and hangs as Results within the timeout', async () => {
    const ipcMain = new FakeIpcMain();
    const calls: string[] = [];
    const isTrustedSender = mainFrameSenderCheck(() => ourFrame, appUrlMatcher(['deaddrop://app']));
    const remove = registerDesktopIpc(ipcMain as unknown as Parameters<typeof registerDesktopIpc>[0], stuckShell(calls), isTrustedSender, 50);
    expect([...ipcMain.handlers.keys()].sort()).toEqual(Object.values(desktopChannels).sort());
    expect(await ipcMain.call('desktop/getSettings', {}, ourFrame)).toMatchObject({ ok: true, value: { notificationPreview: 'nothing' } });
    expect(await ipcMain.call('desktop/setSettings', { closeToTray: false }, ourFrame)).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(await ipcMain.call('ui/unread', { count: 2 }, ourFrame)).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(await ipcMain.call('ui/contactNames', { names: { x: 'y' } }, ourFrame)).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(await ipcMain.call('ui/contactNames', { names: {} }, frame(4, 1, 'https://evil.example/'))).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(await ipcMain.call('ui/conversationOnScreen', { conversation: null }, ourFrame)).toEqual({ ok: true, value: null });
    expect(calls).toEqual(['onScreen']);
    remove();
    expect(ipcMain.handlers.size).toBe(0);
  });
});

/** ipcRenderer as far as the preload uses it. */
class FakeIpcRenderer {
  readonly invoked: [string, unknown][] = [];
  readonly listeners = new Map<string, Set<(...args: unknown[]) => void>>();
  answer: (channel: string) => Promise<unknown> = async (channel) => ({ ok: true, value: channel });
  invoke = (channel: string, request: unknown) => {
    this.invoked.push([channel, request]);
    return this.answer(channel);
  };
  on = (channel: string, listener: (...args: unknown[]) => void) => {
    if (!this.listeners.has(channel)) this.listeners.set(channel, new Set());
    this.listeners.get(channel)?.add(listener);
    return this;
  };
  removeListener = (channel: string, listener: (...args: unknown[]) => void) => {
    this.listeners.get(channel)?.delete(listener);
    return this;
  };
  emit(channel: string, payload: unknown) {
    for (const listener of this.listeners.get(channel) ?? []) listener({ sender: 'the ipcRenderer itself' }, payload);
  }
}

describe('preload API', () => {
  it('exposes one function per channel plus on, and nothing else', () => {
    const api = buildPreloadApi(new FakeIpcRenderer() as unknown as PreloadIpc);
    expect(Object.keys(api).sort()).toEqual([...channels, 'on'].sort());
    expect(Object.values(api).every((value) => typeof value === 'function')).toBe(true);
    expect(Object.isFrozen(api)).toBe(true);
  });
  it('invokes the channel of the function called and returns main\'s Result', async () => {
    const ipc = new FakeIpcRenderer();
    const api = buildPreloadApi(ipc as unknown as PreloadIpc);
    expect(await api['identities/list']({})).toEqual({ ok: true, value: 'identities/list' });
    expect(ipc.invoked).toEqual([['identities/list', {}]]);
  });
  it('turns a rejected invoke into a failed Result', async () => {
    const ipc = new FakeIpcRenderer();
    ipc.answer = () => Promise.reject(new Error('No handler registered'));
    const api = buildPreloadApi(ipc as unknown as PreloadIpc);
    expect(await api['app/info']({})).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  });
  it('subscribes only to contract events and passes the payload alone', () => {
    const ipc = new FakeIpcRenderer();
    const api = buildPreloadApi(ipc as unknown as PreloadIpc);
    const received: unknown[][] = [];
    const off = api.on('servers/status', (...args: unknown[]) => received.push(args));
    ipc.emit('servers/status', [{ serverUrl: 'http://x' }]);
    off();
    ipc.emit('servers/status', []);
    expect(received).toEqual([[[{ serverUrl: 'http://x' }]]]);
    expect(() => api.on('ipc-internal' as never, () => undefined)).toThrow(TypeError);
    expect([...ipc.listeners.keys()].every((name) => (eventNames as string[]).includes(name))).toBe(true);
  });
  it('exposes one shell function per desktop contract method, each invoking its channel', async () => {
    const ipc = new FakeIpcRenderer();
    const desktop = buildDesktopApi(ipc as unknown as PreloadIpc);
    const methods = Object.keys(desktopChannels) as DesktopMethod[];
    expect(Object.keys(desktop).sort()).toEqual([...methods].sort());
    for (const method of methods) await (desktop[method] as (request: unknown) => Promise<unknown>)({ probe: method });
    expect(ipc.invoked).toEqual(methods.map((method) => [desktopChannels[method], { probe: method }]));
    await desktop.setUnreadCount({ count: 3 });
    expect(ipc.invoked.at(-1)).toEqual(['ui/unread', { count: 3 }]);
  });
});
