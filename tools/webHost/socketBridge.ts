import type { WebSocket, WebSocketServer } from 'ws';
import type { ApiHandlers, AppEvent } from '../../shared/ipc/contract.js';
import { encodeEvent, encodeResult, parseRequestFrame } from '../../shared/ipc/hostFrames.js';
import { serveCall } from '../../electron/core/api/serveCall.js';

/** Largest request frame accepted from a page (a long text is at most 100,000 characters). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Serves the engine's handler table over WebSocket in the frames of `shared/ipc/hostFrames.ts`: each
 * call is validated, run and answered within its channel's timeout (`serveCall` never throws), and
 * every engine event goes to every connected page. This host offers no capability beyond the engine
 * (`app/info` says so): channels that need one answer `unavailable`.
 */
export function attachEngine(wss: WebSocketServer, handlers: ApiHandlers): (event: AppEvent) => void {
  wss.on('connection', (socket: WebSocket) => {
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      void answer(socket, handlers, data.toString());
    });
  });
  return (event) => {
    const frame = encodeEvent(event);
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(frame);
  };
}

async function answer(socket: WebSocket, handlers: ApiHandlers, text: string): Promise<void> {
  const frame = parseRequestFrame(text);
  if (!frame) return;
  const result = await serveCall(handlers, frame.channel, frame.request);
  if (socket.readyState === socket.OPEN) socket.send(encodeResult(frame.id, result));
}
