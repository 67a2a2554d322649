/**
 * The WebSocket push hint of one drop (`<dropUrl>/ws`, PROTOCOL.md section 2): every frame or (re)connect
 * only means "poll now"; delivery always goes through GET. Reconnects with backoff while running.
 */
import WebSocket from 'ws';
import { type BackoffPolicy, backoffDelay } from './backoff.js';
import { GENERIC_HEADERS } from '../net/dropClient.js';
import type { PushConnection } from '../net/network.js';

export interface PushSocketOptions {
  dropUrl: string;
  backoff: BackoffPolicy;
  /**
   * How to connect: the proxy tunnel, if any (push must never go around the configured proxy), or the
   * destination guard's lookup. Throws when the guard refuses the address.
   */
  connectionFor(url: string): PushConnection;
  /** Called on open and on every frame. */
  onHint(): void;
  onConnectedChange(connected: boolean): void;
}

const HANDSHAKE_TIMEOUT_MS = 15_000;
/** Frames are header lines plus one message; anything larger is not a hint from a drop server. */
const MAX_FRAME_BYTES = 64 * 1024;

export class PushSocket {
  private socket: WebSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private running = false;
  private connected = false;

  constructor(private readonly options: PushSocketOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.socket?.removeAllListeners();
    this.socket?.on('error', () => undefined);
    this.socket?.terminate();
    this.socket = null;
    this.setConnected(false);
  }

  private connect(): void {
    const url = this.options.dropUrl.replace(/^http/i, 'ws') + '/ws';
    let connection: PushConnection;
    try {
      connection = this.options.connectionFor(url);
    } catch {
      // Refused by the guard: polling reports why; try again later in case the settings change.
      this.scheduleReconnect();
      return;
    }
    const socket = new WebSocket(url, {
      agent: connection.agent,
      lookup: connection.lookup,
      headers: { 'user-agent': GENERIC_HEADERS['user-agent'] },
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
    });
    this.socket = socket;
    socket.on('open', () => {
      this.failures = 0;
      this.setConnected(true);
      this.options.onHint();
    });
    socket.on('message', () => this.options.onHint());
    socket.on('error', () => undefined); // 'close' follows and schedules the reconnect
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setConnected(false);
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    this.failures++;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running) this.connect();
    }, backoffDelay(this.options.backoff, this.failures));
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    this.options.onConnectedChange(connected);
  }
}
