/**
 * Keeps one client from taking every connection of a server of its own: connections beyond the
 * per-client cap are closed at once, and a connection that has not begun a request within a few
 * seconds is closed (Node's header timeout only starts with the first byte, so silent connections
 * would otherwise stay open for good). Trusted proxies carry many clients: only the global cap
 * (`server.maxConnections`) applies to them.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { clientKey } from './clientAddress.js';

const REFUSAL_BODY = '{"error":"Too many connections from this address"}';
const TOO_MANY_CONNECTIONS =
  'HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nRetry-After: 1\r\n' +
  `Connection: close\r\nContent-Length: ${REFUSAL_BODY.length}\r\n\r\n${REFUSAL_BODY}`;

/** A refused connection is reset this long after its answer, whatever the client does. */
const REFUSAL_LINGER_MS = 1000;

export interface ConnectionGuardOptions {
  maxConnectionsPerClient: number;
  idleConnectionMs: number;
  trustedProxies: ReadonlySet<string>;
  /** Told of every connection closed by a limit (for the metrics). */
  refused(): void;
}

export interface ConnectionGuard {
  /** Open connections. */
  size(): number;
}

export function guardConnections(server: Server, options: ConnectionGuardOptions): ConnectionGuard {
  const perClient = new Map<string, number>();
  const waitingForRequest = new Map<Socket, NodeJS.Timeout>();
  let open = 0;

  const started = (socket: Socket): void => {
    const timer = waitingForRequest.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    waitingForRequest.delete(socket);
  };

  server.on('connection', (socket: Socket) => {
    const client = clientKey(socket.remoteAddress);
    const capped = !options.trustedProxies.has(client);
    const held = perClient.get(client) ?? 0;
    if (capped && held >= options.maxConnectionsPerClient) {
      options.refused();
      // An answer rather than a reset: an ordinary client that opened too many learns why and when to retry.
      socket.on('error', () => socket.destroy());
      socket.end(TOO_MANY_CONNECTIONS);
      setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
      return;
    }
    open++;
    perClient.set(client, held + 1);
    const idle = setTimeout(() => {
      waitingForRequest.delete(socket);
      options.refused();
      socket.destroy();
    }, options.idleConnectionMs);
    waitingForRequest.set(socket, idle);
    socket.once('close', () => {
      started(socket);
      open--;
      const left = (perClient.get(client) ?? 1) - 1;
      if (left > 0) perClient.set(client, left);
      else perClient.delete(client);
    });
  });
  server.on('request', (req: { socket: Socket }) => started(req.socket));
  server.on('upgrade', (req: { socket: Socket }) => started(req.socket));
  return { size: () => open };
}
