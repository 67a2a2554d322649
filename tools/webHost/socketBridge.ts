import type { WebSocket, WebSocketServer } from 'ws';
import type { ApiHandlers, EventName } from '../../shared/ipc/contract.js';
import { dispatch } from '../../shared/ipc/dispatch.js';
import { fail } from '../../shared/ipc/result.js';

/** Largest request frame accepted from a page (a long text is at most 100,000 characters). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Serves the engine's handler table over WebSocket: `{id, channel, request}` in, `{id, result}`
 * out (dispatch validates and never throws), and every engine event to every connected page.
 */
export function attachEngine(wss: WebSocketServer, handlers: ApiHandlers): (event: EventName, payload: unknown) => void {
  wss.on('connection', (socket: WebSocket) => {
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      void answer(socket, handlers, data.toString());
    });
  });
  return (event, payload) => {
    const frame = JSON.stringify({ event, payload });
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(frame);
  };
}

async function answer(socket: WebSocket, handlers: ApiHandlers, text: string): Promise<void> {
  let frame: { id?: unknown; channel?: unknown; request?: unknown };
  try {
    frame = JSON.parse(text) as typeof frame;
  } catch {
    return;
  }
  if (typeof frame !== 'object' || frame === null || typeof frame.id !== 'number') return;
  const result = await dispatch(handlers, frame.channel, frame.request).catch(() => fail('internal', 'The host failed.'));
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ id: frame.id, result }));
}
