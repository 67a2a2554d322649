/**
 * The Deaddrop UI in a browser, without Electron: the real engine (`createEngine`), its handler table
 * served over WebSocket at `/ws`, and the built renderer served over http on the same loopback port.
 * `npm run web -- --profile alice --port 8090` builds the UI and runs this; it prints the address to open.
 *
 *   node --import tsx tools/webHost/engineHost.ts (--profile NAME | --data-dir DIR) [--port 0]
 *       [--locked | --secret S] [--static dist-renderer]
 *
 * The engine's keys are protected with a passphrase that the UI asks for (`--locked`, the default).
 * `--secret S` unlocks with S instead: for tests only, where anyone reading the command line knows it.
 *
 * Prints `host ready http://127.0.0.1:PORT/` once it accepts connections, then the address to open;
 * runs in the foreground until SIGTERM/SIGINT (Ctrl+C).
 */
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { createEngine } from '../../electron/core/engine.js';
import { MAX_FRAME_BYTES, attachEngine } from './socketBridge.js';
import { ProfileInUse, lockProfile } from './profileLock.js';
import { createStaticHandler } from './staticFiles.js';

const USAGE = 'usage: npm run web -- (--profile NAME | --data-dir DIR) [--port N] [--locked | --secret S]\n';

function fail(message: string): never {
  process.stderr.write(`deaddrop web: ${message}\n${USAGE}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      profile: { type: 'string' },
      'data-dir': { type: 'string' },
      port: { type: 'string', default: '0' },
      secret: { type: 'string' },
      locked: { type: 'boolean', default: false },
      static: { type: 'string', default: 'dist-renderer' },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.secret !== undefined && values.locked) fail('--locked and --secret exclude each other');
if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65_535) fail(`--port must be a port number, got "${values.port}"`);
if (values.profile !== undefined && !/^[-_A-Za-z0-9]{1,64}$/.test(values.profile)) fail('--profile takes letters, digits, - and _');

/** A profile lives beside the desktop app's data, under the user's data folder. */
function profileDir(profile: string): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'deaddrop-web', profile);
}
const dataDir = values['data-dir'] ?? (values.profile !== undefined ? profileDir(values.profile) : fail('say which profile: --profile NAME (or --data-dir DIR)'));

mkdirSync(resolve(dataDir), { recursive: true, mode: 0o700 });
let releaseLock: () => void;
try {
  releaseLock = lockProfile(resolve(dataDir));
} catch (error) {
  if (!(error instanceof ProfileInUse)) throw error;
  const which = values.profile !== undefined ? `profile "${values.profile}"` : `data folder ${resolve(dataDir)}`;
  process.stderr.write(`deaddrop web: the ${which} is in use by another web host (process ${error.pid}); stop that one first, or choose another --profile\n`);
  process.exit(1);
}
// Whatever ends the process (a failure below included) releases it; a SIGKILL leaves a stale lock,
// which the next host takes over.
process.on('exit', () => releaseLock());
// One crypto worker per host: several hosts share the test machine's cores.
const engine = await createEngine({
  dataDir: resolve(dataDir),
  secret: values.secret ?? null,
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
engine.subscribe(broadcast);

server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const page = `http://127.0.0.1:${port}/`;
  const ws = `ws://127.0.0.1:${port}/ws`;
  process.stdout.write(`host ready ${page}\n`);
  process.stdout.write(`open ${page}?host=${encodeURIComponent(ws)} in your browser (profile data in ${resolve(dataDir)}); Ctrl+C stops\n`);
});
// The WebSocket server re-emits the http server's errors: both are answered, or a port in use would end
// in an unhandled 'error' with a stack trace.
const onListenError = (error: NodeJS.ErrnoException) => {
  const message = error.code === 'EADDRINUSE' ? `port ${values.port} is already in use: choose another with --port` : error.code === 'EACCES' ? `port ${values.port} may not be used by this user: choose another with --port` : error.message;
  process.stderr.write(`deaddrop web: ${message}\n`);
  void engine.close().finally(() => process.exit(1));
};
server.on('error', onListenError);
wss.on('error', () => undefined);

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
