import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { STATE_FILE_NAME } from '../../electron/core/state/stateSchema.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine, tempDir } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

/** The receipts queued in an engine's state file (they are not secret: the file holds them in clear). */
async function queuedReceipts(dataDir: string): Promise<{ acknowledgeId: string }[]> {
  const state = JSON.parse(await readFile(join(dataDir, STATE_FILE_NAME), 'utf8')) as { receipts?: { acknowledgeId: string }[] };
  return state.receipts ?? [];
}

describe('receipts owed survive a restart', () => {
  let dbDir: string;
  let server: ServerProcess;
  let alice: TestEngine;
  let bob: TestEngine | null = null;
  let aliceId: IdentitySummary;
  let bobId: IdentitySummary;
  const dirs: string[] = [];

  beforeAll(async () => {
    dbDir = tempDir('deaddrop-db-');
    server = await startServerProcess(`sqlite:${join(dbDir, 'drops.db')}`);
    alice = await startTestEngine();
    bob = await startTestEngine();
    dirs.push(dbDir, alice.dataDir, bob.dataDir);
    aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
    bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
    await alice.call('settings/set', { pollIntervalMs: 1000, push: false });
  });
  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await server?.stop();
    for (const dir of dirs) removeDir(dir);
  });

  it('posts a receipt after a restart when the engine stopped before the server took it', async () => {
    const sent = await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'asks-for-a-receipt',
      recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls },
      text: 'tell me when you have it',
    });
    const first = bob!;
    await first.call('poller/pollNow', {});
    const batch = await waitFor(() => first.of('inbox/batch').find((b) => b.messages.some((m) => m.text === 'tell me when you have it')), 'the message at bob');
    const message = batch.messages[0]!;

    // The server goes down before bob's UI says the batch is stored and the receipt owed.
    await server.stop();
    await first.call('inbox/ack', { batchId: batch.batchId, receipts: [{ dedupeKey: message.dedupeKey, dropUrls: aliceId.dropUrls }] });
    await waitFor(async () => (await queuedReceipts(first.dataDir)).length === 1, 'the receipt queued in the state file');
    await first.close();
    bob = null;
    expect(await queuedReceipts(first.dataDir)).toEqual([expect.objectContaining({ acknowledgeId: sent.acknowledgeIds[0] })]);

    // Started again with the server back: the receipt goes out without the UI asking again.
    await server.restart();
    bob = await startTestEngine({ dataDir: first.dataDir });
    const receipt = await waitFor(() => alice.of('inbox/batch').flatMap((b) => b.receipts)[0], 'the receipt at alice', 30_000);
    expect(receipt).toMatchObject({ identityId: aliceId.id, senderKey: bobId.publicKey, acknowledgeId: sent.acknowledgeIds[0] });
    await bob.engine.settled();
    await bob.engine.close();
    expect(await queuedReceipts(first.dataDir)).toEqual([]);
  }, 90_000);
});
