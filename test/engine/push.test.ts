import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine, tempDir } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

describe('WebSocket push hints', () => {
  let dbDir: string;
  let server: ServerProcess;
  let alice: TestEngine;
  let bob: TestEngine;
  let aliceId: IdentitySummary;
  let bobId: IdentitySummary;

  beforeAll(async () => {
    dbDir = tempDir('deaddrop-db-');
    server = await startServerProcess(`sqlite:${join(dbDir, 'drops.db')}`);
    alice = await startTestEngine();
    bob = await startTestEngine();
    // An hour between polls: within this test only a push hint can make Bob fetch.
    await bob.call('settings/set', { push: true, pollIntervalMs: 3_600_000 });
    aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
    bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
  });
  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await server?.stop();
    for (const dir of [dbDir, alice?.dataDir, bob?.dataDir]) if (dir) removeDir(dir);
  });

  const pushConnected = async () => (await bob.call('servers/status', {}))[0]?.pushConnected === true;
  const send = (text: string) =>
    alice.call('messages/send', { identityId: aliceId.id, localId: text, recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text, wantReceipt: false });
  const received = (text: string) => bob.of('inbox/batch').some((b) => b.messages.some((m) => m.text === text));

  it('fetches as soon as the server pushes a hint', async () => {
    await waitFor(pushConnected, 'push socket open');
    await send('pushed');
    await waitFor(() => received('pushed'), 'pushed message', 10_000);
  });

  it('reconnects after a server restart and fetches what it missed', async () => {
    await server.stop();
    await waitFor(async () => !(await pushConnected()), 'push socket closed');
    await send('while the socket was down');
    await server.restart();
    await waitFor(pushConnected, 'push socket reopened', 20_000);
    await waitFor(() => received('while the socket was down'), 'message after reconnect', 20_000);
    expect(bob.of('servers/status').some((list) => list[0]?.pushConnected === false)).toBe(true);
  });
});
