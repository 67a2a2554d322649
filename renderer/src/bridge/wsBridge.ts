import { type Channel, type EventName, callTimeoutMs, isEventName } from '../../../shared/ipc/channels.js';
import type { EventMap, RequestOf, ResponseOf } from '../../../shared/ipc/contract.js';
import { type HostFrame, encodeRequest, parseHostFrame } from '../../../shared/ipc/hostFrames.js';
import { type Result, fail } from '../../../shared/ipc/result.js';
import type { ConnectionState, EngineBridge } from './transport.js';

export interface WebSocketBridgeOptions {
  url: string;
  /**
   * One bound for every call (tests); by default each channel's bound from the contract. A call that
   * gets no answer in time resolves with a `timeout` failure.
   */
  callTimeoutMs?: number;
  /** Reconnect back-off bounds. */
  minRetryMs?: number;
  maxRetryMs?: number;
}

interface PendingCall {
  resolve: (result: Result<unknown>) => void;
  timer: ReturnType<typeof setTimeout>;
}

type Listeners = { [E in EventName]?: Set<(payload: EventMap[E]) => void> };

/**
 * Bridge to the engine host over one WebSocket: request ids, per-call timeouts, automatic reconnect
 * with back-off. Calls made while disconnected wait for the connection until their timeout; calls in
 * flight when the socket drops fail with `unavailable` (the engine may or may not have run them, so
 * callers only repeat idempotent requests).
 */
export function createWebSocketBridge(options: WebSocketBridgeOptions): EngineBridge {
  const timeoutFor = (channel: Channel) => options.callTimeoutMs ?? callTimeoutMs(channel);
  const minRetryMs = options.minRetryMs ?? 200;
  const maxRetryMs = options.maxRetryMs ?? 3_000;
  const pending = new Map<number, PendingCall>();
  const waitingToSend: Array<{ id: number; frame: string }> = [];
  const listeners: Listeners = {};
  const stateListeners = new Set<(state: ConnectionState) => void>();
  let socket: WebSocket | null = null;
  let state: ConnectionState = 'connecting';
  let nextId = 1;
  let retryMs = minRetryMs;

  const setState = (next: ConnectionState) => {
    if (next === state) return;
    state = next;
    for (const listener of stateListeners) listener(next);
  };

  const settle = (id: number, result: Result<unknown>) => {
    const call = pending.get(id);
    if (!call) return;
    pending.delete(id);
    clearTimeout(call.timer);
    call.resolve(result);
  };

  const onFrame = (frame: HostFrame) => {
    if (frame.kind === 'result') {
      settle(frame.id, frame.result);
      return;
    }
    notify(frame.event.event, frame.event.payload);
  };

  function notify<E extends EventName>(event: E, payload: EventMap[E]) {
    for (const listener of listeners[event] ?? []) {
      try {
        listener(payload);
      } catch {
        // A failing listener must not stop the others or the socket.
      }
    }
  }

  const connect = () => {
    setState('connecting');
    const ws = new WebSocket(options.url);
    socket = ws;
    ws.onopen = () => {
      retryMs = minRetryMs;
      setState('open');
      for (const item of waitingToSend.splice(0)) if (pending.has(item.id)) ws.send(item.frame);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data !== 'string') return;
      const frame = parseHostFrame(ev.data);
      if (frame) onFrame(frame);
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      for (const id of [...pending.keys()]) {
        if (!waitingToSend.some((w) => w.id === id)) settle(id, fail('unavailable', 'Lost the connection to the engine.'));
      }
      setState('closed');
      setTimeout(connect, retryMs);
      retryMs = Math.min(maxRetryMs, retryMs * 2);
    };
  };

  connect();

  return {
    kind: 'websocket',
    invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Result<ResponseOf<C>>> {
      const id = nextId++;
      const frame = encodeRequest(id, channel, request);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          const queued = waitingToSend.findIndex((w) => w.id === id);
          if (queued >= 0) waitingToSend.splice(queued, 1);
          settle(id, fail('timeout', 'The engine did not answer in time.'));
        }, timeoutFor(channel));
        pending.set(id, { resolve: resolve as (r: Result<unknown>) => void, timer });
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(frame);
        else waitingToSend.push({ id, frame });
      });
    },
    on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void {
      if (!isEventName(event)) return () => undefined;
      const set: Set<(payload: EventMap[E]) => void> = listeners[event] ?? new Set();
      listeners[event] = set as Listeners[E];
      set.add(listener);
      return () => set.delete(listener);
    },
    connectionState: () => state,
    onConnectionChange(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
  };
}
