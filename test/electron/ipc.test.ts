import { describe, expect, it } from 'vitest';
import type { WebFrameMain } from 'electron';
import { type Channel, callTimeoutMs, capabilitiesOf, channelSpecs, channels, eventNames, handlerTimeoutMs } from '../../shared/ipc/channels.js';
import type { ApiHandlers, HandlerTable } from '../../shared/ipc/contract.js';
import { dispatch } from '../../shared/ipc/dispatch.js';
import { withTimeout } from '../../electron/core/api/serveCall.js';
import { mainFrameSenderCheck, registerIpcHandlers } from '../../electron/main/ipcBridge.js';
import { appUrlMatcher } from '../../electron/main/navigationGuard.js';
import { buildPreloadApi, type PreloadIpc } from '../../electron/preload/preloadApi.js';

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

function recordingHandlers(calls: unknown[][]): HandlerTable {
  const table: Record<string, (request: unknown) => Promise<unknown>> = {};
  for (const channel of channels) {
    table[channel] = async (request) => {
      calls.push([channel, request]);
      return { answeredBy: channel };
    };
  }
  return table as unknown as HandlerTable;
}

function setup(handlers?: HandlerTable, timeoutMs?: number) {
  const ipcMain = new FakeIpcMain();
  const calls: unknown[][] = [];
  const isTrustedSender = mainFrameSenderCheck(() => ourFrame, appUrlMatcher(['deaddrop://app']));
  const remove = registerIpcHandlers(ipcMain as unknown as Parameters<typeof registerIpcHandlers>[0], handlers ?? recordingHandlers(calls), {
    isTrustedSender,
    ...(timeoutMs ? { timeoutMs: () => timeoutMs } : {}),
  });
  return { ipcMain, calls, remove };
}

describe('IPC bridge in main', () => {
  it('registers exactly one handler per contract channel, the engine\'s and the shell\'s, and removes them all', () => {
    const { ipcMain, remove } = setup();
    expect([...ipcMain.handlers.keys()].sort()).toEqual([...channels].sort());
    expect(channels).toEqual(expect.arrayContaining(['app/info', 'notifications/show', 'unread/set', 'camera/allow', 'desktop/setSettings']));
    remove();
    expect(ipcMain.handlers.size).toBe(0);
  });
  it('runs valid requests and answers a Result', async () => {
    const { ipcMain, calls } = setup();
    expect(await ipcMain.call('poller/setPaused', { paused: true }, ourFrame)).toEqual({ ok: true, value: { answeredBy: 'poller/setPaused' } });
    expect(await ipcMain.call('unread/set', { count: 3 }, ourFrame)).toEqual({ ok: true, value: { answeredBy: 'unread/set' } });
    expect(calls).toEqual([
      ['poller/setPaused', { paused: true }],
      ['unread/set', { count: 3 }],
    ]);
  });
  it('rejects bad payloads before any handler runs', async () => {
    const { ipcMain, calls } = setup();
    const alice = 'a'.repeat(64);
    const bad: [string, unknown][] = [
      ['poller/setPaused', { paused: 'yes' }],
      ['identities/create', { alias: '', serverUrl: 'http://x' }],
      ['identities/create', { alias: 'a', serverUrl: 'file:///etc/passwd' }],
      ['messages/send', { identityId: 'i', localId: 'l', recipient: { publicKey: 'zz', dropUrls: [] }, text: 'hi' }],
      ['localServer/start', { port: 70_000 }],
      ['app/unlock', 'not an object'],
      ['unread/set', { count: -1 }],
      ['notifications/show', { title: '', body: 'x', conversation: { identityId: 'me', contactKey: alice } }],
      ['notifications/show', { title: 'Alice', body: 'x', conversation: { identityId: 'me', contactKey: 'not-a-key' } }],
      ['camera/allow', { seconds: 3600 }],
      // The local server entry follows localServer/start|stop only, never the UI's settings form.
      ['desktop/setSettings', { localServer: { port: 80, expose: true } }],
      ['desktop/setSettings', { notificationPreview: 'everything' }],
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
      for (const channel of ['app/info', 'desktop/getSettings'] as Channel[]) {
        const result = (await ipcMain.call(channel, {}, sender)) as { ok: boolean; error?: { code: string } };
        expect(result).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
      }
    }
    expect(calls).toEqual([]);
  });
  it('turns thrown errors and hanging handlers into failed Results', async () => {
    const handlers = recordingHandlers([]);
    handlers['app/info'] = () => Promise.reject(new Error('boom'));
    handlers['servers/status'] = () => new Promise(() => undefined);
    handlers['desktop/setSettings'] = () => new Promise(() => undefined);
    handlers['unread/set'] = () => Promise.reject(new Error('tray gone'));
    const { ipcMain } = setup(handlers, 50);
    expect(await ipcMain.call('app/info', {}, ourFrame)).toEqual({ ok: false, error: { code: 'internal', message: 'boom' } });
    expect(await ipcMain.call('servers/status', {}, ourFrame)).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(await ipcMain.call('desktop/setSettings', { closeToTray: false }, ourFrame)).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(await ipcMain.call('unread/set', { count: 2 }, ourFrame)).toMatchObject({ ok: false, error: { code: 'internal' } });
  });
  it('withTimeout never rejects', async () => {
    expect(await withTimeout(Promise.reject(new Error('x')), 1000, 'x')).toMatchObject({ ok: false, error: { code: 'internal' } });
  });
});

describe('the contract', () => {
  it('gives every channel one timeout, and callers wait longer than the handler may run', () => {
    expect(handlerTimeoutMs('app/unlock')).toBe(120_000);
    expect(handlerTimeoutMs('app/info')).toBe(30_000);
    for (const channel of channels) expect(callTimeoutMs(channel), channel).toBeGreaterThan(handlerTimeoutMs(channel));
  });
  it('answers `unavailable` for a channel the table does not serve, and reports capabilities by what is served', async () => {
    const engineOnly = recordingHandlers([]) as Partial<HandlerTable>;
    const shellChannels = channels.filter((channel) => 'capability' in channelSpecs[channel]);
    expect(shellChannels).toContain('logs/export');
    for (const channel of shellChannels) delete engineOnly[channel];
    expect(await dispatch(engineOnly, 'localServer/status', {})).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(await dispatch(engineOnly, 'no/such', {})).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(capabilitiesOf(Object.keys(engineOnly as ApiHandlers))).toEqual({
      localServer: false,
      notifications: false,
      cameraGate: false,
      desktopSettings: false,
      externalLinks: false,
      debugLog: false,
      fileDialogs: false,
    });
    expect(Object.values(capabilitiesOf(channels)).every(Boolean)).toBe(true);
    expect(capabilitiesOf(channels.filter((c) => c !== 'unread/set')).notifications).toBe(false);
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
    expect([...ipc.listeners.keys()].every((name) => (eventNames as readonly string[]).includes(name))).toBe(true);
  });
});
