import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CALL_GRACE_MS, DEFAULT_HANDLER_TIMEOUT_MS, callTimeoutMs } from '../../../shared/ipc/channels.js';
import { appEvent } from '../../../shared/ipc/contract.js';
import { encodeEvent, encodeResult, parseRequestFrame } from '../../../shared/ipc/hostFrames.js';
import { fail, ok } from '../../../shared/ipc/result.js';
import type { ConnectionState } from './transport.js';
import { createWebSocketBridge } from './wsBridge.js';

/**
 * The browser's WebSocket as far as the bridge uses it: the test opens, feeds and drops each socket
 * the bridge makes, and reads what it sent.
 */
class ScriptedSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static made: ScriptedSocket[] = [];

  readyState = ScriptedSocket.CONNECTING;
  readonly sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;

  constructor(readonly url: string) {
    ScriptedSocket.made.push(this);
  }

  send(frame: string): void {
    if (this.readyState !== ScriptedSocket.OPEN) throw new Error('InvalidStateError: not open');
    this.sent.push(frame);
  }

  close(): void {
    this.drop();
  }

  open(): void {
    this.readyState = ScriptedSocket.OPEN;
    this.onopen?.();
  }

  receive(data: unknown): void {
    this.onmessage?.({ data });
  }

  drop(): void {
    this.readyState = ScriptedSocket.CLOSED;
    this.onclose?.();
  }

  /** The calls sent so far, parsed as the host parses them. */
  calls() {
    return this.sent.map((text) => parseRequestFrame(text)!);
  }
}

const latest = () => ScriptedSocket.made.at(-1)!;
const HOST_URL = 'ws://127.0.0.1:9/ws';

beforeEach(() => {
  ScriptedSocket.made = [];
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', ScriptedSocket);
});
afterEach(() => {
  vi.clearAllTimers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** Settles what a promise has by now, without waiting for it. */
async function peek<T>(promise: Promise<T>): Promise<{ settled: true; value: T } | { settled: false }> {
  const pending = Symbol('pending');
  const value = await Promise.race([promise, Promise.resolve().then(() => pending)]);
  return value === pending ? { settled: false } : { settled: true, value: value as T };
}

describe('WebSocket bridge: calls and answers', () => {
  it('sends each call as a request frame with its own id and settles it by that id, in any order', async () => {
    const bridge = createWebSocketBridge({ url: HOST_URL });
    expect(latest().url).toBe(HOST_URL);
    latest().open();
    const info = bridge.invoke('app/info', {});
    const list = bridge.invoke('identities/list', {});
    const [first, second] = latest().calls();
    expect(first).toMatchObject({ channel: 'app/info', request: {} });
    expect(second).toMatchObject({ channel: 'identities/list', request: {} });
    expect(first!.id).not.toBe(second!.id);

    latest().receive(encodeResult(second!.id, ok(['list'])));
    latest().receive(encodeResult(first!.id, fail('locked', 'Unlock first.')));
    expect(await list).toEqual(ok(['list']));
    expect(await info).toEqual(fail('locked', 'Unlock first.'));
  });

  it('ignores answers to ids it never sent and a second answer to a settled call', async () => {
    const bridge = createWebSocketBridge({ url: HOST_URL });
    latest().open();
    const call = bridge.invoke('app/info', {});
    const other = bridge.invoke('settings/get', {});
    const [id, otherId] = latest().calls().map((c) => c.id) as [number, number];
    latest().receive(encodeResult(id + 1000, ok('stranger')));
    latest().receive(encodeResult(-1, ok('stranger')));
    expect(await peek(call)).toEqual({ settled: false });
    latest().receive(encodeResult(id, ok('first')));
    latest().receive(encodeResult(id, ok('second')));
    expect(await call).toEqual(ok('first'));
    // The other call is untouched by all of that and still settles by its own id.
    expect(await peek(other)).toEqual({ settled: false });
    latest().receive(encodeResult(otherId, ok('other')));
    expect(await other).toEqual(ok('other'));
  });

  it('drops malformed frames and binary data and goes on working', async () => {
    const bridge = createWebSocketBridge({ url: HOST_URL });
    const seen: unknown[] = [];
    bridge.on('servers/status', (payload) => seen.push(payload));
    latest().open();
    const call = bridge.invoke('app/info', {});
    const { id } = latest().calls()[0]!;
    for (const junk of [
      'not json', '', 'null', '[]', `{"id":"${id}","result":{"ok":true,"value":1}}`, `{"id":${id}}`,
      `{"id":${id},"result":{"ok":"yes","value":1}}`, `{"id":${id},"result":{"ok":false,"error":{"code":1}}}`,
      '{"event":"no/such","payload":[]}', `{"event":"servers/status","payload":[]`,
    ]) {
      latest().receive(junk);
    }
    latest().receive(new ArrayBuffer(8));
    latest().receive(new Blob([encodeResult(id, ok('binary'))]));
    expect(await peek(call)).toEqual({ settled: false });
    expect(seen).toEqual([]);
    latest().receive(encodeResult(id, ok('real')));
    expect(await call).toEqual(ok('real'));
  });

  it('queues calls made before the socket opens and sends them once it does', async () => {
    const bridge = createWebSocketBridge({ url: HOST_URL });
    expect(bridge.connectionState()).toBe('connecting');
    const call = bridge.invoke('identities/list', {});
    expect(latest().sent).toEqual([]);
    latest().open();
    expect(latest().calls()).toMatchObject([{ channel: 'identities/list' }]);
    latest().receive(encodeResult(latest().calls()[0]!.id, ok([])));
    expect(await call).toEqual(ok([]));
  });
});

describe('WebSocket bridge: timeouts', () => {
  it('gives each call its channel’s bound from the contract', async () => {
    const bridge = createWebSocketBridge({ url: HOST_URL });
    latest().open();
    const info = bridge.invoke('app/info', {});
    const unlock = bridge.invoke('app/unlock', { passphrase: 'x' } as never);
    expect(callTimeoutMs('app/info')).toBe(DEFAULT_HANDLER_TIMEOUT_MS + CALL_GRACE_MS);

    await vi.advanceTimersByTimeAsync(callTimeoutMs('app/info') - 1);
    expect(await peek(info)).toEqual({ settled: false });
    await vi.advanceTimersByTimeAsync(1);
    expect(await info).toMatchObject({ ok: false, error: { code: 'timeout' } });

    // A passphrase's key derivation may take far longer: the unlock is still waiting.
    expect(await peek(unlock)).toEqual({ settled: false });
    await vi.advanceTimersByTimeAsync(callTimeoutMs('app/unlock') - callTimeoutMs('app/info') - 1);
    expect(await peek(unlock)).toEqual({ settled: false });
    await vi.advanceTimersByTimeAsync(1);
    expect(await unlock).toMatchObject({ ok: false, error: { code: 'timeout' } });
  });

  it('ignores an answer that comes after its call timed out', async () => {
    const bridge = createWebSocketBridge({ url: HOST_URL, callTimeoutMs: 100 });
    latest().open();
    const call = bridge.invoke('app/unlock', { passphrase: 'x' } as never);
    await vi.advanceTimersByTimeAsync(100);
    expect(await call).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(() => latest().receive(encodeResult(latest().calls()[0]!.id, ok('late')))).not.toThrow();
  });

  it('never sends a queued call that timed out before the socket opened', async () => {
    const bridge = createWebSocketBridge({ url: HOST_URL, callTimeoutMs: 100 });
    const stale = bridge.invoke('poller/pollNow', {} as never);
    await vi.advanceTimersByTimeAsync(100);
    expect(await stale).toMatchObject({ ok: false, error: { code: 'timeout' } });
    const fresh = bridge.invoke('app/info', {});
    latest().open();
    expect(latest().calls().map((c) => c.channel)).toEqual(['app/info']);
    latest().receive(encodeResult(latest().calls()[0]!.id, ok('info')));
    expect(await fresh).toEqual(ok('info'));
  });
});

describe('WebSocket bridge: connection', () => {
  it('fails calls in flight when the socket drops, keeps unsent ones for the next socket, and reconnects with back-off', async () => {
    const bridge = createWebSocketBridge({ url: HOST_URL, minRetryMs: 100, maxRetryMs: 350 });
    const states: ConnectionState[] = [];
    bridge.onConnectionChange((s) => states.push(s));
    latest().open();
    const inFlight = bridge.invoke('messages/cancel', { localId: 'a' } as never);
    latest().drop();
    expect(await inFlight).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(bridge.connectionState()).toBe('closed');

    // Made while closed: waits for the next socket instead of failing.
    const waiting = bridge.invoke('app/info', {});
    expect(ScriptedSocket.made).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(ScriptedSocket.made).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(ScriptedSocket.made).toHaveLength(2);
    // Failing again doubles the wait, up to the bound.
    latest().drop();
    await vi.advanceTimersByTimeAsync(199);
    expect(ScriptedSocket.made).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(ScriptedSocket.made).toHaveLength(3);
    latest().drop();
    await vi.advanceTimersByTimeAsync(349);
    expect(ScriptedSocket.made).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(ScriptedSocket.made).toHaveLength(4);
    latest().drop();
    await vi.advanceTimersByTimeAsync(350);
    expect(ScriptedSocket.made).toHaveLength(5);

    latest().open();
    expect(await peek(waiting)).toEqual({ settled: false });
    expect(latest().calls()).toMatchObject([{ channel: 'app/info' }]);
    latest().receive(encodeResult(latest().calls()[0]!.id, ok('back')));
    expect(await waiting).toEqual(ok('back'));
    expect(states).toEqual(['open', 'closed', 'connecting', 'closed', 'connecting', 'closed', 'connecting', 'closed', 'connecting', 'open']);

    // An open socket resets the back-off.
    latest().drop();
    await vi.advanceTimersByTimeAsync(100);
    expect(ScriptedSocket.made).toHaveLength(6);
  });

  it('stops telling a connection listener once it unsubscribed', () => {
    const bridge = createWebSocketBridge({ url: HOST_URL });
    const states: ConnectionState[] = [];
    const stop = bridge.onConnectionChange((s) => states.push(s));
    latest().open();
    stop();
    latest().drop();
    expect(states).toEqual(['open']);
  });
});

describe('WebSocket bridge: events', () => {
  it('hands each event to its listeners; a throwing listener stops neither the others nor the socket', async () => {
    const bridge = createWebSocketBridge({ url: HOST_URL });
    const got: string[] = [];
    bridge.on('inbox/batch', () => {
      throw new Error('listener broke');
    });
    bridge.on('inbox/batch', (batch) => got.push(`batch ${batch.batchId}`));
    const stop = bridge.on('identities/changed', (list) => got.push(`identities ${list.length}`));
    latest().open();
    latest().receive(encodeEvent(appEvent('inbox/batch', { batchId: 'b1', messages: [], receipts: [] })));
    latest().receive(encodeEvent(appEvent('identities/changed', [])));
    stop();
    latest().receive(encodeEvent(appEvent('identities/changed', [])));
    latest().receive(encodeEvent(appEvent('servers/status', [])));
    expect(got).toEqual(['batch b1', 'identities 0']);

    const call = bridge.invoke('app/info', {});
    latest().receive(encodeResult(latest().calls()[0]!.id, ok('still here')));
    expect(await call).toEqual(ok('still here'));
  });

  it('subscribes nothing for a name that is not an event', () => {
    const bridge = createWebSocketBridge({ url: HOST_URL });
    const got: unknown[] = [];
    const stop = bridge.on('no/such' as never, (payload) => got.push(payload));
    latest().open();
    latest().receive('{"event":"no/such","payload":1}');
    expect(got).toEqual([]);
    expect(() => stop()).not.toThrow();
  });
});
