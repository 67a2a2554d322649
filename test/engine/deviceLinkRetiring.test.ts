/**
 * A device linked during a drop move's overlap (issue 15 with issue 17): the new device gets the
 * retiring drop with its end, its cursor and the identity's drops epoch, as a restored backup does, so
 * what a contact who missed the move posts to the old drop reaches the new device too. Real engines,
 * a real drop server, a real link.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

let server: ServerProcess;
const engines: TestEngine[] = [];

beforeAll(async () => {
  server = await startServerProcess();
});

afterAll(async () => {
  for (const engine of engines) await engine.close().catch(() => undefined);
  await server?.stop();
  for (const engine of engines) removeDir(engine.dataDir);
});

async function engine(): Promise<TestEngine> {
  const started = await startTestEngine({ protocolV1: true });
  engines.push(started);
  return started;
}

describe('linking a device during a drop move', () => {
  it('the new device reads the retiring drop until its end, and a message a contact posts there reaches it', async () => {
    const [desktop, laptop, bobEngine] = [await engine(), await engine(), await engine()];
    const alice: IdentitySummary = await desktop.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const bob: IdentitySummary = await bobEngine.call('identities/create', { alias: 'bob', serverUrl: server.url });
    const oldDrop = alice.dropUrls[0]!;
    const moved: IdentitySummary = await desktop.call('identities/moveDrop', { identityId: alice.id, fromDropUrl: oldDrop, serverUrl: server.url });
    expect(moved.dropUrls).not.toContain(oldDrop);
    const retiringAtDesktop = moved.retiringDrops?.find((drop) => drop.url === oldDrop);
    expect(retiringAtDesktop).toBeDefined();

    await link(desktop, alice, laptop);

    const atLaptop = (await laptop.call('identities/list', {})).find((identity) => identity.id === alice.id)!;
    expect(atLaptop.dropUrls).toEqual(moved.dropUrls);
    expect(atLaptop.retiringDrops?.find((drop) => drop.url === oldDrop)).toEqual(retiringAtDesktop);

    // Bob missed the move: he writes to the old drop. The laptop reads it there.
    await bobEngine.call('messages/send', { identityId: bob.id, localId: 'to-old', recipient: { publicKey: alice.publicKey, dropUrls: [oldDrop] }, text: 'to the old drop' });
    await waitFor(() => bobEngine.of('outbox/status').find((s) => s.localId === 'to-old' && s.status === 'posted'), 'bob posted');
    // Batches are not acknowledged here, so one may come again: the UI stores by dedupe key, so count those.
    const keys = await waitFor(async () => {
      await laptop.engine.fetchOnce();
      const found = laptop
        .of('inbox/batch')
        .flatMap((batch) => batch.messages.filter((m) => m.content.type === 'box_message' && m.content.msg === 'to the old drop' && m.senderKey === bob.publicKey))
        .map((m) => m.dedupeKey);
      return found.length > 0 ? new Set(found) : null;
    }, 'the laptop reads the old drop');
    expect(keys.size).toBe(1);
  });
});
