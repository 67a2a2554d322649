/**
 * The engine host for browser tests: the real engine (`createEngine`), its handler table served over
 * WebSocket at `/ws`, and the built renderer served over http on the same loopback port.
 *
 *   node --import tsx test/e2e/host/engineHost.ts --data-dir DIR [--port 0] [--secret S | --locked] [--static dist-renderer]
 *
 * `--locked` starts the engine without its secret: the UI must unlock it with the passphrase.
 *
 * Prints `host ready http://127.0.0.1:PORT/` once it accepts connections; exits on SIGTERM/SIGINT.
 */
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { createEngine } from '../../../electron/core/engine.js';
import { MAX_FRAME_BYTES, attachEngine } from './socketBridge.js';
import { createStaticHandler } from './staticFiles.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    port: { type: 'string', default: '0' },
    secret: { type: 'string', default: 'deaddrop-e2e-secret' },
    locked: { type: 'boolean', default: false },
    static: { type: 'string', default: 'dist-renderer' },
  },
});
const dataDir = values['data-dir'];
if (!dataDir) {
  console.error('usage: engineHost --data-dir DIR [--port N] [--secret S] [--static DIR]');
  process.exit(2);
}

// One crypto worker per host: several hosts share the test machine's cores.
const engine = await createEngine({
  dataDir: resolve(dataDir),
  secret: values.locked ? null : values.secret,
  host: 'websocket',
  workers: 1,
});
const server = createServer(createStaticHandler(resolve(values.static)));
// Only the UI this host serves (or a non-browser client, which sends no Origin) may drive the engine:
// any other page open in the same browser could otherwise reach the loopback port.
const wss = new WebSocketServer({
  server,
  path: '/ws',
  maxPayload: MAX_FRAME_BYTES,
  verifyClient: ({ origin }: { origin?: string }) => origin === undefined || origin === ownOrigin(),
});
const ownOrigin = () => {
  const address = server.address();
  return typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : '';
};
const broadcast = attachEngine(wss, engine.handlers);
engine.subscribe((event, payload) => broadcast(event, payload));

server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(`host ready http://127.0.0.1:${port}/`);
});

let closing = false;
const shutdown = async () => {
  if (closing) return;
  closing = true;
  for (const client of wss.clients) client.terminate();
  wss.close();
  server.close();
  await engine.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
